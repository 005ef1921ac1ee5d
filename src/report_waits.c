/*
 * report_waits.c: the parts of `wallprof report` about waiting: blocking
 * syscalls, I/O by file and socket, lock waits by lock, and the longest
 * single waits. Sampled figures (samples x period) are always there; exact
 * ones appear when the run traced calls (--syscalls, --locks).
 *
 * An episode is a run of consecutive samples of one thread in the same
 * call on the same object: without exact events, its length in samples
 * times the period estimates how long one wait lasted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "locks.h"
#include "report.h"
#include "syscalls.h"
#include "util.h"
#include "views.h"

static uint64_t ns_of(const struct profile *p, uint64_t samples)
{
	return samples * (NS_PER_SEC / (p->frequency_hz ? p->frequency_hz : 1));
}

static bool waiting(const struct profile_sample *s)
{
	return s->state != ST_ONCPU && s->state != ST_RUNNABLE && s->state != ST_STOPPED &&
	       s->syscall >= 0;
}

static void print_frames(const struct profile *p, uint32_t stack, unsigned max, const char *indent)
{
	if (stack >= p->n_stacks)
		return;
	const struct profile_stack *st = &p->stacks[stack];
	for (uint32_t j = 0; j < st->n && j < max; j++) {
		const struct profile_frame *f = &p->frames[st->frames[j]];
		printf("%s%s%s", indent, f->function, f->inlined ? " (inlined)" : "");
		if (f->file)
			printf("  %s:%d", base_name(f->file), f->line);
		else if (f->module)
			printf("  [%s]", f->module);
		printf("\n");
	}
	if (st->n > max)
		printf("%s... %u more frames\n", indent, st->n - max);
}

/* Sort helpers: indices by a uint64 key, descending. */
static const uint64_t *sort_key;
static int by_key(const void *a, const void *b)
{
	uint64_t x = sort_key[*(const size_t *)a], y = sort_key[*(const size_t *)b];
	return (x < y) - (x > y);
}

static size_t *order_by(const uint64_t *key, size_t n)
{
	size_t *idx = xmalloc((n + 1) * sizeof(*idx));
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_key = key;
	qsort(idx, n, sizeof(*idx), by_key);
	return idx;
}

static void print_syscalls(const struct profile *p, const bool *keep, unsigned top)
{
	uint64_t *samples = xcalloc(SYSCALL_SET_MAX, sizeof(*samples));
	uint64_t total = 0;
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_sample *s = &p->samples[k];
		if (!keep[k])
			continue;
		total++;
		if (waiting(s) && s->syscall < SYSCALL_SET_MAX)
			samples[s->syscall]++;
	}
	size_t *idx = order_by(samples, SYSCALL_SET_MAX);
	if (samples[idx[0]]) {
		printf("Blocking syscalls (sampled wall time, all threads)\n");
		char dur[32];
		for (unsigned i = 0; i < top && i < SYSCALL_SET_MAX && samples[idx[i]]; i++)
			printf("    %-24s %5.1f%%  %8s  (%llu samples)\n",
			       syscall_name_or_number((long)idx[i]),
			       100.0 * (double)samples[idx[i]] / (double)(total ? total : 1),
			       fmt_duration(dur, sizeof(dur), ns_of(p, samples[idx[i]])),
			       (unsigned long long)samples[idx[i]]);
		printf("\n");
	}
	free(idx);
	free(samples);
	if (!p->n_syscalls)
		return;
	char fl[32];
	if (p->tracing.method && !strcmp(p->tracing.method, "watch")) {
		/* Attached --locks: the waits a tick saw, followed to their end. */
		printf("Lock waits followed (attached --locks: no call is stopped at)\n"
		       "    each wait a tick saw, from that tick to its exact end: up to %s short, "
		       "and\n    waits shorter than a tick are mostly not seen; for every wait, "
		       "exactly,\n    record with --syscalls=futex (a stop at every call)\n",
		       fmt_duration(fl, sizeof(fl), ns_of(p, 1)));
	} else {
		printf("Traced syscalls (exact, %s; latency p50/p99 within 2%%)\n",
		       p->tracing.method ? p->tracing.method : "?");
		/* A traced call is timed from its entry stop to its exit stop,
		 * and the exit stop keeps the thread waiting for wallprof: a
		 * short call's latency is mostly that. The fastest call's
		 * median is the floor. */
		uint64_t floor_ns = UINT64_MAX;
		for (size_t i = 0; i < p->n_syscalls; i++)
			if (p->syscalls[i].count && p->syscalls[i].p50_ns < floor_ns)
				floor_ns = p->syscalls[i].p50_ns;
		if (floor_ns != UINT64_MAX)
			printf("    durations include wallprof's stop at each call's exit: the "
			       "fastest call\n"
			       "    here took %s at p50, about what the tracing adds to every call\n",
			       fmt_duration(fl, sizeof(fl), floor_ns));
	}
	printf("    %-20s %10s %8s %10s %10s %10s %10s\n", "syscall", "calls", "errors", "total",
	       "p50", "p99", "max");
	for (size_t i = 0; i < p->n_syscalls && i < top; i++) {
		const struct profile_syscall *c = &p->syscalls[i];
		char t[32], a[32], b[32], m[32];
		printf("    %-20s %10llu %8llu %10s %10s %10s %10s\n",
		       syscall_name_or_number(c->nr), (unsigned long long)c->count,
		       (unsigned long long)c->errors, fmt_duration(t, sizeof(t), c->total_ns),
		       fmt_duration(a, sizeof(a), c->p50_ns), fmt_duration(b, sizeof(b), c->p99_ns),
		       fmt_duration(m, sizeof(m), c->max_ns));
	}
	if (p->n_syscalls > top)
		printf("    ... %zu more\n", p->n_syscalls - top);
	printf("\n");
}

/* Per object: sampled samples, and the thread most often waiting on it. */
struct object_use {
	uint64_t samples;
	uint64_t held; /* samples whose lock another thread held */
	uint32_t stack; /* the stack most of its waiting samples had */
	uint32_t stack_samples; /* how many had it */
	int tid;
	int waiters[8]; /* distinct tids, up to 8 */
	unsigned n_waiters;
	int owners[8];
	unsigned n_owners;
};

static void note_tid(int *list, unsigned *n, int tid)
{
	for (unsigned i = 0; i < *n; i++)
		if (list[i] == tid)
			return;
	if (*n < 8)
		list[(*n)++] = tid;
}

static void print_tid_list(const struct profile *p, const int *tids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		printf("%s%s (%d)", i ? ", " : "",
		       disp(profile_thread_name(profile_find_thread(p, tids[i]))), tids[i]);
}

static bool idle_wait(const struct profile *p, const struct profile_sample *s)
{
	return s->object >= 0 && s->object < (int32_t)p->n_objects &&
	       lock_kind_is_idle(p->objects[s->object].lock_kind);
}

/* A mutex's waits count while its owner is known to hold it. */
static bool ranks_by_holder(const char *kind)
{
	return kind && !strcmp(kind, "mutex");
}

static void print_objects(const struct profile *p, const bool *keep, unsigned top)
{
	if (!p->n_objects)
		return;
	struct object_use *use = xcalloc(p->n_objects, sizeof(*use));
	uint64_t *key = xcalloc(p->n_objects, sizeof(*key));
	struct u64map pairs; /* (object, stack) -> samples */
	u64map_init(&pairs);
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_sample *s = &p->samples[k];
		if (!keep[k] || s->object < 0 || !waiting(s))
			continue;
		struct object_use *u = &use[s->object];
		u->samples++;
		uint64_t pair = (uint64_t)(uint32_t)s->object << 32 | s->stack;
		uint32_t n = 0;
		u64map_get(&pairs, pair, &n);
		u64map_put(&pairs, pair, ++n);
		if (n > u->stack_samples) {
			u->stack = s->stack;
			u->stack_samples = n;
		}
		note_tid(u->waiters, &u->n_waiters, s->tid);
		const char *kind = p->objects[s->object].lock_kind;
		if (s->owner && kind && lock_kind_has_owner(kind)) {
			note_tid(u->owners, &u->n_owners, s->owner);
			u->held++;
		}
	}
	/* Locks rank by the time threads waited while another held them
	 * (when the kind has an owner to tell), the rest by time waited. */
	for (size_t i = 0; i < p->n_objects; i++) {
		uint64_t waited = ns_of(
			p, ranks_by_holder(p->objects[i].lock_kind) ? use[i].held : use[i].samples);
		key[i] = waited > p->objects[i].traced_ns ? waited : p->objects[i].traced_ns;
	}
	size_t *idx = order_by(key, p->n_objects);
	char dur[32], t2[32], obj[400];
	/* I/O, then locks, then idle waits (condition variables: a pool
	 * waiting for work), apart and last so that they hide no contention. */
	static const char *const titles[] = {
		"I/O by file and socket (time blocked on it)",
		"Lock waits by lock (contention: time waited while another thread held it)",
		"Idle waits (condition variables and parking: threads waiting for work)",
	};
	for (int group = 0; group < 3; group++) {
		bool any = false;
		unsigned shown = 0;
		bool locks = group > 0;
		for (size_t i = 0; i < p->n_objects && shown < top; i++) {
			const struct profile_object *o = &p->objects[idx[i]];
			const struct object_use *u = &use[idx[i]];
			int g = strcmp(o->kind, "lock")		  ? 0
				: lock_kind_is_idle(o->lock_kind) ? 2
								  : 1;
			if (g != group || (!u->samples && !o->traced_calls))
				continue;
			if (!any)
				printf("%s\n", titles[group]);
			any = true;
			shown++;
			/* A pipe seen from both ends is an object per end: each
			 * names the process at its other end. */
			printf("    %s", object_text(p, (int32_t)idx[i], obj, sizeof(obj)));
			if (o->peer_pid)
				printf("  (other end: process %d)", o->peer_pid);
			printf("\n");
			char line[256] = "";
			size_t len = 0;
			if (u->samples)
				len += (size_t)snprintf(
					line + len, sizeof(line) - len,
					"; sampled %s (%llu samples)",
					fmt_duration(dur, sizeof(dur), ns_of(p, u->samples)),
					(unsigned long long)u->samples);
			if (o->traced_calls && len < sizeof(line))
				len += (size_t)snprintf(
					line + len, sizeof(line) - len,
					p->tracing.method && !strcmp(p->tracing.method, "watch")
						? "; followed %llu waits, %s"
						: "; traced %llu calls, %s",
					(unsigned long long)o->traced_calls,
					fmt_duration(t2, sizeof(t2), o->traced_ns));
			if ((o->bytes_read || o->bytes_written) && len < sizeof(line))
				snprintf(line + len, sizeof(line) - len,
					 "; %llu bytes read, %llu written",
					 (unsigned long long)o->bytes_read,
					 (unsigned long long)o->bytes_written);
			printf("        %s\n", line + 2);
			if (u->n_waiters) {
				printf("        %s ", locks ? "waiters" : "threads");
				print_tid_list(p, u->waiters, u->n_waiters);
				printf("\n");
			}
			if (locks && u->n_owners) {
				printf("        %s ", o->lock_kind && !strcmp(o->lock_kind, "join")
							      ? "waiting for"
							      : "held by");
				print_tid_list(p, u->owners, u->n_owners);
				printf("\n");
			}
			if (u->samples)
				print_frames(p, u->stack, 6, "          ");
		}
		if (any)
			printf("\n");
	}
	free(idx);
	free(key);
	free(use);
	u64map_release(&pairs);
}

struct episode {
	int tid;
	uint64_t start_ns, samples;
	uint32_t stack;
	int16_t syscall;
	int32_t object;
};

static int by_episode_len(const void *a, const void *b)
{
	const struct episode *x = a, *y = b;
	return (x->samples < y->samples) - (x->samples > y->samples);
}

/* " = 3", or " = -1 ENOENT" as strace shows a failed call; a call a signal
 * cut whose thread it then killed ended with the kernel's own restart code
 * (" = ? ERESTART_RESTARTBLOCK", as strace shows it). */
static void result_text(int64_t result, char *buf, size_t size)
{
	static const char *const restarts[] = {"ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND",
					       "ENOIOCTLCMD", "ERESTART_RESTARTBLOCK"};
	if (result <= -512 && result >= -516) {
		snprintf(buf, size, " = ? %s", restarts[-result - 512]);
	} else if (result < 0 && result >= -4095) {
		const char *name = strerrorname_np((int)-result);
		if (name)
			snprintf(buf, size, " = -1 %s", name);
		else
			snprintf(buf, size, " = -1 errno %lld", (long long)-result);
	} else {
		snprintf(buf, size, " = %lld", (long long)result);
	}
}

static void print_longest(const struct profile *p, const bool *keep, const struct u64map *tids,
			  unsigned top)
{
	char dur[32], call[512], obj[400];
	if (p->n_events) {
		size_t n = p->n_events;
		uint64_t *key = xcalloc(n, sizeof(*key));
		for (size_t i = 0; i < n; i++)
			key[i] = p->events[i].duration_ns;
		size_t *idx = order_by(key, n);
		printf("Longest traced calls (at least %s each)\n",
		       fmt_duration(dur, sizeof(dur), p->tracing.threshold_ns));
		unsigned shown = 0;
		for (size_t i = 0; i < n && shown < top; i++) {
			const struct profile_event *e = &p->events[idx[i]];
			uint32_t unused;
			if (tids && !u64map_get(tids, (uint64_t)e->tid, &unused))
				continue;
			shown++;
			char res[64] = "";
			if (!e->unfinished)
				result_text(e->result, res, sizeof(res));
			printf("    %s  %s (%d)  %s%s%s\n",
			       fmt_duration(dur, sizeof(dur), e->duration_ns),
			       disp(profile_thread_name(profile_find_thread(p, e->tid))), e->tid,
			       call_text(p, e->syscall, e->args, e->object,
					 profile_event_wait_set(p, e), call, sizeof(call)),
			       res, e->unfinished ? "  (unfinished at the end)" : "");
			print_frames(p, e->stack, 6, "          ");
		}
		printf("\n");
		free(idx);
		free(key);
		return;
	}
	/* Episodes from consecutive samples of each thread; idle waits (a pool
	 * waiting for work) are not what a user looks for here. */
	struct episode *eps = NULL;
	size_t n_eps = 0, cap = 0;
	for (size_t t = 0; t < p->n_threads; t++) {
		int tid = p->threads[t].tid;
		struct episode cur = {0};
		for (size_t k = 0; k <= p->n_samples; k++) {
			const struct profile_sample *s = k < p->n_samples ? &p->samples[k] : NULL;
			if (s && (s->tid != tid || !keep[k]))
				continue;
			bool same = s && waiting(s) && cur.samples && s->syscall == cur.syscall &&
				    s->object == cur.object;
			if (same) {
				cur.samples++;
				continue;
			}
			if (cur.samples) {
				GROW(eps, cap, n_eps + 1);
				eps[n_eps++] = cur;
				cur.samples = 0;
			}
			if (s && waiting(s) && !idle_wait(p, s))
				cur = (struct episode){tid,	 s->t_ns,    1,
						       s->stack, s->syscall, s->object};
		}
	}
	if (!n_eps)
		return;
	qsort(eps, n_eps, sizeof(*eps), by_episode_len);
	printf("Longest waits (episodes: consecutive samples in one call on one object)\n");
	for (size_t i = 0; i < n_eps && i < top; i++) {
		const struct episode *e = &eps[i];
		printf("    %s  %s (%d)  %s", fmt_duration(dur, sizeof(dur), ns_of(p, e->samples)),
		       disp(profile_thread_name(profile_find_thread(p, e->tid))), e->tid,
		       syscall_name_or_number(e->syscall));
		if (e->object >= 0)
			printf(" on %s", object_text(p, e->object, obj, sizeof(obj)));
		printf("  (%llu samples from %.2f s)\n", (unsigned long long)e->samples,
		       (double)e->start_ns / 1e9);
		print_frames(p, e->stack, 6, "          ");
	}
	printf("\n");
	free(eps);
}

static int by_peer_samples(const void *a, const void *b)
{
	const struct peer_wait *x = a, *y = b;
	if (x->samples != y->samples)
		return (x->samples < y->samples) - (x->samples > y->samples);
	return (x->tid > y->tid) - (x->tid < y->tid);
}

size_t report_peer_waits(const struct profile *p, const bool *keep, struct peer_wait **out)
{
	/* Rows by (tid, peer); per row, samples by object to name the main
	 * one. Both keyed in hash maps: a pool's recording has many. */
	struct u64map rows, blocked, by_obj;
	u64map_init(&rows);
	u64map_init(&blocked);
	u64map_init(&by_obj);
	struct peer_wait *w = NULL;
	size_t n = 0, cap = 0;
	uint64_t *obj_counts = NULL;
	size_t n_counts = 0, cap_counts = 0;
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_sample *s = &p->samples[k];
		if ((keep && !keep[k]) || !waiting(s))
			continue;
		uint32_t b = 0;
		u64map_get(&blocked, (uint64_t)(uint32_t)s->tid, &b);
		u64map_put(&blocked, (uint64_t)(uint32_t)s->tid, b + 1);
		if (s->object < 0 || !p->objects[s->object].peer_pid)
			continue;
		int peer = p->objects[s->object].peer_pid;
		uint64_t key = (uint64_t)(uint32_t)s->tid << 32 | (uint32_t)peer;
		uint32_t row;
		if (!u64map_get(&rows, key, &row)) {
			w = xgrow(w, &cap, n + 1, sizeof(*w));
			w[n] = (struct peer_wait){.tid = s->tid, .peer = peer, .object = s->object};
			row = (uint32_t)n++;
			u64map_put(&rows, key, row);
		}
		w[row].samples++;
		/* The object's count within its row. */
		uint64_t okey = (uint64_t)row << 32 | (uint32_t)s->object;
		uint32_t at;
		if (!u64map_get(&by_obj, okey, &at)) {
			obj_counts =
				xgrow(obj_counts, &cap_counts, n_counts + 1, sizeof(*obj_counts));
			obj_counts[n_counts] = 0;
			at = (uint32_t)n_counts++;
			u64map_put(&by_obj, okey, at);
		}
		uint64_t c = ++obj_counts[at];
		uint32_t top_at;
		if (u64map_get(&by_obj, (uint64_t)row << 32 | (uint32_t)w[row].object, &top_at) &&
		    c > obj_counts[top_at])
			w[row].object = s->object;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t b = 0;
		u64map_get(&blocked, (uint64_t)(uint32_t)w[i].tid, &b);
		w[i].blocked = b;
	}
	if (n)
		qsort(w, n, sizeof(*w), by_peer_samples);
	u64map_release(&rows);
	u64map_release(&blocked);
	u64map_release(&by_obj);
	free(obj_counts);
	*out = w;
	return n;
}

/* "Waiting on other recorded processes": for each thread, the share of
 * its blocked time spent on each other process. */
static void print_peer_waits(const struct profile *p, const bool *keep, unsigned top)
{
	struct peer_wait *w;
	size_t n = report_peer_waits(p, keep, &w);
	if (n)
		printf("Waiting on other recorded processes (share of each thread's blocked time, "
		       "on a pipe or socket whose other end the process holds)\n");
	char dur[32], dur2[32], obj[400], title[80];
	for (size_t i = 0; i < n && i < top; i++) {
		const struct profile_thread *t = profile_find_thread(p, w[i].tid);
		const struct profile_process *pp = profile_find_process(p, w[i].peer);
		printf("    %s (%d): %.1f%% of %s blocked, %s, on process %d (%s) through %s\n",
		       disp(profile_thread_name(t)), w[i].tid,
		       100.0 * (double)w[i].samples / (double)(w[i].blocked ? w[i].blocked : 1),
		       fmt_duration(dur, sizeof(dur), ns_of(p, w[i].blocked)),
		       fmt_duration(dur2, sizeof(dur2), ns_of(p, w[i].samples)), w[i].peer,
		       disp(title_short(pp && pp->title && *pp->title ? pp->title : "?", title,
					sizeof(title))),
		       object_text(p, w[i].object, obj, sizeof(obj)));
	}
	if (n)
		printf("\n");
	free(w);
}

void report_waits(const struct profile *p, const bool *keep, unsigned top)
{
	struct u64map tids; /* threads selected: those with a kept sample */
	u64map_init(&tids);
	for (size_t k = 0; k < p->n_samples; k++)
		if (keep[k])
			u64map_put(&tids, (uint64_t)p->samples[k].tid, 1);
	print_syscalls(p, keep, top);
	print_objects(p, keep, top);
	print_peer_waits(p, keep, top);
	/* With no thread chosen, every traced call counts, even one of a
	 * process too short-lived to be sampled. */
	bool all = true;
	for (size_t k = 0; k < p->n_samples && all; k++)
		all = keep[k];
	print_longest(p, keep, all ? NULL : &tids, top);
	u64map_release(&tids);
}
