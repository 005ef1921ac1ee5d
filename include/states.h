/*
 * states.h: what a thread is doing in one sample, the first thing every
 * sample says (docs/states.md tells how each is decided). The profile
 * stores them by name, in this order.
 */
#ifndef WALLPROF_STATES_H
#define WALLPROF_STATES_H

/* What a thread is doing in one sample. The order is the profile's. */
enum sample_state {
	ST_ONCPU, /* running on a CPU */
	ST_RUNNABLE, /* ready, waiting for a CPU */
	ST_SYSCALL, /* interruptible wait in a syscall (I/O, poll, ...) */
	ST_LOCK, /* futex wait: mutex, condition variable, join, ... */
	ST_SLEEP, /* nanosleep, clock_nanosleep, pause */
	ST_DISK, /* uninterruptible wait (D), mostly disk I/O */
	ST_STOPPED, /* job-control stop (SIGSTOP, Ctrl-Z) */
	ST_OTHER,
	ST__COUNT
};

/* "on-cpu", "runnable", "syscall", "lock", "sleep", "disk", "stopped", "other" */
const char *state_name(enum sample_state st);
/* Inverse of state_name; -1 if unknown. */
int state_from_name(const char *name);

#endif
