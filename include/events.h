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

#include "profile.h"
#include "syscalls.h"
#include "tracer.h"
#include "util.h"
#include "waitset.h"

/* How many descriptors of a traced wait's set its event names. */
#define EVENT_SET_SHOWN 8
/* An epoll interest list longer than EVENT_EPOLL_LARGE is read again at
 * most every EVENT_EPOLL_REREAD_NS: the kernel prints all of it at every
 * read of its fdinfo, milliseconds for a server's thousands. */
#define EVENT_EPOLL_LARGE 64
#define EVENT_EPOLL_REREAD_NS (1000 * 1000 * 1000ULL)
#define EVENT_EPOLL_MEMO 64

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

	/* While recording: a traced call's stack, copied at its exit stop
	 * and unwound once the thread runs again. */
	struct stack_copy *stack;
	struct user_regs_struct regs;
	struct profile_event pending;
	pid_t pending_tid; /* 0: nothing pending */
	bool pending_set; /* its epoll set is read then too */
	/* Large epoll interest lists as last read (wait_set_of), by process
	 * and descriptor: direct-mapped. */
	struct epoll_memo {
		pid_t pid;
		int epfd;
		mono_ns at;
		uint32_t set;
	} epoll_memo[EVENT_EPOLL_MEMO];
};

/* The call a thread is in, between its entry and exit stops. */
struct open_event {
	bool open;
	bool restarting; /* exit said -ERESTART*: the call goes on */
	int64_t restart_rval; /* what that exit said, and when */
	mono_ns restart_at;
	int16_t nr;
	uint64_t args[6];
	mono_ns t0;
	int32_t object, owner;
	char path[256]; /* the path it names, read at its entry; "" if none */
	/* select and pselect6: the sets at entry (the call overwrites them
	 * with its result); set_read < 0 if they could not be read. */
	struct wait_fd set[EVENT_SET_SHOWN];
	int set_read;
	size_t set_total;
};

/* Exact tracing's state of one thread (thread.ev). */
struct event_thread {
	struct open_event call;
	bool attribute; /* look up what the open call works on, after resume */
	/* TRACE_WATCH: the thread was seen in a futex wait at the tick
	 * watch_t0, waiting on that object, held by that owner; the stop
	 * asked for follows it (events_watch). */
	bool watch_wait;
	mono_ns watch_t0;
	uint64_t watch_uaddr; /* the futex word it waited on */
	int32_t watch_object, watch_owner;
};

/*
 * Compile the filter for cfg into cfg->prog (libseccomp, exported as BPF so
 * the child only has to install it). On failure prints why and returns -1.
 */
int events_compile(struct event_config *cfg);
void events_config_release(struct event_config *cfg);

/* Is the seccomp filter mechanism available on this kernel? */
bool events_seccomp_available(void);

/*
 * Trace the tracer's threads as cfg says (method chosen, filter compiled):
 * call before any thread is added. A launched command gets cfg's filter.
 */
void events_start(struct tracer *tr, struct event_config *cfg);

/* The call t is in, between its entry and exit stops; NULL if none. */
const struct open_event *events_open_call(const struct thread *t);

/*
 * TRACE_WATCH: t was seen at the tick in a futex wait, on what->object held
 * by what->owner. The stop asked for next interrupts the wait (the kernel
 * restarts it) and it is followed with PTRACE_SYSCALL to its exit, its
 * start being that tick. If the wait ended before the stop, nothing is
 * followed. If by then it waits on another futex word than uaddr (a
 * barrier, then the mutex after it), that wait is followed from the stop,
 * on its own object, if it is a lock wait.
 */
void events_watch(struct thread *t, mono_ns tick, uint64_t uaddr, const struct activity *what);

/* At the end of recording: close calls still open, as unfinished. */
void events_finish_open(struct tracer *tr);

#endif
