/*
 * dump.c: `wallprof dump -p PID`, one snapshot of every thread, like
 * eu-stack or py-spy dump. It is a single sampling tick: the process is
 * seized (which neither stops nor signals it), each thread is sampled the
 * cheapest exact way (blocked threads without any stop), and wallprof
 * exits, which detaches the kernel from every thread without a stop.
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "profile.h"
#include "recorder.h"
#include "sampler.h"
#include "syscalls.h"
#include "tracer.h"
#include "util.h"
#include "views.h"

static const char dump_usage[] =
	"usage: wallprof dump -p PID [--json]\n"
	"\n"
	"Print every thread of a running process now: its state, the syscall it\n"
	"is blocked in, and its stack with demangled names, inlined frames and\n"
	"file:line. Threads blocked in a syscall are read without being stopped;\n"
	"running threads are stopped only for their registers and stack.\n"
	"\n"
	"  -p, --pid PID   the process\n"
	"  -j, --json      JSON instead of text\n"
	"  -h, --help      this help\n"
	"\n"
	"Exit status: 0 every thread shown; 1 some threads could not be read;\n"
	"2 cannot attach; 64 bad command line.\n";

static void print_frame_text(const struct profile_frame *f, int depth)
{
	printf("    #%-2d %s%s", depth, f->function, f->inlined ? " (inlined)" : "");
	if (f->file)
		printf("  %s:%d", f->file, f->line);
	if (f->module)
		printf("  [%s]", f->module);
	printf("\n");
}

static void print_text(const struct profile *p)
{
	printf("Process %d:", p->pid);
	for (int i = 0; i < p->argc; i++)
		printf(" %s", p->argv[i]);
	printf("\n%zu threads\n", p->n_samples);
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		const struct profile_stack *st = &p->stacks[s->stack];
		char buf[96];
		printf("\nThread %d \"%s\": %s\n", s->tid,
		       profile_thread_name(profile_find_thread(p, s->tid)),
		       sample_state_text(s, buf, sizeof(buf)));
		for (uint32_t j = 0; j < st->n; j++)
			print_frame_text(&p->frames[st->frames[j]], (int)j);
		if (st->truncated)
			printf("    (stack cut short: unwinding stopped here)\n");
	}
}

static json_t *frame_json(const struct profile_frame *f)
{
	char addr[32];
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)f->address);
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:b}", "address", addr, "function", f->function,
			 "module", f->module ? json_string(f->module) : json_null(), "file",
			 f->file ? json_string(f->file) : json_null(), "line",
			 f->line ? json_integer(f->line) : json_null(), "inlined", f->inlined);
}

static void print_json(const struct profile *p)
{
	json_t *threads = json_array();
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		const struct profile_stack *st = &p->stacks[s->stack];
		json_t *frames = json_array();
		for (uint32_t j = 0; j < st->n; j++)
			json_array_append_new(frames, frame_json(&p->frames[st->frames[j]]));
		json_array_append_new(
			threads,
			json_pack("{s:i, s:s, s:s, s:o, s:o, s:b}", "tid", s->tid, "name",
				  profile_thread_name(profile_find_thread(p, s->tid)), "state",
				  state_name(s->state), "syscall",
				  s->syscall >= 0 ? json_string(syscall_name_or_number(s->syscall))
						  : json_null(),
				  "frames", frames, "truncated", st->truncated));
	}
	json_t *argv = json_array();
	for (int i = 0; i < p->argc; i++)
		json_array_append_new(argv, json_string(p->argv[i]));
	json_t *root =
		json_pack("{s:i, s:o, s:o}", "pid", p->pid, "command", argv, "threads", threads);
	json_dumpf(root, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(root);
}

static void read_cmdline(struct profile *p, pid_t pid)
{
	char path[64];
	size_t len = 0, cap = 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	char *text = read_small_file(path, 1 << 20, &len);
	for (size_t i = 0; text && i < len; i += strlen(text + i) + 1) {
		GROW(p->argv, cap, (size_t)p->argc + 2);
		p->argv[p->argc++] = xstrdup(text + i);
	}
	free(text);
}

static int cmp_sample_tid(const void *a, const void *b)
{
	const struct profile_sample *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

int cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	pid_t pid = 0;
	bool json = false;
	uint64_t v;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_uint(optarg, 1, INT32_MAX, &v)) {
				error("invalid PID '%s'", optarg);
				return EXIT_USAGE;
			}
			pid = (pid_t)v;
			break;
		case 'j': json = true; break;
		case 'h': fputs(dump_usage, stdout); return EXIT_OK;
		default:
			error("dump: unknown or incomplete option '%s'", argv[optind - 1]);
			hint("see 'wallprof dump --help'");
			return EXIT_USAGE;
		}
	}
	if (!pid || optind != argc) {
		error("dump: give -p PID and nothing else");
		hint("see 'wallprof dump --help'");
		return EXIT_USAGE;
	}

	/* The stop waits use sigtimedwait on SIGCHLD. */
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);

	struct recorder rec;
	struct tracer tr;
	recorder_init(&rec);
	tracer_init(&tr, &rec);
	if (tracer_attach(&tr, pid) < 0) {
		tracer_release(&tr);
		recorder_release(&rec);
		return EXIT_FAILURE_;
	}
	size_t n_threads = tr.n_threads;
	tr.start = mono_now();
	sampler_tick(&tr);
	tracer_wait_pending(&tr, 500 * 1000 * 1000ULL);
	tr.passive = true;

	struct profile p;
	profile_init(&p);
	p.pid = pid;
	p.frequency_hz = 1;
	read_cmdline(&p, pid);
	recorder_finish(&rec, &tr.as, &p);
	qsort(p.samples, p.n_samples, sizeof(*p.samples), cmp_sample_tid);
	if (json)
		print_json(&p);
	else
		print_text(&p);
	int code = p.n_samples >= n_threads ? EXIT_OK : p.n_samples ? EXIT_PARTIAL : EXIT_FAILURE_;
	if (code != EXIT_OK)
		warning("%zu of %zu threads could not be read", n_threads - p.n_samples, n_threads);
	profile_release(&p);
	tracer_release(&tr);
	recorder_release(&rec);
	return code;
}
