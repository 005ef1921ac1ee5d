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
 * A thread's time on a CPU and waiting for one (schedstat deltas summed
 * over the recording), and its samples in state R, on a CPU so far: how
 * its R samples are split (sampler_classify).
 */
struct run_split {
	uint64_t run_ns, wait_ns;
	uint64_t samples, oncpu;
};

/* The sampler's state of one thread (thread.smp). */
struct sample_thread {
	/* The last sample, to reuse its stack when the thread has not run. */
	bool have_last;
	struct schedstat last_ss;
	uint32_t last_stack;
	struct activity last;
	struct syscall_state last_sc; /* the call as last observed (for dump) */

	/* The stop asked for (thread.want_stop): what the thread was doing
	 * when it was asked for. */
	struct activity pending;
	/* Ticks that came while the stop was on its way (a thread waiting
	 * for a CPU, or in uninterruptible sleep). It ran no user code
	 * meanwhile, so the stop's snapshot is its sample at each of them. */
	uint32_t owed;
	bool rebaseline; /* re-read schedstat after the stop: it was blocked */
	/* Seen running: its schedstat just before the interrupt (intr_ss),
	 * to account the time until a late stop to its run split. */
	bool decide_running;
	struct schedstat intr_ss;
	/* The call our stop interrupted; the kernel resumes some calls as
	 * restart_syscall, which is still that call to the user. */
	struct activity restarted; /* .syscall -1: none */

	/* The process-clock check: a quiet thread did not run at its last
	 * sample and is vouched for by one clock read per tick; base_run_ns
	 * is its on-CPU time at the last consistent clock read. */
	bool quiet;
	bool base_valid;
	uint64_t base_run_ns;
	bool have_pre; /* pre_ss read this tick, inside the clock window */
	struct schedstat pre_ss;

	/* --max-overhead: stop time it may still spend (token bucket). */
	int64_t budget_ns;
	mono_ns budget_t;

	struct run_split run_split; /* its R time and samples */
};

/* The sampler's state of one live process (proc.smp). */
struct sample_proc {
	/* The process CPU-time clock: the sum of every thread's on-CPU time.
	 * group_base_ns is its value at the last base. */
	clockid_t group_clock;
	int group_clock_state; /* 0 not opened yet, 1 usable, -1 unavailable */
	bool group_base_valid;
	uint64_t group_base_ns;
	timer_t group_timer; /* keeps the clock O(1) to read */
	bool group_timer_set;
	bool vouched; /* this tick: its quiet threads did not run */

	/* Its title and executable, read again after title_period (which
	 * doubles up to a second: a process sets its title soon after its
	 * fork, if ever). */
	mono_ns title_ns, title_period;
};

/* Sample the tracer's threads: call before any is added. */
void sampler_start(struct tracer *tr);

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

/* Take one sample of every thread. */
void sampler_tick(struct tracer *tr);

/*
 * For dump: the threads whose stop has not come (a long uninterruptible
 * wait) get a sample now, in the state they were seen in, with the pc
 * /proc gave (marked cut short) or no stack at all. Returns how many.
 */
size_t sampler_sample_late(struct tracer *tr);

/* Sampling is over: give back what the ticks hold in the kernel. */
void sampler_finish(struct tracer *tr);

#endif
