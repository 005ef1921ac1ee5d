/*
 * repair.h: undoing what a stop of ours did to the call a thread was in.
 *
 * wallprof stops a thread with PTRACE_INTERRUPT only when it was seen
 * running or blocked in a call that restarts by itself (sampler.c). Between
 * that look and the moment the stop lands, the thread may have entered a
 * call that does not restart: epoll_wait then returns EINTR, and a blocking
 * write that has moved part of its buffer returns the part. The stop shows
 * it (orig_rax is the call, rax its result so far), so this module puts it
 * right before the thread runs again:
 *
 *  - EINTR from a call that had done nothing yet: the call is rewound, as
 *    the kernel does for its own restarts (rax = orig_rax, rip back over
 *    the syscall instruction), and the thread executes it again;
 *  - a short transfer on a blocking descriptor: the call is continued with
 *    the rest of its buffer, the thread is followed to that call's exit,
 *    where the part already moved is added to its result and the argument
 *    registers (and any iovec or msghdr changed in its memory) are put back.
 *
 * Should a real signal come before the rewound call runs again, the undo is
 * undone at its signal-delivery stop: the program then sees what the signal
 * alone would have caused. docs/interrupts.md has the kernel behaviour all
 * this relies on, and its limits.
 */
#ifndef WALLPROF_REPAIR_H
#define WALLPROF_REPAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct profile_stats;

enum repair_kind {
	REPAIR_NONE,
	REPAIR_REWOUND, /* EINTR: the call executes again; its entry stop wanted */
	REPAIR_CONTINUED, /* short transfer: the rest follows, exit stop wanted */
};

/* A patch of the target's memory (an iovec or part of a msghdr), put back
 * when the continued call returns. */
struct repair_patch {
	uint64_t addr;
	uint8_t saved[16];
};

struct repair {
	/* Whose calls: set by the tracer for each thread, and at its exec. */
	pid_t pid, tid;
	struct profile_stats *stats; /* eintr_risk, eintr_repaired... */

	uint8_t kind; /* enum repair_kind */
	bool entered; /* the continued call has been entered again */
	long nr;
	uint64_t rip; /* the syscall instruction the call was rewound to */
	uint64_t args[6]; /* argument registers as the program set them */
	int64_t done; /* bytes moved before the interrupt */
	struct repair_patch patch[2];
	int n_patch;
};

/*
 * At the first stop of r's thread after an interrupt of ours, with its
 * registers as the stop found them (event and sig as waitpid reported the
 * stop): rewind or continue the call it interrupted, if it needs it.
 * Returns true if it did; r->kind then says what is in flight. Counts what
 * it cannot repair in stats->eintr_risk.
 */
bool repair_after_interrupt(struct repair *r, const struct user_regs_struct *regs, int event,
			    int sig);

/*
 * At every stop of a thread with a repair in flight, before anything else
 * looks at the stop: finish a continued call at its exit stop, or undo the
 * repair at a signal-delivery stop that came before the call ran again.
 */
void repair_follow(struct repair *r, int event, int sig);

/* The ptrace request to resume r's thread with, given the one the rest wants. */
int repair_resume_request(const struct repair *r, int req);

/* Is a repair waiting for a stop still to come (the entry of a
 * rewound call, the exit of a continued one)? Not the time to detach. */
bool repair_in_flight(const struct repair *r);

#endif
