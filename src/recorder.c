/*
 * recorder.c: accumulation during recording, and the hand-over to a profile
 * once the target has been let go. See recorder.h.
 */
#include "recorder.h"

#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "symbols.h"
#include "syscalls.h"
#include "util.h"

void recorder_init(struct recorder *r)
{
	memset(r, 0, sizeof(*r));
	stack_table_init(&r->stacks);
	strmap_init(&r->object_ids);
	strmap_init(&r->wait_set_ids);
}

void recorder_release(struct recorder *r)
{
	stack_table_release(&r->stacks);
	free(r->samples);
	for (size_t i = 0; i < r->n_threads; i++) {
		for (size_t k = 0; k < r->threads[i].n_names; k++)
			free(r->threads[i].names[k]);
		free(r->threads[i].names);
	}
	free(r->threads);
	free(r->stops.buckets);
	strmap_release(&r->object_ids);
	strmap_release(&r->wait_set_ids);
	for (size_t i = 0; i < r->n_wait_sets; i++)
		free(r->wait_sets[i]);
	free(r->wait_sets);
	for (size_t i = 0; i < r->n_objects; i++) {
		free(r->objects[i].kind);
		free(r->objects[i].name);
		free(r->objects[i].lock_kind);
	}
	free(r->objects);
	for (size_t i = 0; i < r->n_processes; i++) {
		free(r->processes[i].title);
		free(r->processes[i].exe);
	}
	free(r->processes);
	free(r->object_stack);
	free(r->object_owner);
	free(r->object_proc);
	if (r->acc)
		for (int i = 0; i < SYSCALL_SET_MAX; i++)
			free(r->acc[i].buckets);
	free(r->acc);
	free(r->events);
	memset(r, 0, sizeof(*r));
}

void recorder_process(struct recorder *r, int pid, const char *title, const char *exe)
{
	struct profile_process *pp = NULL;
	for (size_t i = r->n_processes; i-- > 0 && !pp;)
		if (r->processes[i].pid == pid)
			pp = &r->processes[i];
	if (!pp) {
		GROW(r->processes, r->cap_processes, r->n_processes + 1);
		pp = &r->processes[r->n_processes++];
		*pp = (struct profile_process){pid, xstrdup(""), xstrdup("")};
	}
	if (title && *title && strcmp(pp->title, title)) {
		free(pp->title);
		pp->title = xstrdup(title);
	}
	if (exe && *exe && strcmp(pp->exe, exe)) {
		free(pp->exe);
		pp->exe = xstrdup(exe);
	}
}

uint32_t recorder_thread(struct recorder *r, int tid, int pid, const char *name, uint64_t t_ns)
{
	GROW(r->threads, r->cap_threads, r->n_threads + 1);
	struct profile_thread *t = &r->threads[r->n_threads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pid = pid;
	t->first_ns = t->last_ns = t_ns;
	recorder_thread_rename(r, (uint32_t)r->n_threads, name);
	return (uint32_t)r->n_threads++;
}

void recorder_thread_rename(struct recorder *r, uint32_t info, const char *name)
{
	struct profile_thread *t = &r->threads[info];
	if (!name || !*name || (t->n_names && !strcmp(t->names[t->n_names - 1], name)))
		return;
	t->names = xrealloc(t->names, (t->n_names + 1) * sizeof(char *));
	t->names[t->n_names++] = xstrdup(name);
}

void recorder_stream(struct recorder *r, FILE *f, const struct profile_head *h)
{
	r->stream = f;
	profile_write_head(f, h);
}

void recorder_sample(struct recorder *r, uint32_t info, uint64_t t_ns, int tid, uint32_t stack,
		     uint8_t state, int16_t syscall, int32_t object, int32_t owner)
{
	struct profile_sample s = {t_ns, tid, stack, state, syscall, object, owner};
	uint32_t len;
	bool truncated;
	stack_values(&r->stacks, stack, &len, &truncated);
	r->stats.unwind_errors += truncated;
	if (object >= 0 && (size_t)object < r->n_objects) {
		if (r->object_stack[object] == UINT32_MAX)
			r->object_stack[object] = stack;
		if (!r->object_owner[object])
			r->object_owner[object] = owner;
	}
	if (r->stream) {
		profile_write_sample(r->stream, &s, r->n_streamed++ == 0);
	} else {
		GROW(r->samples, r->cap_samples, r->n_samples + 1);
		r->samples[r->n_samples++] = s;
	}
	struct profile_thread *t = &r->threads[info];
	if (t_ns > t->last_ns)
		t->last_ns = t_ns;
	t->samples++;
	r->stats.samples++;
}

int32_t recorder_object(struct recorder *r, const char *kind, const char *name, int fd,
			uint64_t address, uint32_t proc)
{
	return recorder_object_peer(r, kind, name, fd, address, proc, 0);
}

int32_t recorder_object_peer(struct recorder *r, const char *kind, const char *name, int fd,
			     uint64_t address, uint32_t proc, pid_t peer)
{
	char key[512];
	snprintf(key, sizeof(key), "%s\t%s\t%u\t%d", kind, name, proc, (int)peer);
	uint32_t id;
	if (strmap_get(&r->object_ids, key, &id))
		return (int32_t)id;
	GROW(r->objects, r->cap_objects, r->n_objects + 1);
	struct profile_object *o = &r->objects[r->n_objects];
	memset(o, 0, sizeof(*o));
	o->kind = xstrdup(kind);
	o->name = xstrdup(name);
	o->fd = fd;
	o->address = address;
	o->peer_pid = peer;
	size_t cap = r->cap_object_extra;
	GROW(r->object_stack, cap, r->n_objects + 1);
	cap = r->cap_object_extra;
	GROW(r->object_owner, cap, r->n_objects + 1);
	GROW(r->object_proc, r->cap_object_extra, r->n_objects + 1);
	r->object_proc[r->n_objects] = proc;
	r->object_stack[r->n_objects] = UINT32_MAX;
	r->object_owner[r->n_objects] = 0;
	strmap_put(&r->object_ids, key, (uint32_t)r->n_objects);
	return (int32_t)r->n_objects++;
}

void recorder_object_call(struct recorder *r, int32_t object, uint64_t duration_ns, uint64_t read,
			  uint64_t written)
{
	if (object < 0 || (size_t)object >= r->n_objects)
		return;
	struct profile_object *o = &r->objects[object];
	o->traced_calls++;
	o->traced_ns += duration_ns;
	o->bytes_read += read;
	o->bytes_written += written;
}

void recorder_object_bytes(struct recorder *r, int32_t object, uint64_t read, uint64_t written)
{
	if (object < 0 || (size_t)object >= r->n_objects)
		return;
	r->objects[object].bytes_read += read;
	r->objects[object].bytes_written += written;
}

unsigned latency_bucket(uint64_t ns)
{
	if (ns < 32)
		return (unsigned)ns;
	unsigned b = 63u - (unsigned)__builtin_clzll(ns); /* 5..63 */
	return 32 + (b - 5) * 32 + (unsigned)((ns >> (b - 5)) & 31);
}

uint64_t latency_value(unsigned idx)
{
	if (idx < 32)
		return idx;
	unsigned b = (idx - 32) / 32 + 5, sub = (idx - 32) % 32;
	uint64_t lo = (uint64_t)(32 + sub) << (b - 5), width = 1ull << (b - 5);
	return lo + width / 2;
}

static void acc_add(struct syscall_acc *a, uint64_t ns)
{
	if (!a->buckets)
		a->buckets = xcalloc(LATENCY_BUCKETS, sizeof(*a->buckets));
	a->count++;
	a->total_ns += ns;
	if (ns > a->max_ns)
		a->max_ns = ns;
	unsigned idx = latency_bucket(ns);
	a->buckets[idx < LATENCY_BUCKETS ? idx : LATENCY_BUCKETS - 1]++;
}

bool recorder_keeps(const struct recorder *r, uint64_t duration_ns)
{
	return duration_ns >= r->threshold_ns;
}

uint32_t recorder_wait_set(struct recorder *r, const char *text)
{
	return strmap_intern(&r->wait_set_ids, &r->wait_sets, &r->n_wait_sets, &r->cap_wait_sets,
			     text);
}

void recorder_syscall(struct recorder *r, const struct profile_event *e)
{
	if (e->syscall < 0 || e->syscall >= SYSCALL_SET_MAX)
		return;
	if (e->unfinished) {
		/* Not a call yet, so not counted; but a long wait is news. */
		if (recorder_keeps(r, e->duration_ns)) {
			GROW(r->events, r->cap_events, r->n_events + 1);
			r->events[r->n_events++] = *e;
		}
		return;
	}
	if (!r->acc)
		r->acc = xcalloc(SYSCALL_SET_MAX, sizeof(*r->acc));
	struct syscall_acc *a = &r->acc[e->syscall];
	acc_add(a, e->duration_ns);
	a->errors += e->result < 0 && e->result >= -4095;
	if (recorder_keeps(r, e->duration_ns)) {
		GROW(r->events, r->cap_events, r->n_events + 1);
		r->events[r->n_events++] = *e;
	}
}

static uint64_t acc_percentile(const struct syscall_acc *a, double q)
{
	uint64_t want = (uint64_t)(q * (double)(a->count - 1)) + 1, seen = 0;
	for (unsigned i = 0; i < LATENCY_BUCKETS; i++) {
		seen += a->buckets[i];
		if (seen >= want) {
			uint64_t v = latency_value(i);
			return v < a->max_ns ? v : a->max_ns;
		}
	}
	return a->max_ns;
}

/* Exact counts into the profile, most total time first. */
static int cmp_total(const void *a, const void *b)
{
	const struct profile_syscall *x = a, *y = b;
	return (x->total_ns < y->total_ns) - (x->total_ns > y->total_ns);
}

static void finish_syscalls(struct recorder *r, struct profile *p)
{
	if (!r->acc)
		return;
	p->syscalls = xcalloc(SYSCALL_SET_MAX, sizeof(*p->syscalls));
	for (int nr = 0; nr < SYSCALL_SET_MAX; nr++) {
		const struct syscall_acc *a = &r->acc[nr];
		if (!a->count)
			continue;
		p->syscalls[p->n_syscalls++] = (struct profile_syscall){nr,
									a->count,
									a->errors,
									a->total_ns,
									a->max_ns,
									acc_percentile(a, 0.50),
									acc_percentile(a, 0.99)};
	}
	qsort(p->syscalls, p->n_syscalls, sizeof(*p->syscalls), cmp_total);
}

void recorder_stop_time(struct recorder *r, uint64_t ns)
{
	acc_add(&r->stops, ns);
	if (ns > r->stats.stop_ns_max)
		r->stats.stop_ns_max = ns;
}

/* The kind of wait on stack id (symbolized) of profile p. */
static const char *classify_stack(const struct profile *p, uint32_t stack)
{
	if (stack >= p->n_stacks)
		return "futex";
	const struct profile_stack *s = &p->stacks[stack];
	const char *names[64];
	size_t n = 0;
	for (uint32_t k = 0; k < s->n && n < ARRAY_SIZE(names); k++)
		names[n++] = p->frames[s->frames[k]].function;
	return lock_classify(names, n);
}

/* Re-index p's (deduplicated) stacks by raw id: stacks[raw] = symbolized. */
static void index_by_raw(struct profile *p, const uint32_t *map, size_t n_raw)
{
	struct profile_stack *by_raw = xcalloc(n_raw ? n_raw : 1, sizeof(*by_raw));
	for (size_t i = 0; i < n_raw; i++) {
		const struct profile_stack *s = &p->stacks[map[i]];
		by_raw[i] = *s;
		by_raw[i].frames = xmalloc((s->n ? s->n : 1) * sizeof(uint32_t));
		memcpy(by_raw[i].frames, s->frames, s->n * sizeof(uint32_t));
	}
	for (size_t i = 0; i < p->n_stacks; i++)
		free(p->stacks[i].frames);
	free(p->stacks);
	p->stacks = by_raw;
	p->n_stacks = n_raw;
}

/* A join wait is named after the thread it waits for. */
static void name_join(struct recorder *r, int32_t id, struct profile_object *o)
{
	pid_t tid = r->object_owner[id];
	if (!tid)
		return;
	const char *name = "?";
	for (size_t i = 0; i < r->n_threads; i++)
		if (r->threads[i].tid == tid)
			name = profile_thread_name(&r->threads[i]);
	free(o->name);
	o->name = xasprintf("thread %s (%d)", name, (int)tid);
}

/*
 * Locks get their names (the variable holding the futex word) and kinds
 * (from the waiters' stacks: the kind seen most often wins), and owners are
 * kept only where the kind has an owner field we know how to read.
 */
static void name_locks(struct recorder *r, struct addrspace *const *spaces,
		       struct symbolizer **syms, size_t n_syms, struct profile *p)
{
	enum { N_KINDS = 16 };
	for (size_t i = 0; i < r->n_objects; i++) {
		struct profile_object *o = &r->objects[i];
		if (strcmp(o->kind, "lock"))
			continue;
		free(o->name);
		if (!n_syms)
			break;
		uint32_t proc = r->object_proc[i] < n_syms ? r->object_proc[i] : 0;
		if (!syms[proc])
			syms[proc] = symbolizer_new(spaces[proc]);
		o->name = symbolize_data(syms[proc], o->address);
		/* The first waiting sample's stack, and every traced wait's:
		 * the kind seen most often wins. */
		const char *kinds[N_KINDS];
		unsigned counts[N_KINDS] = {0}, n = 0;
		for (size_t k = 0; k <= r->n_events; k++) {
			uint32_t st = k < r->n_events ? (r->events[k].object == (int32_t)i
								 ? r->events[k].stack
								 : UINT32_MAX)
						      : r->object_stack[i];
			if (st == UINT32_MAX)
				continue;
			const char *kind = classify_stack(p, st);
			unsigned j = 0;
			while (j < n && strcmp(kinds[j], kind))
				j++;
			if (j == n && n < N_KINDS)
				kinds[n++] = kind;
			if (j < n)
				counts[j]++;
		}
		unsigned best = 0;
		for (unsigned j = 1; j < n; j++)
			if (counts[j] > counts[best])
				best = j;
		o->lock_kind = xstrdup(n ? kinds[best] : "futex");
		if (!strcmp(o->lock_kind, "join"))
			name_join(r, (int32_t)i, o);
	}
	/* Owners are kept only where the kind has one we know how to read;
	 * samples streamed out already keep theirs, and readers check the kind
	 * (lock_kind_has_owner). */
	for (size_t k = 0; k < r->n_samples; k++) {
		int32_t obj = r->samples[k].object;
		if (obj >= 0 && r->samples[k].owner &&
		    (!r->objects[obj].lock_kind || !lock_kind_has_owner(r->objects[obj].lock_kind)))
			r->samples[k].owner = 0;
	}
	for (size_t k = 0; k < r->n_events; k++) {
		int32_t obj = r->events[k].object;
		if (obj >= 0 && r->events[k].owner &&
		    (!r->objects[obj].lock_kind || !lock_kind_has_owner(r->objects[obj].lock_kind)))
			r->events[k].owner = 0;
	}
}

void recorder_finish(struct recorder *r, struct addrspace *const *spaces, size_t n_spaces,
		     struct profile *p)
{
	if (r->stops.count) {
		r->stats.stop_ns_p50 = acc_percentile(&r->stops, 0.50);
		r->stats.stop_ns_p99 = acc_percentile(&r->stops, 0.99);
	}

	mono_ns t0 = mono_now();
	/* A symbolizer per process with something to symbolize only: with
	 * -f a build may fork thousands. */
	struct symbolizer **syms = xcalloc(n_spaces ? n_spaces : 1, sizeof(*syms));
	uint32_t *map =
		symbolize_stacks(spaces, syms, n_spaces, &r->stacks, p, r->frames_by_address);
	index_by_raw(p, map, r->stacks.n);
	free(map);
	name_locks(r, spaces, syms, n_spaces, p);
	for (size_t i = 0; i < n_spaces; i++)
		symbolizer_free(syms[i]);
	free(syms);
	r->stats.symbolize_ns = mono_now() - t0;
	finish_syscalls(r, p);

	p->samples = r->samples;
	p->n_samples = r->stream ? r->n_streamed : r->n_samples;
	p->cap_samples = r->cap_samples;
	p->samples_streamed = r->stream != NULL;
	r->samples = NULL;
	r->n_samples = r->cap_samples = 0;
	p->threads = r->threads;
	p->n_threads = r->n_threads;
	r->threads = NULL;
	r->n_threads = r->cap_threads = 0;
	p->processes = r->processes;
	p->n_processes = r->n_processes;
	r->processes = NULL;
	r->n_processes = r->cap_processes = 0;
	p->objects = r->objects;
	p->n_objects = r->n_objects;
	r->objects = NULL;
	r->n_objects = r->cap_objects = 0;
	p->events = r->events;
	p->n_events = r->n_events;
	r->events = NULL;
	r->n_events = r->cap_events = 0;
	p->wait_sets = r->wait_sets;
	p->n_wait_sets = r->n_wait_sets;
	r->wait_sets = NULL;
	r->n_wait_sets = r->cap_wait_sets = 0;
	p->stats = r->stats;
}
