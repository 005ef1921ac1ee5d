/*
 * report.h: the pieces of `wallprof report` that live in their own files.
 */
#ifndef WALLPROF_REPORT_H
#define WALLPROF_REPORT_H

#include <stdbool.h>

#include "profile.h"

/*
 * Blocking syscalls, I/O by file and socket, lock waits by lock, and the
 * longest single waits (traced calls, or episodes of samples). keep[k]
 * says whether sample k is in the report (--thread); top limits each table.
 */
void report_waits(const struct profile *p, const bool *keep, unsigned top);

/* How much of a thread's blocked time it spent waiting on another
 * recorded process: samples blocked on a pipe or socket whose other end
 * that process holds (profile_object.peer_pid). */
struct peer_wait {
	int tid, peer;
	uint64_t samples; /* blocked on peer */
	uint64_t blocked; /* the thread's blocked samples, all told */
	int32_t object; /* the object it waited on most */
};

/* One row per thread and peer, largest first, into a malloc'ed *out (to
 * free): how many. keep as above, or NULL for every sample. */
size_t report_peer_waits(const struct profile *p, const bool *keep, struct peer_wait **out);

#endif
