/*
 * syscalls.h: syscall names (from libseccomp, never a hand-written table)
 * and the few properties of a syscall the sampler needs: what kind of wait
 * it is, and whether interrupting it with ptrace leaks EINTR to the target.
 */
#ifndef WALLPROF_SYSCALLS_H
#define WALLPROF_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procfs.h"
#include "states.h"

/*
 * The name of x86_64 syscall nr, or NULL if libseccomp does not know it.
 * The string is borrowed from a table owned by this module; do not free.
 */
const char *syscall_name(long nr);
/* Like syscall_name, but never NULL: "syscall_NNN" for unknown numbers. */
const char *syscall_name_or_number(long nr);

/* The state a thread blocked in syscall nr with these arguments is in. */
enum sample_state syscall_wait_state(long nr, const uint64_t args[6]);

/*
 * True when interrupting a thread blocked in this syscall (PTRACE_INTERRUPT
 * and CONT) is known to restart it transparently. Everything else is
 * assumed to leak EINTR to the target (ptrace(2) BUGS, signal(7)) and is
 * sampled without a stop. read/write count as safe only on pipes and
 * files: the caller checks the fd (sockets with timeouts leak).
 */
bool syscall_restarts_after_interrupt(long nr, bool *needs_fd_check);

/* Would PTRACE_INTERRUPT + CONT leave this blocked call undisturbed? A
 * thread of process pid in state (its /proc state letter) and call sc. */
bool syscall_interrupt_is_safe(pid_t pid, char state, const struct syscall_state *sc);

/*
 * Is this call one that fails with EINTR when interrupted, waiting with no
 * timeout? Then the rewind of repair.c gives the program exactly the call it
 * made, and a stop is safe (the arming of exact tracing uses that).
 */
bool syscall_waits_forever(long nr, const uint64_t *args);

/* The six arguments of the x86_64 call in r (rdi, rsi, rdx, r10, r8, r9). */
struct user_regs_struct;
void syscall_args_of(const struct user_regs_struct *r, uint64_t a[6]);

/*
 * A result that says a signal, or a stop of ours, cut the call and the kernel
 * runs it again (-ERESTARTSYS .. -ERESTART_RESTARTBLOCK, -512 to -516): the
 * program never sees it.
 */
static inline bool syscall_result_restarts(int64_t rval)
{
	return rval <= -512 && rval >= -516;
}

/* Which argument of syscall nr is a path (openat: 1, stat: 0), -1 if none. */
int syscall_path_arg(long nr);

/* A set of x86_64 syscall numbers. */
#define SYSCALL_SET_MAX 512
struct syscall_set {
	bool on[SYSCALL_SET_MAX];
	bool all; /* "all": every syscall, including ones libseccomp cannot name */
};

/* The blocking calls: I/O (read/write, fsync, poll/select/epoll, send/recv,
 * accept/connect), locks (futex, flock, fcntl), sleeps, wait4 and friends. */
void syscall_set_default(struct syscall_set *set);
/*
 * Parse a comma-separated list of syscall names (resolved by libseccomp) and
 * classes: file, network, io, lock, sleep, default, all. On an unknown
 * name returns -1 with a one-line reason in err.
 */
int syscall_set_parse(const char *list, struct syscall_set *set, char *err, size_t err_size);

/* Is the first argument of syscall nr a file descriptor? */
bool syscall_takes_fd(long nr);

#endif
