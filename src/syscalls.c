/*
 * syscalls.c: names come from libseccomp (seccomp_syscall_resolve_num_arch),
 * resolved once per number and kept. Classification uses the kernel's own
 * SYS_* numbers from <sys/syscall.h>.
 */
#include "syscalls.h"

#include <linux/futex.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "util.h"

#define MAX_NR 1024

static const char *const state_names[ST__COUNT] = {
	[ST_ONCPU] = "on-cpu",	  [ST_RUNNABLE] = "runnable", [ST_SYSCALL] = "syscall",
	[ST_LOCK] = "lock",	  [ST_SLEEP] = "sleep",	      [ST_DISK] = "disk",
	[ST_STOPPED] = "stopped", [ST_OTHER] = "other",
};

const char *state_name(enum sample_state st)
{
	return (unsigned)st < ST__COUNT ? state_names[st] : "other";
}

int state_from_name(const char *name)
{
	for (int i = 0; i < ST__COUNT; i++)
		if (!strcmp(state_names[i], name))
			return i;
	return -1;
}

/* Resolved names, owned here; a slot holds "" once resolution failed. */
static char *names[MAX_NR];

const char *syscall_name(long nr)
{
	if (nr < 0 || nr >= MAX_NR)
		return NULL;
	if (!names[nr]) {
		char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, (int)nr);
		names[nr] = s ? s : xstrdup("");
	}
	return names[nr][0] ? names[nr] : NULL;
}

const char *syscall_name_or_number(long nr)
{
	static char buf[32];
	const char *s = syscall_name(nr);
	if (s)
		return s;
	snprintf(buf, sizeof(buf), "syscall_%ld", nr);
	return buf;
}

enum sample_state syscall_wait_state(long nr, const uint64_t args[6])
{
	switch (nr) {
	case SYS_futex: {
		int op = (int)(args[1] & FUTEX_CMD_MASK);
		if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET || op == FUTEX_LOCK_PI ||
		    op == FUTEX_LOCK_PI2 || op == FUTEX_WAIT_REQUEUE_PI)
			return ST_LOCK;
		return ST_SYSCALL;
	}
#ifdef SYS_futex_waitv
	case SYS_futex_waitv: return ST_LOCK;
#endif
	case SYS_nanosleep:
	case SYS_clock_nanosleep:
	case SYS_pause: return ST_SLEEP;
	default: return ST_SYSCALL;
	}
}

bool syscall_restarts_after_interrupt(long nr, bool *needs_fd_check)
{
	*needs_fd_check = false;
	/* Measured on kernel 6.x: these restart transparently after
	 * PTRACE_INTERRUPT + PTRACE_CONT (see FACTS.md). epoll_wait,
	 * sigtimedwait, semop, io_getevents, io_uring_enter and recv with
	 * SO_RCVTIMEO return EINTR instead, so they are not listed. */
	switch (nr) {
	case SYS_read:
	case SYS_write:
	case SYS_readv:
	case SYS_writev:
	case SYS_pread64:
	case SYS_pwrite64: *needs_fd_check = true; return true;
	case SYS_poll:
	case SYS_ppoll:
	case SYS_select:
	case SYS_pselect6:
	case SYS_nanosleep:
	case SYS_clock_nanosleep:
	case SYS_futex:
#ifdef SYS_futex_waitv
	case SYS_futex_waitv:
#endif
	case SYS_msgrcv:
	case SYS_pause:
	case SYS_wait4:
	case SYS_waitid:
	case SYS_flock:
	case SYS_fcntl:
	case SYS_mq_timedreceive:
	case SYS_restart_syscall: /* resumes the restart block again */ return true;
	default: return false;
	}
}
