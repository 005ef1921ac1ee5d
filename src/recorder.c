/*
 * recorder.c: accumulation during recording, and the hand-over to a profile
 * once the target has been let go. See recorder.h.
 */
#include "recorder.h"

#include <stdlib.h>
#include <string.h>

#include "symbols.h"
#include "util.h"

void recorder_init(struct recorder *r)
{
	memset(r, 0, sizeof(*r));
	stack_table_init(&r->stacks);
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
	free(r->stop_ns);
	memset(r, 0, sizeof(*r));
}

uint32_t recorder_thread(struct recorder *r, int tid, const char *name, uint64_t t_ns)
{
	GROW(r->threads, r->cap_threads, r->n_threads + 1);
	struct profile_thread *t = &r->threads[r->n_threads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
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

void recorder_sample(struct recorder *r, uint32_t info, uint64_t t_ns, int tid, uint32_t stack,
		     uint8_t state, int16_t syscall)
{
	GROW(r->samples, r->cap_samples, r->n_samples + 1);
	r->samples[r->n_samples++] = (struct profile_sample){t_ns, tid, stack, state, syscall};
	struct profile_thread *t = &r->threads[info];
	if (t_ns > t->last_ns)
		t->last_ns = t_ns;
	t->samples++;
	r->stats.samples++;
}

void recorder_stop_time(struct recorder *r, uint64_t ns)
{
	GROW(r->stop_ns, r->cap_stops, r->n_stops + 1);
	r->stop_ns[r->n_stops++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	r->stats.stops++;
	if (ns > r->stats.stop_ns_max)
		r->stats.stop_ns_max = ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static uint64_t percentile(const uint32_t *sorted, size_t n, double q)
{
	if (!n)
		return 0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return sorted[i];
}

void recorder_finish(struct recorder *r, struct addrspace *as, struct profile *p)
{
	if (r->n_stops)
		qsort(r->stop_ns, r->n_stops, sizeof(*r->stop_ns), cmp_u32);
	r->stats.stop_ns_p50 = percentile(r->stop_ns, r->n_stops, 0.50);
	r->stats.stop_ns_p99 = percentile(r->stop_ns, r->n_stops, 0.99);

	struct symbolizer *sym = symbolizer_new(as);
	uint32_t *map = symbolize_stacks(sym, &r->stacks, p);
	symbolizer_free(sym);
	for (size_t i = 0; i < r->n_samples; i++) {
		r->samples[i].stack = map[r->samples[i].stack];
		if (p->stacks[r->samples[i].stack].truncated)
			r->stats.unwind_errors++;
	}
	free(map);

	p->samples = r->samples;
	p->n_samples = r->n_samples;
	p->cap_samples = r->cap_samples;
	r->samples = NULL;
	r->n_samples = r->cap_samples = 0;
	p->threads = r->threads;
	p->n_threads = r->n_threads;
	r->threads = NULL;
	r->n_threads = r->cap_threads = 0;
	p->stats = r->stats;
}
