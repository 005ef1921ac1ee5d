/*
 * events.h: exact tracing of syscalls and lock waits (record --syscalls,
 * --locks). Sampling says where time went on average; events say exactly
 * how many calls, how long each, with what arguments and from where.
 *
 * A launched command gets a seccomp filter (libseccomp, loaded in the child
 * between fork and exec) that returns SCMP_ACT_TRACE for the traced calls
 * and allows the rest at full speed; each traced call costs a seccomp stop
 * at entry and a syscall-exit stop (PTRACE_SYSCALL) at exit. An attached
 * process cannot be given a filter, so every syscall of every thread stops
 * twice (PTRACE_SYSCALL), as under strace.
 *
 * The entry records time, arguments and what the call works on (file,
 * socket, lock and its owner); the exit records the result and duration,
 * and, for calls longer than the threshold, the stack, which at a
 * syscall-exit stop is still the stack of the call.
 */
#ifndef WALLPROF_EVENTS_H
#define WALLPROF_EVENTS_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/user.h>

#include "syscalls.h"
#include "util.h"

struct tracer;
struct thread;

/*
 * How calls are seen. TRACE_WATCH (attached --locks alone): no call is
 * stopped at; a futex wait the sampler sees at a tick is interrupted once
 * (the kernel restarts it) and followed with PTRACE_SYSCALL to its exit,
 * so its end is exact and its start is that tick.
 */
enum trace_method { TRACE_NONE, TRACE_SECCOMP, TRACE_PTRACE, TRACE_WATCH };

struct event_config {
	enum trace_method method;
	struct syscall_set set; /* traced syscalls (--syscalls) */
	bool syscalls; /* --syscalls given */
	bool locks; /* --locks: futex waits */
	uint64_t threshold_ns; /* keep events at least this long */
	struct sock_fprog prog; /* the compiled filter (seccomp method) */
};

/* The call a thread is in, between its entry and exit stops. */
struct open_event {
	bool open;
	bool restarting; /* exit said -ERESTART*: the call goes on */
	int16_t nr;
	uint64_t args[6];
	mono_ns t0;
	int32_t object, owner;
	char path[256]; /* the path it names, read at its entry; "" if none */
};

/*
 * Compile the filter for cfg into cfg->prog (libseccomp, exported as BPF so
 * the child only has to install it). On failure prints why and returns -1.
 */
int events_compile(struct event_config *cfg);
void events_config_release(struct event_config *cfg);

/*
 * In the launched child, after the tracer has seized it: install the
 * filter. Async-signal-safe (no allocation). Returns 0 or -errno.
 */
int events_install_filter(const struct event_config *cfg);

/* Is the seccomp filter mechanism available on this kernel? */
bool events_seccomp_available(void);

/*
 * Handle a seccomp stop or a syscall stop (SIGTRAP|0x80) of t. Returns the
 * ptrace request to resume it with (PTRACE_SYSCALL or PTRACE_CONT). May
 * leave a stack to unwind in t's deferred event (events_after_resume).
 */
int events_on_seccomp(struct tracer *tr, struct thread *t);
int events_on_syscall_stop(struct tracer *tr, struct thread *t);
/* The request to resume t with after any other stop. */
int events_resume_request(const struct tracer *tr, const struct thread *t);
/* Finish what a stop deferred until t runs again (the unwind). */
void events_after_resume(struct tracer *tr, struct thread *t);
/* At the end of recording: close calls still open, as unfinished. */
void events_finish_open(struct tracer *tr);

/*
 * TRACE_WATCH: t, seen in a futex wait at the tick t->watch_t0, is at the
 * stop that tick asked for, with regs. If the stop interrupted the wait
 * (the kernel restarts it), follow it to its exit: open the event. If the
 * wait had ended before the stop came, there is nothing to follow.
 */
void events_watch_begin(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs);

/* Does wallprof see every close and dup2 of the processes (so that a
 * descriptor's object may be cached)? */
bool events_see_every_close(const struct tracer *tr);

#endif
