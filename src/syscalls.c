/*
 * syscalls.c: names come from libseccomp (seccomp_syscall_resolve_num_arch),
 * resolved once per number and kept. Classification uses the kernel's own
 * SYS_* numbers from <sys/syscall.h>.
 */
#include "syscalls.h"

#include <linux/futex.h>
#include <linux/io_uring.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/user.h>

#include "locks.h"
#include "util.h"

#define MAX_NR 1024

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
		bool pi;
		return futex_op_is_wait(args[1], &pi) ? ST_LOCK : ST_SYSCALL;
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
	 * PTRACE_INTERRUPT + PTRACE_CONT (docs/interrupts.md). epoll_wait,
	 * sigtimedwait, semop, io_getevents, io_uring_enter and recv with
	 * SO_RCVTIMEO return EINTR instead, so they are not listed. Nor is
	 * any write: a blocking write that has moved part of its buffer
	 * returns that part when interrupted. A read returns as soon as it
	 * has anything, so an interrupt finds it with nothing read yet, and
	 * it restarts; except on a socket with a timeout, hence the check. */
	switch (nr) {
	case SYS_read:
	case SYS_readv:
	case SYS_pread64: *needs_fd_check = true; return true;
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

int syscall_path_arg(long nr)
{
	switch (nr) {
	case SYS_open:
	case SYS_creat:
	case SYS_stat:
	case SYS_lstat:
	case SYS_access:
	case SYS_unlink:
	case SYS_mkdir:
	case SYS_rmdir:
	case SYS_rename:
	case SYS_readlink:
	case SYS_execve:
	case SYS_chdir:
	case SYS_truncate:
	case SYS_chmod:
	case SYS_chown:
	case SYS_statfs: return 0;
	case SYS_openat:
	case SYS_openat2:
	case SYS_newfstatat:
	case SYS_statx:
	case SYS_faccessat:
	case SYS_faccessat2:
	case SYS_unlinkat:
	case SYS_mkdirat:
	case SYS_renameat:
	case SYS_renameat2:
	case SYS_readlinkat:
	case SYS_execveat:
	case SYS_fchmodat:
	case SYS_fchownat: return 1;
	default: return -1;
	}
}

void syscall_args_of(const struct user_regs_struct *r, uint64_t a[6])
{
	a[0] = r->rdi;
	a[1] = r->rsi;
	a[2] = r->rdx;
	a[3] = r->r10;
	a[4] = r->r8;
	a[5] = r->r9;
}

bool syscall_waits_forever(long nr, const uint64_t *args)
{
	/* An interrupt fails these with EINTR, which wallprof rewinds
	 * (repair.c); with no timeout the call run again is exactly the
	 * call that was interrupted. */
	switch (nr) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait: return (int)args[3] < 0;
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2: return args[3] == 0;
#endif
	case SYS_rt_sigtimedwait: return args[2] == 0;
	case SYS_semop: return true;
	case SYS_semtimedop: return args[3] == 0;
	case SYS_io_getevents: return args[4] == 0;
	/* Waiting for completions, with no timeout: without
	 * IORING_ENTER_EXT_ARG the fifth argument is a signal mask. */
	case SYS_io_uring_enter:
		return (args[3] & IORING_ENTER_GETEVENTS) && !(args[3] & IORING_ENTER_EXT_ARG) &&
		       (uint32_t)args[2] > 0;
	default: return false;
	}
}

/* ---- sets and classes ---- */

static const char *const class_file[] = {
	"open",	      "openat",	   "openat2",	 "creat",	    "close",
	"read",	      "write",	   "pread64",	 "pwrite64",	    "readv",
	"writev",     "preadv",	   "pwritev",	 "preadv2",	    "pwritev2",
	"lseek",      "fsync",	   "fdatasync",	 "sync_file_range", "syncfs",
	"sync",	      "fallocate", "ftruncate",	 "truncate",	    "rename",
	"renameat",   "renameat2", "unlink",	 "unlinkat",	    "mkdir",
	"mkdirat",    "rmdir",	   "stat",	 "fstat",	    "lstat",
	"newfstatat", "statx",	   "getdents64", "copy_file_range", "sendfile",
	"splice",     "flock",	   NULL,
};
static const char *const class_network[] = {
	"socket",     "socketpair", "connect",	   "accept",	  "accept4", "bind",	 "listen",
	"shutdown",   "recvfrom",   "sendto",	   "recvmsg",	  "sendmsg", "recvmmsg", "sendmmsg",
	"getsockopt", "setsockopt", "getsockname", "getpeername", NULL,
};
static const char *const class_io[] = {
	"read",
	"write",
	"pread64",
	"pwrite64",
	"readv",
	"writev",
	"preadv",
	"pwritev",
	"preadv2",
	"pwritev2",
	"fsync",
	"fdatasync",
	"sync_file_range",
	"syncfs",
	"sync",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"io_getevents",
	"io_pgetevents",
	"io_uring_enter",
	"sendfile",
	"splice",
	"tee",
	"copy_file_range",
	"recvfrom",
	"sendto",
	"recvmsg",
	"sendmsg",
	"recvmmsg",
	"sendmmsg",
	"accept",
	"accept4",
	"connect",
	NULL,
};
static const char *const class_lock[] = {
	"futex", "futex_waitv", "flock", "fcntl", "semop", "semtimedop", NULL,
};
static const char *const class_sleep[] = {
	"nanosleep",
	"clock_nanosleep",
	"pause",
	NULL,
};
/* Blocking calls beyond the classes above that belong in the default set. */
static const char *const class_wait_extra[] = {
	"wait4",	"waitid",	   "msgrcv",	    "msgsnd", "mq_timedreceive",
	"mq_timedsend", "rt_sigtimedwait", "rt_sigsuspend", NULL,
};
/* Calls whose first argument is a file descriptor. */
static const char *const fd_first[] = {
	"read",		  "write",	 "pread64",	    "pwrite64",	   "readv",
	"writev",	  "preadv",	 "pwritev",	    "preadv2",	   "pwritev2",
	"fsync",	  "fdatasync",	 "sync_file_range", "syncfs",	   "fallocate",
	"ftruncate",	  "lseek",	 "getdents64",	    "flock",	   "fcntl",
	"ioctl",	  "recvfrom",	 "sendto",	    "recvmsg",	   "sendmsg",
	"recvmmsg",	  "sendmmsg",	 "accept",	    "accept4",	   "connect",
	"shutdown",	  "bind",	 "listen",	    "setsockopt",  "getsockopt",
	"getsockname",	  "getpeername", "epoll_wait",	    "epoll_pwait", "epoll_pwait2",
	"io_uring_enter", "sendfile",	 "splice",	    "tee",	   "copy_file_range",
	"close",	  "fstat",	 "fadvise64",	    NULL,
};

static void add_names(struct syscall_set *set, const char *const *list)
{
	for (; *list; list++) {
		int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, *list);
		if (nr >= 0 && nr < SYSCALL_SET_MAX)
			set->on[nr] = true;
	}
}

void syscall_set_default(struct syscall_set *set)
{
	memset(set, 0, sizeof(*set));
	add_names(set, class_io);
	add_names(set, class_lock);
	add_names(set, class_sleep);
	add_names(set, class_wait_extra);
}

int syscall_set_parse(const char *list, struct syscall_set *set, char *err, size_t err_size)
{
	static const struct {
		const char *name;
		const char *const *members;
	} classes[] = {
		{"file", class_file}, {"network", class_network}, {"io", class_io},
		{"lock", class_lock}, {"sleep", class_sleep},
	};
	memset(set, 0, sizeof(*set));
	size_t len = strlen(list);
	if (!len || list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,") ||
	    strchr(list, ' ')) {
		snprintf(err, err_size,
			 "'%s' is not a list of syscall names and classes (NAME,NAME,...: file, "
			 "network, io, lock, sleep, default, all)",
			 list);
		return -1;
	}
	char *copy = xstrdup(list), *save = NULL;
	int r = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			for (int i = 0; i < SYSCALL_SET_MAX; i++)
				set->on[i] = syscall_name(i) != NULL;
			set->all = true;
			continue;
		}
		if (!strcmp(tok, "default")) {
			struct syscall_set d;
			syscall_set_default(&d);
			for (int i = 0; i < SYSCALL_SET_MAX; i++)
				set->on[i] |= d.on[i];
			continue;
		}
		bool found = false;
		for (size_t k = 0; k < ARRAY_SIZE(classes) && !found; k++)
			if (!strcmp(tok, classes[k].name)) {
				add_names(set, classes[k].members);
				found = true;
			}
		if (found)
			continue;
		int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, tok);
		if (nr < 0 || nr >= SYSCALL_SET_MAX) {
			snprintf(err, err_size,
				 "unknown syscall or class '%s' (classes: file, network, io, lock, "
				 "sleep, all)",
				 tok);
			r = -1;
			break;
		}
		set->on[nr] = true;
	}
	free(copy);
	return r;
}

bool syscall_takes_fd(long nr)
{
	static struct syscall_set fds;
	static bool ready;
	if (!ready) {
		add_names(&fds, fd_first);
		ready = true;
	}
	return nr >= 0 && nr < SYSCALL_SET_MAX && fds.on[nr];
}

bool syscall_interrupt_is_safe(pid_t pid, char state, const struct syscall_state *sc)
{
	bool fd_check;
	if (state != 'S' || sc->nr < 0 || !syscall_restarts_after_interrupt(sc->nr, &fd_check))
		return false;
	if (!fd_check)
		return true;
	/* read/write restart on pipes and files; on sockets a timeout
	 * (SO_RCVTIMEO) turns the restart into EINTR. */
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%llu", (int)pid, (unsigned long long)sc->args[0]);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strncmp(link, "socket:", 7) != 0;
}
