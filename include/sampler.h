/*
 * sampler.h: one sampling round ("tick"): every thread gets a sample,
 * taken in the cheapest way that is still exact:
 *
 *  1. reuse: the thread has not run since its last sample (same on-CPU
 *     time and timeslice count in schedstat, same syscall, sp and pc):
 *     its last stack is still its stack. No stop, no copy.
 *  2. no stop: the thread is blocked in a syscall; /proc/TID/syscall gives
 *     its sp and pc, process_vm_readv a copy of its stack, and the unwind
 *     runs on that. Threads in calls that would leak EINTR (epoll_wait and
 *     friends) are only ever sampled this way.
 *  3. stop: PTRACE_INTERRUPT, GETREGS, one stack copy, resume; unwind
 *     after. For running threads, and blocked ones whose no-stop unwind
 *     failed while they sit in a call known to restart transparently.
 */
#ifndef WALLPROF_SAMPLER_H
#define WALLPROF_SAMPLER_H

#include "tracer.h"

/*
 * The state of a thread from its /proc state letter and syscall. For 'R'
 * (on a CPU or waiting for one) from how its time split between the two
 * over the recording: *split, to which the schedstat deltas since prev are
 * added (NULL prev: the first sample). 't' (a stop of ours) is decided by
 * the caller.
 */
enum sample_state sampler_classify(char state, const struct syscall_state *sc,
				   struct run_split *split, const struct schedstat *prev,
				   const struct schedstat *now);

/* Add the schedstat deltas from..to to a thread's split. */
void run_split_add(struct run_split *r, const struct schedstat *from, const struct schedstat *to);

/* One more R sample of t, its split brought up to date by the caller. */
enum sample_state sampler_run_state(struct thread *t);

/* Would PTRACE_INTERRUPT + CONT leave this blocked call undisturbed? */
bool sampler_interrupt_is_safe(pid_t pid, char state, const struct syscall_state *sc);

/* Read a process's title and executable into the recording, unless it was
 * read less than its title period ago. */
void sampler_read_identity(struct tracer *tr, struct proc *pr, mono_ns now);

/* Take one sample of every thread. */
void sampler_tick(struct tracer *tr);

/* Sampling is over: give back what the ticks hold in the kernel. */
void sampler_finish(struct tracer *tr);
/* The same for one process (it exec'd). */
void sampler_finish_proc(struct proc *pr);

#endif
