/*
 * report.c: `wallprof report FILE`, the text report of a profile: the run,
 * each thread's wall time by state, top functions (inclusive and self),
 * top stacks, and the reasons not to trust it when there are some. Every
 * share is printed with the sample count it rests on.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "hashmap.h"
#include "tally.h"
#include "profile.h"
#include "report.h"
#include "syscalls.h"
#include "util.h"
#include "views.h"

struct report_opts {
	const char *path;
	const char *thread; /* tid or name; NULL for all */
	unsigned top;
	bool json;
	bool by_process; /* every thread of every process, not per program */
};

static const char report_usage[] =
	"usage: wallprof report [options] FILE\n"
	"\n"
	"Print where the wall-clock time of a recorded profile went.\n"
	"\n"
	"  -t, --thread TID|NAME  only this thread (by tid or name)\n"
	"  -n, --top N            rows per table (default 10)\n"
	"  -P, --by-process       every thread of every process (a recording of\n"
	"                         several processes is shown per program otherwise)\n"
	"      --format FMT       text (default) or json, for scripts\n"
	"  -h, --help             this help\n"
	"\n"
	"Exit status: 0 success; 2 unreadable or malformed profile; 64 bad command line.\n";

/* ---- aggregation ---- */

/* ---- printing ---- */

static double sample_ns(const struct profile *p)
{
	return 1e9 / (double)p->frequency_hz;
}

static void print_share(const struct profile *p, const char *label, uint64_t count, uint64_t total)
{
	char dur[32];
	double pct = total ? 100.0 * (double)count / (double)total : 0;
	printf("    %-34s %5.1f%%  %8s  (%llu samples)\n", label, pct,
	       fmt_duration(dur, sizeof(dur), (uint64_t)((double)count * sample_ns(p))),
	       (unsigned long long)count);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void print_header(const struct profile *p, const char *path)
{
	char dur[32], t50[32], t99[32];
	printf("wallprof report: %s\n\n", path);
	if (p->partial)
		printf("  This recording was cut short (wallprof was killed, or its output could\n"
		       "  not be written: a full disk): the samples written so far are shown, at\n"
		       "  the rate the recording began with, without stacks, thread names or\n"
		       "  metadata, which are written at the end.\n\n");
	printf("  command    ");
	for (int i = 0; i < p->argc; i++)
		printf("%s%s", i ? " " : "", disp(p->argv[i]));
	printf("\n  pid        %d (%s)", p->pid, p->mode ? p->mode : "?");
	if (p->exit_status > 128 && p->exit_status < 128 + 65)
		printf(", killed by signal %d (%s)", p->exit_status - 128,
		       strsignal(p->exit_status - 128));
	else if (p->exit_status >= 0)
		printf(", exit status %d", p->exit_status);
	time_t start = (time_t)(p->start_unix_ns / NS_PER_SEC);
	struct tm tm;
	char when[64] = "?";
	if (gmtime_r(&start, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("\n  started    %s on %s (%s, %d CPUs)\n", when, p->host ? p->host : "?",
	       p->kernel ? p->kernel : "?", p->cpus);
	printf("  duration   %s at %u Hz: %zu samples of %zu threads",
	       fmt_duration(dur, sizeof(dur), p->duration_ns), p->frequency_hz, p->n_samples,
	       p->n_threads);
	/* Distinct pids: more than one with record -f. */
	int *pids = xcalloc(p->n_threads + 1, sizeof(*pids));
	for (size_t i = 0; i < p->n_threads; i++)
		pids[i] = p->threads[i].pid;
	qsort(pids, p->n_threads, sizeof(*pids), cmp_int);
	size_t n_procs = 0;
	for (size_t i = 0; i < p->n_threads; i++)
		n_procs += pids[i] && (i == 0 || pids[i] != pids[i - 1]);
	free(pids);
	if (n_procs > 1)
		printf(" in %zu processes", n_procs);
	printf("\n");
	const struct profile_stats *s = &p->stats;
	printf("  profiler   %llu ticks, %llu missed; %llu threads stopped (p50 %s, p99 %s),\n"
	       "             samples: %llu at a stop, %llu reused a stack, %llu unwound without a "
	       "stop",
	       (unsigned long long)s->ticks, (unsigned long long)s->ticks_missed,
	       (unsigned long long)s->stops, fmt_duration(t50, sizeof(t50), s->stop_ns_p50),
	       fmt_duration(t99, sizeof(t99), s->stop_ns_p99), (unsigned long long)s->stops,
	       (unsigned long long)s->reused, (unsigned long long)s->nostop);
	if (s->late_samples)
		printf(", %llu for ticks a stop came late for",
		       (unsigned long long)s->late_samples);
	if (s->pc_only)
		printf(", %llu pc alone", (unsigned long long)s->pc_only);
	if (s->stops_skipped)
		printf(", %llu without a stack (--max-overhead)",
		       (unsigned long long)s->stops_skipped);
	printf(";\n             %llu stacks cut short; calls its stops cut short: %llu run again,\n"
	       "             %llu transfers completed, %llu seen by the target\n\n",
	       (unsigned long long)s->unwind_errors, (unsigned long long)s->eintr_repaired,
	       (unsigned long long)s->transfers_continued, (unsigned long long)s->eintr_risk);
}

static bool thread_selected(const struct profile *p, const struct report_opts *o, int tid)
{
	if (!o->thread)
		return true;
	uint64_t v;
	if (parse_uint(o->thread, 1, INT32_MAX, &v))
		return (int)v == tid;
	const struct profile_thread *t = profile_find_thread(p, tid);
	for (size_t i = 0; t && i < t->n_names; i++)
		if (!strcmp(t->names[i], o->thread))
			return true;
	return false;
}

/* Threads of more processes than this are shown per program. */
#define THREADS_SHOWN 64

/* Per thread of the profile: its program ("postgres" for its executable
 * /usr/lib/postgresql/15/bin/postgres, else the thread's name) and its
 * process title; found by tid in O(1). */
struct identities {
	struct u64map by_tid; /* tid -> index in the profile's threads */
	const char **program, **title;
};

static void identities_init(struct identities *id, const struct profile *p)
{
	u64map_init(&id->by_tid);
	id->program = xcalloc(p->n_threads + 1, sizeof(*id->program));
	id->title = xcalloc(p->n_threads + 1, sizeof(*id->title));
	for (size_t i = 0; i < p->n_threads; i++) {
		const struct profile_thread *t = &p->threads[i];
		const struct profile_process *pp = t->pid ? profile_find_process(p, t->pid) : NULL;
		id->program[i] =
			pp && pp->exe && *pp->exe ? base_name(pp->exe) : profile_thread_name(t);
		id->title[i] = pp && pp->title && *pp->title ? pp->title : "?";
		u64map_put(&id->by_tid, (uint64_t)(uint32_t)t->tid, (uint32_t)i);
	}
}

static void identities_release(struct identities *id)
{
	u64map_release(&id->by_tid);
	free(id->program);
	free(id->title);
}

/* The thread index of a sample, or n_threads if unknown. */
static size_t thread_of(const struct identities *id, const struct profile *p,
			const struct profile_sample *s)
{
	uint32_t i;
	return u64map_get(&id->by_tid, (uint64_t)(uint32_t)s->tid, &i) ? i : p->n_threads;
}

/*
 * A server is many processes of one program: the postmaster and its
 * backends, nginx's master and workers. Their samples are shown per
 * program, then per role (the process title, as ps shows it), each with its
 * states; --by-process lists every thread instead.
 */
static void print_programs(const struct profile *p, const struct report_opts *o)
{
	struct tally progs = {.own_names = true}, roles = {.own_names = true},
		     procs = {.own_names = true};
	struct identities id;
	identities_init(&id, p);
	id.program[p->n_threads] = id.title[p->n_threads] = "?";
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_sample *s = &p->samples[k];
		if (!thread_selected(p, o, s->tid))
			continue;
		size_t t = thread_of(&id, p, s);
		char key[600];
		tally_add(&progs, id.program[t], 1);
		snprintf(key, sizeof(key), "%s\x1f%s", id.program[t], id.title[t]);
		tally_add(&roles, key, 1);
		snprintf(key, sizeof(key), "%s\x1f%s\x1f%d", id.program[t], id.title[t],
			 t < p->n_threads ? p->threads[t].pid : 0);
		tally_add(&procs, key, 1);
	}
	printf("Programs: wall time by state, then by role (process title)\n");
	size_t *pi = tally_sorted(&progs), *ri = tally_sorted(&roles);
	for (size_t a = 0; a < progs.n && a < o->top; a++) {
		const char *prog = progs.names[pi[a]];
		size_t n_procs = 0;
		for (size_t i = 0; i < procs.n; i++)
			n_procs += !strncmp(procs.names[i], prog, strlen(prog)) &&
				   procs.names[i][strlen(prog)] == '\x1f';
		char dur[32];
		printf("\n  %s: %zu processes, %llu samples, %s\n", prog, n_procs,
		       (unsigned long long)progs.counts[pi[a]],
		       fmt_duration(dur, sizeof(dur),
				    (uint64_t)((double)progs.counts[pi[a]] * sample_ns(p))));
		struct tally st = {.own_names = true};
		for (size_t k = 0; k < p->n_samples; k++) {
			const struct profile_sample *s = &p->samples[k];
			char buf[96];
			if (thread_selected(p, o, s->tid) &&
			    !strcmp(id.program[thread_of(&id, p, s)], prog))
				tally_add(&st, sample_state_text(s, buf, sizeof(buf)), 1);
		}
		size_t *si = tally_sorted(&st);
		for (size_t k = 0; k < st.n && k < o->top; k++)
			print_share(p, st.names[si[k]], st.counts[si[k]], progs.counts[pi[a]]);
		free(si);
		tally_release(&st);
		unsigned shown = 0;
		for (size_t r = 0; r < roles.n && shown < o->top; r++) {
			const char *key = roles.names[ri[r]];
			size_t plen = strlen(prog);
			if (strncmp(key, prog, plen) || key[plen] != '\x1f')
				continue;
			size_t in_role = 0;
			for (size_t i = 0; i < procs.n; i++)
				in_role += !strncmp(procs.names[i], key, strlen(key)) &&
					   procs.names[i][strlen(key)] == '\x1f';
			printf("    role %-44.*s %5.1f%%  (%zu process%s, %llu samples)\n", 44,
			       key + plen + 1,
			       100.0 * (double)roles.counts[ri[r]] / (double)progs.counts[pi[a]],
			       in_role, in_role == 1 ? "" : "es",
			       (unsigned long long)roles.counts[ri[r]]);
			shown++;
		}
	}
	printf("\n");
	free(pi);
	free(ri);
	identities_release(&id);
	tally_release(&progs);
	tally_release(&roles);
	tally_release(&procs);
}

static void print_threads(const struct profile *p, const struct report_opts *o)
{
	size_t pids = 0;
	for (size_t i = 0; i < p->n_processes; i++)
		pids += p->processes[i].pid != 0;
	if (pids > 1 && !o->thread)
		print_programs(p, o);
	if (p->n_threads > THREADS_SHOWN && !o->by_process && !o->thread) {
		printf("Threads: %zu threads in %zu processes; 'report --by-process' lists each\n\n",
		       p->n_threads, pids);
		return;
	}
	printf("Threads: wall time by state (share of the thread's samples)\n");
	for (size_t i = 0; i < p->n_threads; i++) {
		const struct profile_thread *t = &p->threads[i];
		if (!thread_selected(p, o, t->tid))
			continue;
		struct tally c = {.own_names = true};
		uint64_t total = 0;
		for (size_t k = 0; k < p->n_samples; k++) {
			const struct profile_sample *s = &p->samples[k];
			char buf[96];
			if (s->tid != t->tid)
				continue;
			tally_add(&c, sample_state_text(s, buf, sizeof(buf)), 1);
			total++;
		}
		char dur[32];
		printf("\n  %s (%d", disp(profile_thread_name(t)), t->tid);
		const struct profile_process *pp = t->pid ? profile_find_process(p, t->pid) : NULL;
		if (t->pid && t->pid != p->pid) /* a child, recorded with -f */
			printf(", process %d%s%s", t->pid,
			       pp && pp->title && *pp->title ? ": " : "",
			       pp && pp->title ? pp->title : "");
		printf("): %llu samples, %s", (unsigned long long)total,
		       fmt_duration(dur, sizeof(dur), (uint64_t)((double)total * sample_ns(p))));
		/* Its other names (an exec, a prctl rename), each once. */
		const char *now = profile_thread_name(t);
		const char *sep = ", also named ";
		for (size_t k = 0; k + 1 < t->n_names; k++) {
			bool seen = !strcmp(t->names[k], now);
			for (size_t j = 0; j < k && !seen; j++)
				seen = !strcmp(t->names[j], t->names[k]);
			if (!seen) {
				printf("%s%s", sep, t->names[k]);
				sep = " ";
			}
		}
		printf("\n");
		size_t *idx = tally_sorted(&c);
		for (size_t k = 0; k < c.n; k++)
			print_share(p, c.names[idx[k]], c.counts[idx[k]], total);
		free(idx);
		tally_release(&c);
	}
	printf("\n");
}

/*
 * Inclusive and self counts by function. Samples are counted per stack
 * first, so each distinct stack is walked once, not once per sample.
 */
static void count_functions(const struct profile *p, const struct report_opts *o,
			    struct tally *incl, struct tally *self)
{
	uint64_t *per_stack = xcalloc(p->n_stacks + 1, sizeof(*per_stack));
	for (size_t k = 0; k < p->n_samples; k++)
		if (thread_selected(p, o, p->samples[k].tid))
			per_stack[p->samples[k].stack]++;
	const char **names = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < p->n_stacks; i++) {
		const struct profile_stack *st = &p->stacks[i];
		if (!per_stack[i] || !st->n)
			continue;
		tally_add(self, p->frames[st->frames[0]].function, per_stack[i]);
		/* Each function counts once per sample, recursion or not. */
		GROW(names, cap, st->n + 1);
		for (uint32_t j = 0; j < st->n; j++)
			names[j] = p->frames[st->frames[j]].function;
		size_t n = unique_names(names, st->n);
		for (size_t j = 0; j < n; j++)
			tally_add(incl, names[j], per_stack[i]);
	}
	free(names);
	free(per_stack);
}

static void print_functions(const struct profile *p, const struct report_opts *o, uint64_t total)
{
	struct tally incl = {0}, self = {0};
	count_functions(p, o, &incl, &self);
	struct {
		const char *title;
		struct tally *c;
	} tables[] = {{"Top functions by inclusive wall time (on the stack)", &incl},
		      {"Top functions by self wall time (innermost frame)", &self}};
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		printf("%s\n", tables[t].title);
		size_t *idx = tally_sorted(tables[t].c);
		for (size_t k = 0; k < tables[t].c->n && k < o->top; k++)
			print_share(p, tables[t].c->names[idx[k]], tables[t].c->counts[idx[k]],
				    total);
		free(idx);
		tally_release(tables[t].c);
		printf("\n");
	}
}

static void print_stacks(const struct profile *p, const struct report_opts *o, uint64_t total)
{
	/* Stacks are counted per (thread name, stack, state label). */
	struct tally c = {.own_names = true};
	struct u64map first; /* counter index -> a sample with that key */
	u64map_init(&first);
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_sample *s = &p->samples[k];
		if (!thread_selected(p, o, s->tid))
			continue;
		char label[96], key[256];
		snprintf(key, sizeof(key), "%s\x1f%u\x1f%s",
			 profile_thread_name(profile_find_thread(p, s->tid)), (unsigned)s->stack,
			 sample_leaf_label(s, label, sizeof(label)));
		size_t before = c.n;
		tally_add(&c, key, 1);
		if (c.n > before)
			u64map_put(&first, c.n - 1, (uint32_t)k);
	}
	printf("Top stacks\n");
	size_t *idx = tally_sorted(&c);
	for (size_t k = 0; k < c.n && k < o->top; k++) {
		uint32_t si;
		u64map_get(&first, idx[k], &si);
		const struct profile_sample *s = &p->samples[si];
		const struct profile_stack *st = &p->stacks[s->stack];
		char label[96], dur[32];
		printf("\n  %5.1f%%  %s  (%llu samples)  %s in %s\n",
		       total ? 100.0 * (double)c.counts[idx[k]] / (double)total : 0,
		       fmt_duration(dur, sizeof(dur),
				    (uint64_t)((double)c.counts[idx[k]] * sample_ns(p))),
		       (unsigned long long)c.counts[idx[k]],
		       sample_leaf_label(s, label, sizeof(label)),
		       disp(profile_thread_name(profile_find_thread(p, s->tid))));
		for (uint32_t j = 0; j < st->n && j < 24; j++) {
			const struct profile_frame *f = &p->frames[st->frames[j]];
			printf("      %s%s", f->function, f->inlined ? " (inlined)" : "");
			if (f->file)
				printf("  %s:%d", base_name(f->file), f->line);
			else if (f->module)
				printf("  [%s]", f->module);
			printf("\n");
		}
		if (st->n > 24)
			printf("      ... %u more frames\n", st->n - 24);
		if (st->truncated)
			printf("      (stack cut short: unwinding stopped here)\n");
	}
	printf("\n");
	free(idx);
	u64map_release(&first);
	tally_release(&c);
}

/* ---- trust ---- */

struct warnings {
	json_t *list; /* JSON: collect the messages here; NULL: print them */
	int n;
};

static void warn(struct warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct warnings *w, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (w->list) {
		/* One line per warning: fold the printed line breaks. */
		char one[1024];
		size_t k = 0;
		for (const char *c = buf; *c && k < sizeof(one) - 1; c++) {
			if (*c == '\n') {
				one[k++] = ' ';
				while (c[1] == ' ')
					c++;
			} else {
				one[k++] = *c;
			}
		}
		one[k] = '\0';
		json_array_append_new(w->list, json_string(one));
	} else {
		printf("%s  %s\n", w->n ? "" : "Before trusting this report\n", buf);
	}
	w->n++;
}

/* The binary whose code holds addr, or NULL. */
static const struct profile_binary *binary_at(const struct profile *p, uint64_t addr)
{
	for (size_t i = 0; i < p->n_binaries; i++)
		if (addr >= p->binaries[i].start && addr < p->binaries[i].end)
			return &p->binaries[i];
	return NULL;
}

static const struct profile_binary *binary_named(const struct profile *p, const char *module)
{
	for (size_t i = 0; i < p->n_binaries; i++)
		if (!strcmp(base_name(p->binaries[i].path), module))
			return &p->binaries[i];
	return NULL;
}

/* A frame the symbolizer could only name by its address ("lib+0x1234"). */
static bool unnamed(const struct profile_frame *f)
{
	const char *plus = f->function ? strstr(f->function, "+0x") : NULL;
	return f->function &&
	       (!strncmp(f->function, "[unknown ", 9) ||
		(plus && f->module && !strncmp(f->function, f->module, strlen(f->module)) &&
		 plus == f->function + strlen(f->module)));
}

/* Per binary with code in the samples: its frames, and those unnamed. */
struct binary_use {
	const struct profile_binary *b;
	uint64_t frames, unnamed;
};

static struct binary_use *binary_uses(const struct profile *p, uint64_t *all_frames)
{
	struct binary_use *u = xcalloc(p->n_binaries + 1, sizeof(*u));
	*all_frames = 0;
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_stack *st = &p->stacks[p->samples[k].stack];
		for (uint32_t j = 0; j < st->n; j++) {
			const struct profile_frame *f = &p->frames[st->frames[j]];
			const struct profile_binary *b =
				f->module ? binary_named(p, f->module) : NULL;
			(*all_frames)++;
			if (!b)
				continue;
			struct binary_use *x = &u[b - p->binaries];
			x->b = b;
			x->frames++;
			x->unnamed += unnamed(f);
		}
	}
	return u;
}

/* "a (12%), b (3%) and 2 more" of the binaries picked by which. */
static void list_binaries(char *buf, size_t size, const struct binary_use *u, size_t n,
			  bool (*which)(const struct binary_use *), uint64_t all_frames)
{
	size_t len = 0, shown = 0, more = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!u[i].b || !which(&u[i]))
			continue;
		if (shown == 4) {
			more++;
			continue;
		}
		len += (size_t)snprintf(
			buf + len, size > len ? size - len : 0, "%s%s (%.0f%% of frames)",
			shown ? ", " : "", base_name(u[i].b->path),
			100.0 * (double)u[i].frames / (double)(all_frames ? all_frames : 1));
		shown++;
	}
	if (more)
		snprintf(buf + len, size > len ? size - len : 0, " and %zu more", more);
}

static bool no_debuginfo(const struct binary_use *x)
{
	return !x->b->has_debuginfo && x->b->path[0] == '/';
}

/*
 * Why a stack was cut short, from its outermost frame: in code outside any
 * file, in a binary without unwind tables, a blocked thread read with its pc
 * alone, or unwind info that led nowhere.
 */
static void warn_truncated(const struct profile *p, struct warnings *w, uint64_t truncated)
{
	enum { JIT, NO_TABLES, PC_ONLY, DEAD_END, N_CAUSES };
	uint64_t n[N_CAUSES] = {0};
	const struct profile_binary *where[N_CAUSES] = {NULL};
	const char *fn[N_CAUSES] = {NULL};
	/* Each cause is named by the outermost frame most of its samples
	 * ended at. */
	uint32_t most[N_CAUSES] = {0};
	struct u64map ends; /* (cause, frame) -> samples */
	u64map_init(&ends);
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_stack *st = &p->stacks[p->samples[k].stack];
		if (!st->truncated || !st->n)
			continue;
		const struct profile_frame *last = &p->frames[st->frames[st->n - 1]];
		const struct profile_binary *b = binary_at(p, last->address);
		int c = !b						? JIT
			: !b->unwind_tables				? NO_TABLES
			: st->n == 1 && p->samples[k].state != ST_ONCPU ? PC_ONLY
									: DEAD_END;
		n[c]++;
		uint64_t key = (uint64_t)c << 32 | st->frames[st->n - 1];
		uint32_t seen = 0;
		u64map_get(&ends, key, &seen);
		u64map_put(&ends, key, ++seen);
		if (seen > most[c]) {
			most[c] = seen;
			where[c] = b;
			fn[c] = last->function;
		}
	}
	u64map_release(&ends);
	char buf[1024];
	size_t len = 0;
	if (n[JIT])
		len += (size_t)snprintf(
			buf + len, sizeof(buf) - len,
			"\n    %llu in code outside any file (JIT or generated code, which "
			"has no unwind tables),",
			(unsigned long long)n[JIT]);
	if (n[NO_TABLES])
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"\n    %llu in %s, which has no unwind tables (.eh_frame): "
					"rebuild it with -fasynchronous-unwind-tables,",
					(unsigned long long)n[NO_TABLES], where[NO_TABLES]->path);
	if (n[PC_ONLY] && len < sizeof(buf))
		len += (size_t)snprintf(
			buf + len, sizeof(buf) - len,
			"\n    %llu of blocked threads that kept moving while they were "
			"read without a stop: only their pc,",
			(unsigned long long)n[PC_ONLY]);
	if (n[DEAD_END] && len < sizeof(buf))
		snprintf(buf + len, sizeof(buf) - len,
			 "\n    %llu where the unwind info led no further (hand-written "
			 "assembly, or a stack being torn down), most at %s in %s,",
			 (unsigned long long)n[DEAD_END], fn[DEAD_END],
			 where[DEAD_END] ? base_name(where[DEAD_END]->path) : "?");
	warn(w,
	     "%llu of %zu samples (%.1f%%) have stacks cut short:%s\n"
	     "    their time is still counted, under the frames that were found.",
	     (unsigned long long)truncated, p->n_samples,
	     100.0 * (double)truncated / (double)(p->n_samples ? p->n_samples : 1), buf);
}

static void collect_warnings(const struct profile *p, uint64_t total, struct warnings *w)
{
	const char *advice = "for C/C++ build with -O2 -g; "
			     "for Rust a Cargo [profile.profiling] with inherits = \"release\", "
			     "debug = true, strip = false";
	uint64_t truncated = 0;
	for (size_t k = 0; k < p->n_samples; k++)
		truncated += p->stacks[p->samples[k].stack].truncated;
	if (truncated)
		warn_truncated(p, w, truncated);

	/* One warning per cause, each listing the binaries it concerns. */
	uint64_t all_frames;
	struct binary_use *u = binary_uses(p, &all_frames);
	/* Frames without a name: in a binary short of symbols, debug symbols
	 * would name them; in one with a full symbol table they fell in code
	 * no symbol covers (PLT stubs, padding), which nothing would name. */
	uint64_t unnamed_frames = 0, uncovered_frames = 0;
	char names[768] = "", uncovered[768] = "", debug[768];
	size_t len = 0, ulen = 0;
	for (size_t i = 0; i < p->n_binaries; i++) {
		if (!u[i].unnamed)
			continue;
		if (u[i].b->symtab) {
			uncovered_frames += u[i].unnamed;
			if (ulen < sizeof(uncovered))
				ulen += (size_t)snprintf(uncovered + ulen, sizeof(uncovered) - ulen,
							 "%s%s", ulen ? ", " : "",
							 base_name(u[i].b->path));
			continue;
		}
		unnamed_frames += u[i].unnamed;
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s (%s)",
						len ? ", " : "", base_name(u[i].b->path),
						u[i].b->has_symbols ? "only its dynamic symbols"
								    : "stripped");
	}
	if (unnamed_frames)
		warn(w,
		     "%.1f%% of frames have no function name, only an address: %s;\n"
		     "    install their debug symbols (Debian: the -dbgsym packages, or debuginfod), "
		     "or %s.",
		     100.0 * (double)unnamed_frames / (double)(all_frames ? all_frames : 1), names,
		     advice);
	if (uncovered_frames)
		warn(w,
		     "%llu frame%s (%.1f%%) fell in code no symbol covers in %s (PLT stubs or\n"
		     "    padding between functions): shown as addresses; no symbols would name them.",
		     (unsigned long long)uncovered_frames, uncovered_frames == 1 ? "" : "s",
		     100.0 * (double)uncovered_frames / (double)(all_frames ? all_frames : 1),
		     uncovered);
	list_binaries(debug, sizeof(debug), u, p->n_binaries, no_debuginfo, all_frames);
	if (debug[0])
		warn(w,
		     "no debug info for %s: their frames have no file:line and no inlined\n"
		     "    functions; install their debug symbols, or %s.",
		     debug, advice);
	for (size_t i = 0; i < p->n_binaries; i++)
		if (u[i].b && u[i].b->unoptimized)
			warn(w,
			     "%s was built without optimisation (-O0 in DW_AT_producer);\n"
			     "    its costs differ from a release build: %s.",
			     u[i].b->path, advice);
	free(u);
	if (total && total < 400) {
		/* 95% binomial half-width at a share of 50%, the worst case. */
		double margin = 100.0 * 1.96 * sqrt(0.25 / (double)total);
		warn(w,
		     "only %llu samples: a share here is uncertain by up to +/-%.0f points;\n"
		     "    record longer or at a higher rate (-F).",
		     (unsigned long long)total, margin);
	}
	if (p->stats.stops_skipped)
		warn(w,
		     "%llu samples of running threads have no stack: --max-overhead skipped\n"
		     "    their stops (the states are exact); raise the limit or lower -F.",
		     (unsigned long long)p->stats.stops_skipped);
	if (p->stats.eintr_risk)
		warn(w,
		     "%llu calls of the target ended early because of wallprof's stops, and could\n"
		     "    not be run again: the program saw EINTR or a short count (a call that is not\n"
		     "    safe to repeat, such as connect with a timeout, or a sendmsg carrying\n"
		     "    descriptors; see docs/interrupts.md). Lower -F, or use --max-overhead.",
		     (unsigned long long)p->stats.eintr_risk);
	if (p->stats.ticks_missed)
		warn(w,
		     "%llu of %llu ticks were missed: wallprof's sampling thread did not get a CPU\n"
		     "    in time (a busy machine) or fell behind. Those ticks have no samples, most\n"
		     "    often while threads ran (stopping a running thread waits for a CPU too), so\n"
		     "    on-CPU time is short. Record with -r (real-time priority), or lower -F.",
		     (unsigned long long)p->stats.ticks_missed, (unsigned long long)p->stats.ticks);
	/* Ticks that ran, but late: each read the threads after the sampling
	 * thread's own wait for a CPU, when the threads that waited beside it
	 * had often run already. Beside two CPU hogs on two CPUs, PostgreSQL
	 * backends' ticks began 0.17 to 0.36 ms late on average at 99 Hz
	 * (0.04 to 0.06 ms with -r), and their runnable share ranged from 4
	 * points over schedstat's to 13 short (within 2 with -r). A tenth of
	 * the interval is a line drawn between those, not a measured edge. */
	uint64_t ran =
		p->stats.ticks > p->stats.ticks_missed ? p->stats.ticks - p->stats.ticks_missed : 0;
	double late_ms = ran ? (double)p->stats.tick_late_ns / (double)ran / 1e6 : 0;
	if (p->frequency_hz && late_ms > sample_ns(p) / 1e6 / 10)
		warn(w,
		     "ticks began %.2f ms late on average (the interval is %.1f ms): wallprof's\n"
		     "    sampling thread waited for a CPU, and states read after that wait show\n"
		     "    fewer threads waiting for a CPU than there were. Record with -r (real-time\n"
		     "    priority).",
		     late_ms, sample_ns(p) / 1e6);
}

static void print_warnings(const struct profile *p, uint64_t total)
{
	struct warnings w = {NULL, 0};
	collect_warnings(p, total, &w);
	if (!w.n)
		printf("No reason found to distrust this profile.\n");
}

/* ---- JSON ---- */

static json_t *share_json(const struct profile *p, const char *key, const char *name,
			  uint64_t count, uint64_t total)
{
	return json_pack("{s:o, s:I, s:f, s:I}", key, json_text(name), "samples", (json_int_t)count,
			 "share", total ? (double)count / (double)total : 0.0, "wall_ns",
			 (json_int_t)((double)count * sample_ns(p)));
}

static json_t *ranking_json(const struct profile *p, struct tally *c, const char *key,
			    uint64_t total, unsigned top)
{
	json_t *a = json_array();
	size_t *idx = tally_sorted(c);
	for (size_t k = 0; k < c->n && k < top; k++)
		json_array_append_new(
			a, share_json(p, key, c->names[idx[k]], c->counts[idx[k]], total));
	free(idx);
	return a;
}

static void report_json(const struct profile *p, const struct report_opts *o, uint64_t total)
{
	json_t *root = json_object();
	json_t *argv = json_array();
	for (int i = 0; i < p->argc; i++)
		json_array_append_new(argv, json_text(p->argv[i]));
	json_object_set_new(root, "profile", json_string(o->path));
	json_object_set_new(
		root, "run",
		json_pack("{s:o, s:i, s:s, s:I, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "command",
			  argv, "pid", p->pid, "mode", p->mode ? p->mode : "?", "duration_ns",
			  (json_int_t)p->duration_ns, "frequency_hz", (int)p->frequency_hz,
			  "samples", (json_int_t)total, "ticks_missed",
			  (json_int_t)p->stats.ticks_missed, "stops", (json_int_t)p->stats.stops,
			  "stop_ns_p50", (json_int_t)p->stats.stop_ns_p50, "stop_ns_p99",
			  (json_int_t)p->stats.stop_ns_p99, "unwind_errors",
			  (json_int_t)p->stats.unwind_errors));
	json_t *threads = json_array();
	for (size_t i = 0; i < p->n_threads; i++) {
		const struct profile_thread *t = &p->threads[i];
		if (!thread_selected(p, o, t->tid))
			continue;
		struct tally c = {.own_names = true};
		uint64_t n = 0;
		for (size_t k = 0; k < p->n_samples; k++)
			if (p->samples[k].tid == t->tid) {
				tally_add(&c, state_name(p->samples[k].state), 1);
				n++;
			}
		json_t *o = json_pack("{s:i, s:o, s:I, s:o}", "tid", t->tid, "name",
				      json_text(profile_thread_name(t)), "samples", (json_int_t)n,
				      "states", ranking_json(p, &c, "state", n, ST__COUNT));
		if (t->pid)
			json_object_set_new(o, "pid", json_integer(t->pid));
		json_array_append_new(threads, o);
		tally_release(&c);
	}
	json_object_set_new(root, "threads", threads);
	struct tally incl = {0}, self = {0}, sys = {0}, obj = {.own_names = true};
	count_functions(p, o, &incl, &self);
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_sample *s = &p->samples[k];
		if (!thread_selected(p, o, s->tid) || s->state == ST_ONCPU ||
		    s->state == ST_RUNNABLE)
			continue;
		if (s->syscall >= 0)
			tally_add(&sys, syscall_name_or_number(s->syscall), 1);
		if (s->object >= 0) {
			char buf[400];
			tally_add(&obj, object_text(p, s->object, buf, sizeof(buf)), 1);
		}
	}
	json_object_set_new(root, "functions_inclusive",
			    ranking_json(p, &incl, "function", total, o->top));
	json_object_set_new(root, "functions_self",
			    ranking_json(p, &self, "function", total, o->top));
	json_object_set_new(root, "blocking_syscalls",
			    ranking_json(p, &sys, "syscall", total, o->top));
	json_object_set_new(root, "waited_on", ranking_json(p, &obj, "object", total, o->top));
	tally_release(&incl);
	tally_release(&self);
	tally_release(&sys);
	tally_release(&obj);
	json_t *traced = json_array();
	for (size_t i = 0; i < p->n_syscalls; i++) {
		const struct profile_syscall *c = &p->syscalls[i];
		json_array_append_new(
			traced, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "syscall",
					  syscall_name_or_number(c->nr), "count",
					  (json_int_t)c->count, "errors", (json_int_t)c->errors,
					  "total_ns", (json_int_t)c->total_ns, "p50_ns",
					  (json_int_t)c->p50_ns, "p99_ns", (json_int_t)c->p99_ns,
					  "max_ns", (json_int_t)c->max_ns));
	}
	json_object_set_new(root, "traced_syscalls", traced);
	struct peer_wait *pw;
	size_t n_pw = report_peer_waits(p, NULL, &pw);
	json_t *peers = json_array();
	for (size_t i = 0; i < n_pw; i++) {
		char buf[400];
		if (!thread_selected(p, o, pw[i].tid))
			continue;
		json_array_append_new(
			peers,
			json_pack("{s:i, s:i, s:I, s:I, s:f, s:o}", "tid", pw[i].tid, "peer_pid",
				  pw[i].peer, "samples", (json_int_t)pw[i].samples,
				  "blocked_samples", (json_int_t)pw[i].blocked, "share",
				  (double)pw[i].samples / (double)pw[i].blocked, "object",
				  json_text(object_text(p, pw[i].object, buf, sizeof(buf)))));
	}
	free(pw);
	json_object_set_new(root, "waiting_on_processes", peers);
	struct warnings w = {json_array(), 0};
	collect_warnings(p, total, &w);
	json_object_set_new(root, "warnings", w.list);
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	printf("\n");
	json_decref(root);
}

static int parse_report_opts(int argc, char **argv, struct report_opts *o)
{
	static const struct option longopts[] = {
		{"thread", required_argument, NULL, 't'}, {"top", required_argument, NULL, 'n'},
		{"format", required_argument, NULL, 'f'}, {"by-process", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->top = 10;
	uint64_t v;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:n:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->thread = optarg; break;
		case 'P': o->by_process = true; break;
		case 'n':
			if (!parse_uint(optarg, 1, 100000, &v))
				return error("invalid --top '%s': expected a positive number",
					     optarg);
			o->top = (unsigned)v;
			break;
		case 'f':
			if (strcmp(optarg, "text") && strcmp(optarg, "json"))
				return error("invalid --format '%s': expected text or json",
					     optarg);
			o->json = !strcmp(optarg, "json");
			break;
		case 'h': fputs(report_usage, stdout); exit(EXIT_OK);
		default:
			return error("report: unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return error("report: give exactly one profile FILE");
	o->path = argv[optind];
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_opts o;
	if (parse_report_opts(argc, argv, &o) < 0) {
		hint("see 'wallprof report --help'");
		return EXIT_USAGE;
	}
	struct profile p;
	char err[256];
	if (profile_read_json(o.path, &p, err, sizeof(err)) < 0) {
		error("cannot read profile '%s': %s", o.path, err);
		return EXIT_FAILURE_;
	}
	uint64_t total = 0;
	for (size_t k = 0; k < p.n_samples; k++)
		total += thread_selected(&p, &o, p.samples[k].tid);
	if (o.thread && !total) {
		error("no samples of thread '%s' in '%s'", o.thread, o.path);
		profile_release(&p);
		return EXIT_FAILURE_;
	}
	if (o.json) {
		report_json(&p, &o, total);
		profile_release(&p);
		return EXIT_OK;
	}
	print_header(&p, o.path);
	print_threads(&p, &o);
	print_functions(&p, &o, total);
	print_stacks(&p, &o, total);
	bool *keep = xcalloc(p.n_samples + 1, sizeof(*keep));
	for (size_t k = 0; k < p.n_samples; k++)
		keep[k] = thread_selected(&p, &o, p.samples[k].tid);
	report_waits(&p, keep, o.top);
	free(keep);
	print_warnings(&p, total);
	profile_release(&p);
	return EXIT_OK;
}
