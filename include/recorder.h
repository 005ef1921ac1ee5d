/*
 * recorder.h: what recording accumulates: interned raw stacks, samples,
 * thread records and the run's own statistics. At the end,
 * recorder_finish() symbolizes the raw stacks and moves everything into a
 * profile.
 */
#ifndef WALLPROF_RECORDER_H
#define WALLPROF_RECORDER_H

#include <stdint.h>

#include "maps.h"
#include "profile.h"
#include "stacks.h"

struct recorder {
	struct stack_table stacks; /* raw lookup addresses, innermost first */
	struct profile_sample *samples;
	size_t n_samples, cap_samples;
	struct profile_thread *threads;
	size_t n_threads, cap_threads;
	uint32_t *stop_ns; /* every stop's duration, for p50/p99 */
	size_t n_stops, cap_stops;
	struct profile_stats stats;
};

void recorder_init(struct recorder *r);
void recorder_release(struct recorder *r);

/* A new thread record (tid, first name, first seen). Returns its index. */
uint32_t recorder_thread(struct recorder *r, int tid, const char *name, uint64_t t_ns);
/* Note a new name for a thread record, if it differs from its last one. */
void recorder_thread_rename(struct recorder *r, uint32_t info, const char *name);

void recorder_sample(struct recorder *r, uint32_t info, uint64_t t_ns, int tid, uint32_t stack,
		     uint8_t state, int16_t syscall);
void recorder_stop_time(struct recorder *r, uint64_t ns);

/* Symbolize and move the recording into p (metadata is the caller's). */
void recorder_finish(struct recorder *r, struct addrspace *as, struct profile *p);

#endif
