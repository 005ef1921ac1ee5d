/*
 * tracer.h: the ptrace layer. The tracer seizes a process (or launches
 * one), keeps a table of its threads and processes, handles every ptrace
 * stop (re-injecting signals, LISTEN for group-stops, clone, fork and exec
 * events, the repair of calls its own interrupts cut short), and stops a
 * thread on request just long enough to read its registers and copy its
 * stack. What is done with that is its clients' business: the sampler and
 * exact tracing sit above it and hear of its events through struct
 * tracer_client; the tracer calls no module above it.
 *
 * All ptrace calls come from one thread, the tracer thread: from any other
 * they fail with ESRCH. When that thread exits, the kernel detaches every
 * tracee without stopping it, which is how wallprof detaches from an
 * attached process without ever interrupting a blocked call
 * (docs/architecture.md).
 */
#ifndef WALLPROF_TRACER_H
#define WALLPROF_TRACER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>
#include <time.h>

#include "fds.h"
#include "maps.h"
#include "procfs.h"
#include "recorder.h"
#include "repair.h"
#include "symbols.h"
#include "syscalls.h"
#include "unwind.h"
#include "util.h"

/* What a thread is doing in one sample, besides its stack. */
struct activity {
	uint8_t state; /* enum sample_state */
	int16_t syscall; /* -1 if none */
	int32_t object; /* recorder object it waits on, -1 if none */
	int32_t owner; /* holder of the lock it waits for, 0 if none */
};

#define INFO_NONE UINT32_MAX

struct sample_proc; /* the sampler's, per process (sampler.h) */
struct sample_thread; /* the sampler's, per thread (sampler.h) */
struct event_thread; /* exact tracing's, per thread (events.h) */
struct event_config;
struct sock_fprog;

/*
 * One process whose threads are sampled: the target, and with -f each
 * process it forks. An exec starts a new one (same pid, new index): what
 * was sampled before it is symbolized against the program of its time.
 * Raw stacks begin with the index of their process (snapshot.h).
 */
struct proc {
	pid_t pid;
	uint32_t index; /* in tracer.procs */
	bool gone; /* exited or exec'd: kept for symbolization only */
	bool compat32; /* a 32-bit program (exec'd by the target): states only */
	bool other_pidns; /* in another PID namespace: its threads' ids differ there */
	struct addrspace as;
	struct fd_table fds; /* its descriptors, for attribution */
	struct unwinder *uw;
	struct sample_proc *smp; /* NULL once gone */
};

struct thread {
	pid_t tid;
	struct proc *proc; /* NULL for a foreign thread */
	struct thread *hash_next;
	size_t index; /* in tracer.threads */
	int fd_stat, fd_schedstat, fd_syscall; /* /proc files kept open; -1 until opened */
	pid_t ns_tid; /* its id in its process's PID namespace, 0 until read */
	/* The pipe or socket it waits on has no known other end yet: look
	 * again (attribute_call) from then on; 0 if not. */
	mono_ns peer_retry_at;
	uint32_t info; /* its recorder thread record, INFO_NONE until its first sample */
	char comm[64];

	/* A stop we asked for (tracer_request_stop) and have not seen yet,
	 * and when we asked. */
	bool want_stop;
	mono_ns stop_t0;
	/* An interrupt of ours may be pending (a sample or arming): the next
	 * intr_stops stops are checked for what it did to the call the thread
	 * was in (repair.h). Two: a stop already under way when we sent it
	 * does not end it; the stop after that does. intr_entries: every stop
	 * since was a call's entry; intr_exit: that call's exit is checked too
	 * (tracer_stop_is_ours). */
	uint8_t intr_stops;
	bool intr_entries, intr_exit;
	struct repair repair;
	size_t copy_window; /* bytes of stack to copy at its next stop, 0 = all */

	/* A foreign thread belongs to a child process, followed only so that
	 * its traced calls are serviced. */
	bool foreign;
	bool arming; /* interrupted once to switch it to PTRACE_SYSCALL */
	bool syscall_stops; /* last resumed with PTRACE_SYSCALL */
	bool group_stopped; /* resumed with PTRACE_LISTEN */

	struct sample_thread *smp; /* the sampler's state of it */
	struct event_thread *ev; /* exact tracing's, NULL without */
};

struct tracer;

/*
 * What the layers above the tracer do at its events. The tracer handles
 * every stop and resumes the thread; a client is told, in this order, and
 * each hook may be NULL. Two clients: the sampler and exact tracing.
 */
struct tracer_client {
	/* A thread or process is new (its state is made here), or gone. */
	void (*thread_new)(struct tracer *tr, struct thread *t);
	void (*thread_gone)(struct tracer *tr, struct thread *t);
	void (*proc_new)(struct tracer *tr, struct proc *pr);
	void (*proc_gone)(struct tracer *tr, struct proc *pr);
	/* t exec'd: its samples so far belong to its old program. */
	void (*exec)(struct tracer *tr, struct thread *t);
	/* The stop asked for came and is still on: regs read, the stack
	 * copied into tr->stack (empty for a 32-bit thread). */
	void (*captured)(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs);
	/* A stop our interrupt caused (the attach's, a sample's, an arming),
	 * with its registers as the stop found them; rewound: repair.c set
	 * the call it cut with EINTR to run again. Before t resumes. */
	void (*interrupted)(struct tracer *tr, struct thread *t,
			    const struct user_regs_struct *regs, bool rewound);
	/* A seccomp stop, or a syscall stop (repaired: one where an interrupt
	 * of ours ended the call and repair.c set it to run again): the
	 * request to resume with. */
	int (*seccomp_stop)(struct tracer *tr, struct thread *t);
	int (*syscall_stop)(struct tracer *tr, struct thread *t, bool repaired);
	/* The request to resume t with after any other stop. */
	int (*resume_request)(const struct tracer *tr, const struct thread *t);
	/* t runs again; regs as captured if the stop was one asked for. */
	void (*resumed)(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs);
};

#define THREAD_BUCKETS 4096

struct tracer {
	pid_t pid; /* the first process given or launched */
	pid_t *roots; /* every process given or launched; -1 once ended */
	size_t n_roots, cap_roots, roots_live;
	bool child_warned; /* said that a child could not be attached (-f) */
	bool launched;
	struct thread **threads;
	size_t n_threads, cap_threads;
	struct thread *buckets[THREAD_BUCKETS];

	struct proc **procs; /* every process seen, gone ones too */
	size_t n_procs;
	struct proc *main; /* the live process with pid tr->pid */
	bool follow_forks; /* -f: sample forked children as well */
	struct recorder *rec;
	struct stack_copy *stack; /* scratch copy for the snapshot in progress */
	mono_ns start;
	mono_ns interval_ns; /* between ticks */

	/* Exact tracing, NULL if none (events.h). */
	struct event_config *events;
	/* Exact tracing by seccomp: the filter a launched command installs
	 * before its exec; its children inherit it and are followed. */
	const struct sock_fprog *child_filter;
	/* Every close and dup2 of the processes is seen (exact tracing by
	 * seccomp or PTRACE_SYSCALL): a descriptor's object may be cached. */
	bool sees_every_close;
	/* When the last seccomp or syscall stop came, 0 = never: another
	 * usually follows within microseconds (tracer_drain). */
	mono_ns syscall_stop_ns;

	const struct tracer_client *clients[2]; /* the sampler, exact tracing */
	double max_overhead; /* --max-overhead as a fraction; 0: no limit */

	/* Stack ids of the pseudo-addresses (snapshot.h); +1, 0 = none yet. */
	uint32_t marker_stacks[STACK_EXEC_ADDR + 1];

	bool ptrace_warned; /* said that the command's own ptrace fails */
	bool foreign_data_warned; /* said that the command's filter uses our data */
	bool warned_32bit; /* said that a process runs a 32-bit program */
	bool passive; /* recording is over: resume stops, sample nothing */
	bool target_exited;
	int exit_status; /* wallprof's exit status for a launched command */
	int term_signal; /* the signal that killed the command, 0 if none */
};

void tracer_init(struct tracer *tr, struct recorder *rec);
/* Run the calling (tracer) thread SCHED_FIFO at priority; -1 and errno
 * if not permitted. */
int tracer_set_realtime(int priority);
void tracer_release(struct tracer *tr);

/*
 * Seize every thread of pid, and with -f (follow_forks) every process it
 * has forked and they have, as they are now. May be called for several
 * processes: recording ends when all have ended. On failure prints why
 * (with a hint) and returns -1.
 */
int tracer_attach(struct tracer *tr, pid_t pid);

/*
 * Fork and exec argv under ptrace (PTRACE_O_EXITKILL): the child stops
 * itself, is seized, continued, and execs; returns once the exec event has
 * been seen. orig_mask is restored in the child before exec. On failure
 * returns the exit code to use (126, 127 or 2) after printing why.
 */
int tracer_launch(struct tracer *tr, char *const argv[], const sigset_t *orig_mask);

/* Handle every pending ptrace event without blocking. */
void tracer_drain(struct tracer *tr);
/* Handle events until no requested stop is outstanding, or timeout. */
void tracer_wait_pending(struct tracer *tr, mono_ns timeout_ns);
/*
 * Before detaching: handle events until no call we continued is still on
 * its way to its exit stop (repair.h), or timeout; says which are left.
 */
void tracer_settle(struct tracer *tr, mono_ns timeout_ns);

struct thread *tracer_find(struct tracer *tr, pid_t tid);

/* Add a client (tracer_client) for the tracer's events. */
void tracer_add_client(struct tracer *tr, const struct tracer_client *c);

/*
 * Is this stop of t one an interrupt of ours may have shaped (intr_stops,
 * intr_entries, intr_exit)? Any stop satisfies a pending interrupt: the
 * first stop that begins after it clears the trap, and one already under
 * way when it was sent does not, hence two stops. But the signal-pending
 * flag the interrupt raised outlives a stop at a call's entry (its
 * syscall-entry stop, then its seccomp stop): the call then runs with it
 * and ends early where it would block, so that call's exit stop is ours
 * too (seen: entry, seccomp, then a pipe write cut at 64 KiB). Only while
 * every stop since the interrupt was an entry stop: any other stop (a
 * signal, a clone event) either took the trap itself or is followed by the
 * interrupt stop, never by a call's entry. After an exit stop the thread
 * returns to user mode, which takes a trap still pending as an interrupt
 * stop before any other call: nothing after an exit stop is ours any more,
 * that interrupt stop included, whose registers show the call the exit
 * stop showed. event as waitpid gave it; syscall_op
 * PTRACE_SYSCALL_INFO_ENTRY or _EXIT at a syscall stop, else
 * PTRACE_SYSCALL_INFO_NONE. Updates t's state.
 */
bool tracer_stop_is_ours(struct thread *t, int event, int syscall_op);
/* A PTRACE_INTERRUPT of t was sent: the stops after it are checked. */
void tracer_interrupt_sent(struct thread *t);

/*
 * Ask t to stop (PTRACE_INTERRUPT): its stop is handled as it comes, the
 * clients told at it (captured). False if t is gone.
 */
bool tracer_request_stop(struct tracer *tr, struct thread *t);
/*
 * Take the stops asked for of these threads as they come, for at most
 * timeout_ns (a running thread stops within microseconds; the tracer polls
 * for them, within a cap per tick). Returns how many have not come yet:
 * they are taken when they arrive, by tracer_drain.
 */
size_t tracer_take_stops(struct tracer *tr, const pid_t *tids, size_t n, mono_ns timeout_ns);

/* Interrupt every thread that can be interrupted safely, so that it runs on
 * under PTRACE_SYSCALL (exact tracing of an attached process). */
void tracer_arm_syscalls(struct tracer *tr);

/* Say once, before it happens, that a process given or launched calls
 * ptrace and would fail to trace itself (or, with -f, its children): for
 * when no syscall is traced and the call itself cannot be seen. */
void tracer_warn_ptrace_users(struct tracer *tr);

/* Open the per-thread /proc files; false if the thread is gone. */
bool thread_open_proc(struct tracer *tr, struct thread *t);

/* The thread a process is read through (tracer_io_pid) exited or is a
 * zombie: read it through another of its threads. */
void proc_reread_through(struct tracer *tr, struct proc *pr, const struct thread *gone);

/* The unwinder of a process, made on first use. */
struct unwinder *proc_unwinder(struct proc *pr);

/* Where the target's /proc files are read: its pid, or a live thread of it
 * if its main thread has exited (a zombie has no maps, fds or cmdline). */
pid_t tracer_io_pid(const struct tracer *tr);

/* The address space of each process, by index (malloc'ed array). */
struct addrspace **tracer_spaces(const struct tracer *tr);

#endif
