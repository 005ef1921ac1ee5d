/*
 * tracer.h: the ptrace side of recording. The tracer seizes a process (or
 * launches one), keeps a table of its threads, handles every ptrace stop
 * (re-injecting signals, LISTEN for group-stops, clone and exec events),
 * and takes snapshots: a stop of one thread just long enough for GETREGS and
 * one copy of its stack.
 *
 * All ptrace calls come from one thread, the tracer thread (FACTS.md: from
 * any other they fail with ESRCH). When that thread exits, the kernel
 * detaches every tracee without stopping it, which is how wallprof detaches
 * from an attached process without ever interrupting a blocked call.
 */
#ifndef WALLPROF_TRACER_H
#define WALLPROF_TRACER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>
#include <time.h>

#include "events.h"
#include "fds.h"
#include "maps.h"
#include "procfs.h"
#include "recorder.h"
#include "repair.h"
#include "syscalls.h"
#include "unwind.h"
#include "util.h"

/*
 * A thread's time on a CPU and waiting for one (schedstat deltas summed
 * over the recording), and its samples in state R, on a CPU so far: how
 * its R samples are split (sampler.c).
 */
struct run_split {
	uint64_t run_ns, wait_ns;
	uint64_t samples, oncpu;
};

/* What a thread is doing in one sample, besides its stack. */
struct activity {
	uint8_t state; /* enum sample_state */
	int16_t syscall; /* -1 if none */
	int32_t object; /* recorder object it waits on, -1 if none */
	int32_t owner; /* holder of the lock it waits for, 0 if none */
};

/*
 * One process whose threads are sampled: the target, and with -f each
 * process it forks. An exec starts a new one (same pid, new index): what
 * was sampled before it is symbolized against the program of its time.
 * Raw stacks begin with the index of their process (tracer_intern_stack).
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

	/* The process CPU-time clock: the sum of every thread's on-CPU time
	 * (see sampler.c). group_base_ns is its value at the last base. */
	clockid_t group_clock;
	int group_clock_state; /* 0 not opened yet, 1 usable, -1 unavailable */
	bool group_base_valid;
	uint64_t group_base_ns;
	timer_t group_timer; /* keeps the clock O(1) to read, see sampler.c */
	bool group_timer_set;
	bool vouched; /* this tick: its quiet threads did not run */

	/* Its title and executable, read again after title_period (which
	 * doubles up to a second: a process sets its title soon after its
	 * fork, if ever). */
	mono_ns title_ns, title_period;
};

struct thread {
	pid_t tid;
	struct proc *proc; /* NULL for a foreign thread */
	struct thread *hash_next;
	size_t index; /* in tracer.threads */
	int fd_stat, fd_schedstat, fd_syscall; /* /proc files kept open; -1 until opened */
	pid_t ns_tid; /* its id in its process's PID namespace, 0 until read */
	uint32_t info; /* recorder thread record */
	char comm[64];

	/* The last sample, to reuse its stack when the thread has not run. */
	bool have_last;
	struct schedstat last_ss;
	uint32_t last_stack;
	struct activity last;
	struct syscall_state last_sc; /* the call as last observed (for dump) */

	/* A stop we asked for (PTRACE_INTERRUPT) and have not seen yet. */
	bool want_stop;
	/* An interrupt of ours may be pending (a sample or arming): the next
	 * intr_stops stops are checked for what it did to the call the thread
	 * was in (repair.h). Two: a stop already under way when we sent it
	 * does not end it; the stop after that does. */
	uint8_t intr_stops;
	struct repair repair;
	mono_ns stop_t0;
	/* Ticks that came while the stop was on its way (a thread waiting for
	 * a CPU, or in uninterruptible sleep). It ran no user code meanwhile,
	 * so the stop's snapshot is its sample at each of them too. */
	uint32_t owed;
	struct activity pending;
	bool rebaseline; /* re-read schedstat after the stop: it was blocked */
	/* Seen running: its schedstat just before the interrupt (intr_ss),
	 * to account the time until a late stop to its run split. */
	bool decide_running;
	struct schedstat intr_ss;
	/* The call our stop interrupted; the kernel resumes some calls as
	 * restart_syscall, which is still that call to the user. */
	struct activity restarted; /* .syscall -1: none */

	/* The process-clock check (sampler.c): a quiet thread did not run at
	 * its last sample and is vouched for by one clock read per tick;
	 * base_run_ns is its on-CPU time at the last consistent clock read. */
	bool quiet;
	bool base_valid;
	uint64_t base_run_ns;
	bool have_pre; /* pre_ss read this tick, inside the clock window */
	struct schedstat pre_ss;

	/* Exact tracing (events.c). A foreign thread belongs to a child
	 * process, followed only so that its traced calls are serviced. */
	struct open_event ev;
	bool ev_restart_block; /* the open call resumes as restart_syscall */
	bool ev_attribute; /* look up what the open call works on, after resume */
	bool foreign;
	bool arming; /* interrupted once to switch it to PTRACE_SYSCALL */
	bool syscall_stops; /* last resumed with PTRACE_SYSCALL */
	bool watch_wait; /* TRACE_WATCH: stopped to follow its futex wait */
	mono_ns watch_t0; /* the tick that saw that wait */

	/* --max-overhead: stop time this thread may still spend (token bucket). */
	int64_t budget_ns;
	mono_ns budget_t;

	bool group_stopped; /* resumed with PTRACE_LISTEN */
	struct run_split run_split; /* its R time and samples (sampler.c) */
	size_t copy_window; /* bytes of stack to copy at its next stop, 0 = all */
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
	struct stack_copy *ev_stack; /* a traced call's stack, unwound after resume */
	struct user_regs_struct ev_regs;
	struct profile_event ev_pending;
	pid_t ev_pending_tid; /* 0: nothing pending */
	mono_ns ev_last_ns; /* when the last traced call stopped, 0 = never */

	double max_overhead; /* --max-overhead as a fraction; 0: no limit */
	uint32_t marker_stacks
		[3]; /* stack ids of the pseudo-addresses (symbols.h); +1, 0 = none yet */

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
/* Count pid among the processes whose end ends the recording. */
void tracer_add_root(struct tracer *tr, pid_t pid);

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
/* Handle one waitpid status of tid. */
void tracer_handle_status(struct tracer *tr, pid_t tid, int status);

struct thread *tracer_find(struct tracer *tr, pid_t tid);

/* A thread to stop, and what it was doing as read just before. */
struct stop_request {
	pid_t tid;
	struct activity what;
	bool was_blocked; /* re-read its schedstat after the stop */
};

/*
 * Stop these threads (PTRACE_INTERRUPT to all, then each stop taken as it
 * arrives): registers and one stack copy, resume, record the sample.
 * Waits at most timeout_ns; later stops are taken when they arrive.
 */
void tracer_stop_and_sample(struct tracer *tr, const struct stop_request *req, size_t n,
			    mono_ns timeout_ns);

/* Unwind a snapshot and record it as a sample of t; returns the stack id. */
uint32_t tracer_record_snapshot(struct tracer *tr, struct thread *t,
				const struct user_regs_struct *regs, bool full_regs,
				const struct activity *what, mono_ns when);
/* Unwind the snapshot in tr->stack and intern its stack; returns its id. */
uint32_t tracer_unwind_snapshot(struct tracer *tr, struct thread *t,
				const struct user_regs_struct *regs, bool full_regs);

/* Record a sample of t with an already interned stack. */
void tracer_record_snapshot_id(struct tracer *tr, struct thread *t, uint32_t stack,
			       const struct activity *what, mono_ns when);

/*
 * What a thread in call nr with args works on: the file or socket behind its
 * descriptor, or the lock behind its futex word and who holds it. Sets
 * what->object and what->owner.
 */
void tracer_attribute(struct tracer *tr, struct thread *t, long nr, const uint64_t *args,
		      struct activity *what);

/* The recorder object (file, socket, pipe...) behind descriptor fd of t's
 * process, -1 if it cannot be told. */
int32_t tracer_fd_object(struct tracer *tr, struct thread *t, int fd);

/* Say once, before it happens, that a process given or launched calls
 * ptrace and would fail to trace itself (or, with -f, its children): for
 * when no syscall is traced and the call itself cannot be seen. */
void tracer_warn_ptrace_users(struct tracer *tr);

/* Interrupt every thread that can be interrupted safely, so that it runs on
 * under PTRACE_SYSCALL (exact tracing of an attached process). */
void tracer_arm_syscalls(struct tracer *tr);

/* The stack of a sample whose stop was skipped (--max-overhead) or never
 * came (STACK_LATE_ADDR): one frame at that pseudo-address, which the
 * symbolizer names for what it is. */
uint32_t tracer_marker_stack(struct tracer *tr, uint64_t addr);

/*
 * For dump: the threads whose stop has not come (a long uninterruptible
 * wait) get a sample now, in the state they were seen in, with the pc
 * /proc gave (marked cut short) or no stack at all. Returns how many.
 */
size_t tracer_sample_late(struct tracer *tr);

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

/* Intern a raw stack of a thread of proc: its index, then the addresses. */
uint32_t tracer_intern_stack(struct tracer *tr, const struct proc *proc, const uint64_t *ips,
			     uint32_t n, bool truncated);

#endif
