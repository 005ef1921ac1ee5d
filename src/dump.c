/*
 * dump.c: `wallprof dump -p PID`, one snapshot of every thread, like
 * eu-stack or py-spy dump. It is a single sampling tick: the process is
 * seized (which neither stops nor signals it), each thread is sampled the
 * cheapest exact way (blocked threads without any stop), and wallprof
 * exits, which detaches the kernel from every thread without a stop.
 */
#include <getopt.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "commands.h"
#include "fds.h"
#include "hashmap.h"
#include "locks.h"
#include "peers.h"
#include "procfs.h"
#include "profile.h"
#include "recorder.h"
#include "sampler.h"
#include "session.h"
#include "syscalls.h"
#include "tracer.h"
#include "util.h"
#include "views.h"
#include "waitset.h"

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

/* One thread of the snapshot, with what dump adds to its sample. */
struct dump_thread {
	const struct profile_sample *s;
	const char *name;
	const struct syscall_state *sc; /* the call as observed, NULL if none */
	int64_t since_ns; /* time in its blocked state; -1 unknown or running */
	int waits_for; /* index of the thread it waits for, -1 none */
	/* poll, select, epoll: the descriptors waited on, described. */
	struct waited_fd *set;
	size_t n_set, set_total;
	int set_err; /* -errno if the set could not be read, else 0 */
	/* Blocked reading or writing a pipe: the other processes holding it,
	 * preferably by the end it waits on. */
	struct pipe_holder holders[8];
	size_t n_holders;
	bool wants_writers;
};

/* A descriptor in a waited-on set: number, events, what it is. */
struct waited_fd {
	struct wait_fd w;
	struct fd_desc desc;
	bool described;
};

/* How many of a set dump describes; the rest are counted. */
#define MAX_SET_SHOWN 64

struct dump_state {
	const struct profile *p;
	struct dump_thread *th;
	size_t n;
	int *cycles; /* thread indices, cycle after cycle */
	size_t *cycle_lens, n_cycles;
};

/* When the thread last ran, from /proc/PID/task/TID/sched; 0 if unknown. */
static uint64_t last_ran_ns(pid_t pid, pid_t tid)
{
	char path[96];
	uint64_t ns;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/sched", (int)pid, (int)tid);
	char *text = read_small_file(path, 1 << 16, NULL);
	bool ok = text && procfs_parse_sched_exec_start(text, &ns) == 0;
	free(text);
	return ok ? ns : 0;
}

static bool owned_lock(const struct profile *p, const struct profile_sample *s)
{
	return s->object >= 0 && s->owner && p->objects[s->object].lock_kind &&
	       lock_kind_has_owner(p->objects[s->object].lock_kind);
}

static void read_set(struct dump_thread *d, const struct thread *t)
{
	struct wait_fd w[MAX_SET_SHOWN];
	int n = waitset_read(t->proc->as.pid, d->s->syscall, d->sc->args, w, ARRAY_SIZE(w),
			     &d->set_total);
	if (n < 0) {
		d->set_err = n;
		return;
	}
	d->set = xcalloc((size_t)n + 1, sizeof(*d->set));
	for (int i = 0; i < n; i++) {
		d->set[i].w = w[i];
		d->set[i].described = fd_describe(&t->proc->fds, w[i].fd, &d->set[i].desc) == 0;
	}
	d->n_set = (size_t)n;
}

/* A read or write blocked on a pipe: who holds its other end. */
static void find_holders(struct dump_thread *d, const struct profile *p, pid_t self)
{
	long nr = d->s->syscall;
	bool reads = nr == SYS_read || nr == SYS_readv,
	     writes = nr == SYS_write || nr == SYS_writev;
	unsigned long long ino;
	if ((!reads && !writes) || d->s->object < 0 ||
	    strcmp(p->objects[d->s->object].kind, "pipe") ||
	    sscanf(p->objects[d->s->object].name, "pipe:[%llu]", &ino) != 1)
		return;
	d->wants_writers = reads;
	d->n_holders = pipe_holders(self, ino, reads, d->holders, ARRAY_SIZE(d->holders));
}

static void print_holders_text(const struct dump_thread *d)
{
	if (!d->n_holders)
		return;
	printf("    the pipe's %s end: ", d->wants_writers ? "write" : "read");
	size_t shown = 0;
	for (size_t i = 0; i < d->n_holders; i++) {
		const struct pipe_holder *h = &d->holders[i];
		if (h->writes != d->wants_writers)
			continue;
		printf("%sprocess %d \"%s\" (state %c, fd %d)", shown++ ? ", " : "", (int)h->pid,
		       disp(h->comm), h->state, h->fd);
	}
	if (!shown)
		printf("held by no other process");
	printf("\n");
}

static json_t *holders_json(const struct dump_thread *d)
{
	if (!d->n_holders)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; i < d->n_holders; i++) {
		const struct pipe_holder *h = &d->holders[i];
		char state[2] = {h->state, '\0'};
		json_array_append_new(a, json_pack("{s:i, s:o, s:i, s:s, s:s}", "pid", h->pid,
						   "comm", json_text(h->comm), "fd", h->fd, "end",
						   h->writes ? "write" : "read", "state", state));
	}
	return a;
}

/*
 * When each thread last ran, read once the process is attached and before
 * any thread is sampled: a stop of ours (a blocked thread whose stack could
 * not be copied without one) makes the thread run, and it would then seem
 * to have been waiting only since.
 *
 * se.exec_start is in the clock of the run queue of the CPU the thread last
 * ran on, and the CPUs' clocks differ (by the interrupt time each has had;
 * seen: half a second): each thread's is compared with its own CPU's clock
 * now, which is our own se.exec_start just after a sched_yield on that CPU
 * (the yield brings it up to date).
 */
struct last_ran {
	struct u64map at; /* tid -> index in ns and cpu */
	uint64_t *ns;
	int *cpu;
	uint64_t *cpu_now; /* by CPU; 0 if unknown */
	size_t n_cpus;
};

static void last_ran_read(struct last_ran *lr, const struct tracer *tr)
{
	u64map_init(&lr->at);
	lr->ns = xcalloc(tr->n_threads + 1, sizeof(*lr->ns));
	lr->cpu = xcalloc(tr->n_threads + 1, sizeof(*lr->cpu));
	int max_cpu = -1;
	for (size_t i = 0; i < tr->n_threads; i++) {
		const struct thread *t = tr->threads[i];
		struct task_stat st;
		lr->cpu[i] = -1;
		if (!t->proc)
			continue;
		if (procfs_read_stat(t->proc->pid, t->tid, &st) == 0)
			lr->cpu[i] = st.cpu;
		lr->ns[i] = last_ran_ns(t->proc->pid, t->tid);
		u64map_put(&lr->at, (uint64_t)(uint32_t)t->tid, (uint32_t)i);
		if (lr->cpu[i] > max_cpu)
			max_cpu = lr->cpu[i];
	}
	lr->n_cpus = (size_t)(max_cpu + 1);
	lr->cpu_now = xcalloc(lr->n_cpus + 1, sizeof(*lr->cpu_now));
	cpu_set_t orig;
	if (max_cpu < 0 || sched_getaffinity(0, sizeof(orig), &orig) < 0)
		return;
	pid_t self = (pid_t)syscall(SYS_gettid);
	for (size_t c = 0; c < lr->n_cpus && c < CPU_SETSIZE; c++) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			continue; /* not ours to run on (a cpuset): unknown */
		sched_yield();
		lr->cpu_now[c] = last_ran_ns(getpid(), self);
	}
	sched_setaffinity(0, sizeof(orig), &orig);
}

static void last_ran_release(struct last_ran *lr)
{
	u64map_release(&lr->at);
	free(lr->ns);
	free(lr->cpu);
	free(lr->cpu_now);
}

static void dump_build(struct dump_state *snap, const struct profile *p, struct tracer *tr,
		       const struct last_ran *lr)
{
	snap->p = p;
	snap->n = p->n_samples;
	snap->th = xcalloc(snap->n + 1, sizeof(*snap->th));
	for (size_t i = 0; i < snap->n; i++) {
		struct dump_thread *d = &snap->th[i];
		d->s = &p->samples[i];
		d->name = profile_thread_name(profile_find_thread(p, d->s->tid));
		const struct thread *t = tracer_find(tr, d->s->tid);
		d->sc = t && d->s->syscall >= 0 && !t->smp->last_sc.running ? &t->smp->last_sc
									    : NULL;
		d->since_ns = -1;
		d->waits_for = -1;
		uint32_t at;
		uint64_t ran = 0, now = 0;
		if (d->s->state >= ST_SYSCALL && d->s->state <= ST_STOPPED &&
		    u64map_get(&lr->at, (uint64_t)(uint32_t)d->s->tid, &at) && lr->cpu[at] >= 0 &&
		    (size_t)lr->cpu[at] < lr->n_cpus) {
			ran = lr->ns[at];
			now = lr->cpu_now[lr->cpu[at]];
		}
		if (ran && ran <= now)
			d->since_ns = (int64_t)(now - ran);
		if (d->sc && t && t->proc && waitset_call(d->s->syscall))
			read_set(d, t);
		if (d->sc && t && t->proc)
			find_holders(d, p, t->proc->pid);
	}
	for (size_t i = 0; i < snap->n; i++) {
		if (!owned_lock(p, snap->th[i].s))
			continue;
		for (size_t k = 0; k < snap->n; k++)
			if (snap->th[k].s->tid == snap->th[i].s->owner)
				snap->th[i].waits_for = (int)k;
	}
	int *edges = xcalloc(snap->n + 1, sizeof(*edges));
	for (size_t i = 0; i < snap->n; i++)
		edges[i] = snap->th[i].waits_for;
	snap->cycles = xcalloc(snap->n + 1, sizeof(*snap->cycles));
	snap->cycle_lens = xcalloc(snap->n + 1, sizeof(*snap->cycle_lens));
	snap->n_cycles = locks_find_cycles(edges, snap->n, snap->cycles, snap->cycle_lens);
	free(edges);
}

static void dump_release(struct dump_state *snap)
{
	for (size_t i = 0; i < snap->n; i++)
		free(snap->th[i].set);
	free(snap->th);
	free(snap->cycles);
	free(snap->cycle_lens);
}

/* "lock_b" for a lock, "thread teller-two (124)" for a join. */
static const char *lock_name(const struct profile *p, const struct profile_sample *s)
{
	return p->objects[s->object].name;
}

/*
 * "deadlock: teller-one (123) waits for lock_b held by teller-two (124),
 * which waits for lock_a held by teller-one"
 */
static void print_deadlock(const struct dump_state *snap, const int *cycle, size_t len)
{
	const struct profile *p = snap->p;
	const struct dump_thread *first = &snap->th[cycle[0]];
	printf("deadlock: %s (%d)", first->name, first->s->tid);
	for (size_t k = 0; k < len; k++) {
		const struct dump_thread *d = &snap->th[cycle[k]];
		const struct dump_thread *o = &snap->th[d->waits_for];
		bool join = !strcmp(p->objects[d->s->object].lock_kind, "join");
		printf("%s", k ? ", which" : "");
		if (join)
			printf(" waits for %s to end", lock_name(p, d->s));
		else
			printf(" waits for %s held by %s", lock_name(p, d->s), o->name);
		if (k + 1 < len)
			printf(" (%d)", o->s->tid);
	}
	printf("\n");
}

static void print_frame_text(const struct profile_frame *f, int depth)
{
	printf("    #%-2d %s%s", depth, f->function, f->inlined ? " (inlined)" : "");
	if (f->file)
		printf("  %s:%d", f->file, f->line);
	if (f->module)
		printf("  [%s]", f->module);
	printf("\n");
}

/* "waiting on 2 descriptors: fd 6 (in) = tcp listen 127.0.0.1:80, ..." one
 * per line, the first few; the rest counted. */
static void print_set_text(const struct dump_thread *d)
{
	enum { SHOWN = 8 };
	if (d->set_err) {
		printf("    waiting on descriptors that could not be read (%s)\n",
		       strerror(-d->set_err));
		return;
	}
	printf("    waiting on %zu descriptor%s%s\n", d->set_total, d->set_total == 1 ? "" : "s",
	       d->set_total ? ":" : "");
	for (size_t i = 0; i < d->n_set && i < SHOWN; i++) {
		const struct waited_fd *f = &d->set[i];
		char ev[96];
		printf("      fd %d (%s)", f->w.fd, wait_events_text(f->w.events, ev, sizeof(ev)));
		if (f->described)
			printf(" = %s%s%s", strcmp(f->desc.kind, "file") ? f->desc.kind : "",
			       strcmp(f->desc.kind, "file") ? " " : "", disp(f->desc.name));
		printf("\n");
	}
	if (d->set_total > SHOWN)
		printf("      and %zu more\n", d->set_total - SHOWN);
}

static void print_text(const struct dump_state *snap)
{
	const struct profile *p = snap->p;
	printf("Process %d:", p->pid);
	for (int i = 0; i < p->argc; i++)
		printf(" %s", disp(p->argv[i]));
	printf("\n%zu threads\n", p->n_samples);
	for (size_t c = 0, off = 0; c < snap->n_cycles; off += snap->cycle_lens[c++])
		print_deadlock(snap, snap->cycles + off, snap->cycle_lens[c]);
	for (size_t i = 0; i < snap->n; i++) {
		const struct dump_thread *d = &snap->th[i];
		const struct profile_sample *s = d->s;
		const struct profile_stack *st = &p->stacks[s->stack];
		char buf[96], dur[32], call[512];
		printf("\nThread %d \"%s\": %s", s->tid, disp(d->name),
		       sample_state_text(s, buf, sizeof(buf)));
		if (d->since_ns >= 0)
			printf(" for %s", fmt_duration(dur, sizeof(dur), (uint64_t)d->since_ns));
		printf("\n");
		if (d->sc)
			printf("    in %s\n", call_text(p, s->syscall, d->sc->args, s->object, call,
							sizeof(call)));
		if (d->sc && waitset_call(s->syscall))
			print_set_text(d);
		print_holders_text(d);
		if (owned_lock(p, s)) {
			const struct profile_object *o = &p->objects[s->object];
			char addr[32] = "";
			if (!strstr(o->name, "0x"))
				snprintf(addr, sizeof(addr), " (0x%llx)",
					 (unsigned long long)o->address);
			if (!strcmp(o->lock_kind, "join"))
				printf("    waiting for %s to end\n", o->name);
			else
				printf("    waiting for %s %s%s held by %s (%d)\n", o->lock_kind,
				       o->name, addr,
				       d->waits_for >= 0 ? snap->th[d->waits_for].name : "?",
				       s->owner);
		}
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
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "address", addr, "function",
			 json_text(f->function), "module",
			 f->module ? json_text(f->module) : json_null(), "file",
			 f->file ? json_text(f->file) : json_null(), "line",
			 f->line ? json_integer(f->line) : json_null(), "inlined", f->inlined);
}

static json_t *waiting_for_json(const struct profile *p, const struct profile_sample *s)
{
	if (s->object < 0 || !p->objects[s->object].lock_kind)
		return json_null();
	const struct profile_object *o = &p->objects[s->object];
	char addr[32];
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)o->address);
	return json_pack("{s:s, s:s, s:o, s:o}", "kind", o->lock_kind, "address", addr, "symbol",
			 json_text(o->name), "owner_tid",
			 owned_lock(p, s) ? json_integer(s->owner) : json_null());
}

/* {"total": N, "fds": [{"fd", "events", "kind", "name"}, ...]}: at most
 * MAX_SET_SHOWN of them; null when the set could not be read. */
static json_t *set_json(const struct dump_thread *d)
{
	if (d->set_err)
		return json_null();
	json_t *fds = json_array();
	for (size_t i = 0; i < d->n_set; i++) {
		const struct waited_fd *f = &d->set[i];
		char ev[96];
		json_array_append_new(
			fds,
			json_pack("{s:i, s:s, s:o, s:o}", "fd", f->w.fd, "events",
				  wait_events_text(f->w.events, ev, sizeof(ev)), "kind",
				  f->described ? json_string(f->desc.kind) : json_null(), "name",
				  f->described ? json_text(f->desc.name) : json_null()));
	}
	return json_pack("{s:I, s:o}", "total", (json_int_t)d->set_total, "fds", fds);
}

static void print_json(const struct dump_state *snap)
{
	const struct profile *p = snap->p;
	json_t *threads = json_array();
	for (size_t i = 0; i < snap->n; i++) {
		const struct dump_thread *d = &snap->th[i];
		const struct profile_sample *s = d->s;
		const struct profile_stack *st = &p->stacks[s->stack];
		json_t *frames = json_array();
		for (uint32_t j = 0; j < st->n; j++)
			json_array_append_new(frames, frame_json(&p->frames[st->frames[j]]));
		char call[512];
		json_t *obj = json_null();
		if (s->object >= 0) {
			const struct profile_object *o = &p->objects[s->object];
			obj = json_pack("{s:s, s:o}", "kind", o->kind, "name", json_text(o->name));
		}
		json_array_append_new(
			threads,
			json_pack("{s:i, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "tid",
				  s->tid, "name", json_text(d->name), "state", state_name(s->state),
				  "syscall",
				  s->syscall >= 0 ? json_string(syscall_name_or_number(s->syscall))
						  : json_null(),
				  "call",
				  d->sc ? json_text(call_text(p, s->syscall, d->sc->args, s->object,
							      call, sizeof(call)))
					: json_null(),
				  "object", obj, "in_state_ns",
				  d->since_ns >= 0 ? json_integer(d->since_ns) : json_null(),
				  "waiting_for", waiting_for_json(p, s), "pipe_holders",
				  holders_json(d), "frames", frames, "truncated", st->truncated));
	}
	json_t *deadlocks = json_array();
	for (size_t i = 0; i < snap->n; i++)
		if (snap->th[i].sc && waitset_call(snap->th[i].s->syscall))
			json_object_set_new(json_array_get(threads, i), "waits_on",
					    set_json(&snap->th[i]));
	for (size_t c = 0, off = 0; c < snap->n_cycles; off += snap->cycle_lens[c++]) {
		json_t *cycle = json_array();
		for (size_t k = 0; k < snap->cycle_lens[c]; k++)
			json_array_append_new(cycle,
					      json_integer(snap->th[snap->cycles[off + k]].s->tid));
		json_array_append_new(deadlocks, cycle);
	}
	json_t *argv = json_array();
	for (int i = 0; i < p->argc; i++)
		json_array_append_new(argv, json_text(p->argv[i]));
	json_t *root = json_pack("{s:i, s:o, s:o, s:o}", "pid", p->pid, "command", argv,
				 "deadlocks", deadlocks, "threads", threads);
	json_dumpf(root, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(root);
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

	struct session sess;
	session_init(&sess, 1);
	sess.settle_ns = 2 * NS_PER_SEC;
	struct tracer *tr = &sess.tr;
	if (session_start(&sess, NULL, &pid, 1)) {
		session_release(&sess);
		return EXIT_FAILURE_;
	}
	size_t n_threads = tr->n_threads;
	struct last_ran lr;
	last_ran_read(&lr, tr);
	size_t late = session_snapshot(&sess, 500 * 1000 * 1000ULL);
	session_finish(&sess);

	struct profile p;
	profile_init(&p);
	p.pid = tr->pid; /* the process, if pid was one of its threads */
	p.frequency_hz = 1;
	p.argc = procfs_read_argv(tracer_io_pid(tr), &p.argv);
	struct addrspace **spaces = tracer_spaces(tr);
	recorder_finish(&sess.rec, spaces, tr->n_procs, &p);
	free(spaces);
	qsort(p.samples, p.n_samples, sizeof(*p.samples), cmp_sample_tid);
	struct dump_state snap;
	dump_build(&snap, &p, tr, &lr);
	if (json)
		print_json(&snap);
	else
		print_text(&snap);
	dump_release(&snap);
	int code = p.n_samples >= n_threads ? EXIT_OK : p.n_samples ? EXIT_PARTIAL : EXIT_FAILURE_;
	if (code != EXIT_OK)
		warning("%zu of %zu threads could not be read (they exited meanwhile, or /proc "
			"refused)",
			n_threads - p.n_samples, n_threads);
	if (late)
		warning("%zu of %zu threads did not stop within 0.5 s (a long uninterruptible "
			"wait): shown with the state /proc gave, without their stack",
			late, n_threads);
	profile_release(&p);
	last_ran_release(&lr);
	session_release(&sess);
	return code;
}
