/*
 * attribute.h: what a thread's call works on, for the sample or event that
 * names it: the file, socket or pipe behind its descriptor, or the lock
 * behind its futex word and the thread that holds it (locks.h), as
 * recorder objects. Used by the sampler for blocked threads and by exact
 * tracing for each call.
 */
#ifndef WALLPROF_ATTRIBUTE_H
#define WALLPROF_ATTRIBUTE_H

#include <stdint.h>

#include "tracer.h"

/*
 * What a thread of ours in call nr with args works on: sets what->object
 * (-1 if nothing can be told) and what->owner (the lock holder, 0 if none).
 */
void attribute_call(struct tracer *tr, struct thread *t, long nr, const uint64_t *args,
		    struct activity *what);

/* The recorder object (file, socket, pipe...) behind descriptor fd of t's
 * process, -1 if it cannot be told. */
int32_t attribute_fd(struct tracer *tr, struct thread *t, int fd);

#endif
