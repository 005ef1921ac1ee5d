/*
 * repair.c: rewinding and continuing the calls our stops interrupted. See
 * repair.h for what and why, docs/interrupts.md for the kernel behaviour.
 *
 * At the stop, orig_rax is the call the thread was in (-1 if it was in user
 * mode: every interrupt entry stores -1 there, so a stop taken in user mode
 * never looks like a call) and rax is the call's result as the program is
 * about to see it. The argument registers rdi, rsi, rdx, r10, r8 and r9 are
 * still the program's: the syscall ABI preserves them, which is also why
 * they are put back after a continued call.
 */
#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/ptrace.h>

#include "procfs.h"
#include "profile.h"
#include "syscalls.h"
#include "util.h"

/* syscall (0f 05) and int $0x80 (cd 80) are both two bytes: the kernel
 * restarts a call the same way (regs->ip -= 2). */
#define SYSCALL_INSN_LEN 2
#define CS_64BIT 0x33
#define IOV_MAX_ 1024 /* UIO_MAXIOV */
#define SPLICE_F_NONBLOCK_ 0x02
#define RWF_NOWAIT_ 0x08

static void set_args(struct user_regs_struct *r, const uint64_t a[6])
{
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
}

/*
 * Calls that return EINTR only when they have done nothing yet, so that
 * executing them again is what the program would have seen without the
 * stop. (connect is not one: an interrupted connect goes on in the
 * background and a second one fails with EALREADY.)
 */
static bool rewinds_cleanly(long nr)
{
	switch (nr) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
	case SYS_rt_sigtimedwait:
	case SYS_semop:
	case SYS_semtimedop:
	case SYS_io_getevents:
	/* io_uring_enter fails with EINTR only if it submitted nothing: it
	 * returns the count of what it submitted otherwise. */
	case SYS_io_uring_enter:
#ifdef SYS_io_pgetevents
	case SYS_io_pgetevents:
#endif
	case SYS_read:
	case SYS_readv:
	case SYS_pread64:
	case SYS_preadv:
	case SYS_recvfrom:
	case SYS_recvmsg:
	case SYS_recvmmsg:
	case SYS_write:
	case SYS_writev:
	case SYS_pwrite64:
	case SYS_pwritev:
	case SYS_sendto:
	case SYS_sendmsg:
	case SYS_accept:
	case SYS_accept4:
	case SYS_msgrcv:
	case SYS_msgsnd:
	case SYS_mq_timedreceive:
	case SYS_mq_timedsend: return true;
	default: return false;
	}
}

/* Where a transfer keeps its descriptor, its buffer, its count and its
 * options. */
struct transfer {
	int fd_arg; /* -1: none (getrandom) */
	int buf_arg; /* the buffer to advance, -1 if none (sendfile, splice) */
	int count_arg; /* -1: the count is in an iovec */
	int offset_arg; /* an offset register to advance, -1 if none */
	int flags_arg; /* -1 if none */
	uint64_t nonblock_flag; /* in flags_arg: the call cannot block */
	bool iov; /* args[1] is an iovec array, args[2] its length */
	bool msg; /* args[1] is a msghdr */
	bool input; /* a read: continued only from an endless source, or */
	uint64_t need_flag; /* with this flag in flags_arg (MSG_WAITALL) */
};

/* A transfer of one buffer at args[1], args[2] long, from or to args[0]. */
static void plain_transfer(struct transfer *x, bool input)
{
	*x = (struct transfer){
		.buf_arg = 1, .count_arg = 2, .offset_arg = -1, .flags_arg = -1, .input = input};
}

/* readv, writev and the like: an iovec array at args[1], args[2] long. */
static void iov_transfer(struct transfer *x)
{
	x->buf_arg = x->count_arg = -1, x->iov = true;
}

/* sendmsg and recvmsg: a msghdr, and flags. */
static void msg_transfer(struct transfer *x)
{
	x->buf_arg = x->count_arg = -1, x->msg = true;
	x->flags_arg = 2;
	x->nonblock_flag = MSG_DONTWAIT;
}

/*
 * Reads stop short at a signal only where the program could not have
 * expected fewer bytes: /dev/zero, /dev/full, /dev/random, /dev/urandom
 * (the kernel's memory devices, major 1, which check for a signal between
 * pages), getrandom(2) past 256 bytes, and a receive with MSG_WAITALL,
 * which waits for all it asked for unless a signal comes. A read of a pipe,
 * socket or tty returns what is there, and one of a regular file is not cut
 * by a signal.
 */
static bool input_of(long nr, struct transfer *x)
{
	plain_transfer(x, true);
	switch (nr) {
	case SYS_read: return true;
	case SYS_pread64: x->offset_arg = 3; return true;
	case SYS_readv: iov_transfer(x); return true;
	case SYS_preadv:
		iov_transfer(x);
		x->offset_arg = 3;
		return true;
	case SYS_getrandom: x->fd_arg = -1, x->buf_arg = 0, x->count_arg = 1; return true;
	case SYS_recvfrom:
		x->flags_arg = 3;
		x->nonblock_flag = MSG_DONTWAIT;
		x->need_flag = MSG_WAITALL;
		return true;
	case SYS_recvmsg:
		msg_transfer(x);
		x->need_flag = MSG_WAITALL;
		return true;
	default: return false;
	}
}

static bool transfer_of(long nr, struct transfer *x)
{
	if (input_of(nr, x))
		return true;
	plain_transfer(x, false);
	switch (nr) {
	case SYS_write: return true;
	case SYS_pwrite64: x->offset_arg = 3; return true;
	case SYS_sendto:
		x->flags_arg = 3;
		x->nonblock_flag = MSG_DONTWAIT;
		return true;
	case SYS_writev: iov_transfer(x); return true;
	case SYS_pwritev:
		iov_transfer(x);
		x->offset_arg = 3; /* pos_l: the whole offset on 64-bit */
		return true;
	case SYS_pwritev2:
		iov_transfer(x);
		x->offset_arg = 3;
		x->flags_arg = 5;
		x->nonblock_flag = RWF_NOWAIT_;
		return true;
	case SYS_sendmsg: msg_transfer(x); return true;
	/* The kernel advances the offset (or the file position) of the
	 * input itself: only the count needs the rest. */
	case SYS_sendfile: x->buf_arg = -1, x->count_arg = 3; return true;
	case SYS_splice:
		x->buf_arg = -1;
		x->fd_arg = 2;
		x->count_arg = 4;
		x->flags_arg = 5;
		x->nonblock_flag = SPLICE_F_NONBLOCK_;
		return true;
	default: return false;
	}
}

static char *task_file(const struct repair *r, const char *name)
{
	return xasprintf("/proc/%d/task/%d/%s", (int)r->pid, (int)r->tid, name);
}

/* What the thread's descriptor fd is open on: false if it is gone. */
static bool fd_stat(const struct repair *r, int fd, struct stat *st)
{
	char name[48];
	snprintf(name, sizeof(name), "fd/%d", fd);
	char *path = task_file(r, name);
	bool ok = stat(path, st) == 0;
	free(path);
	return ok;
}

/*
 * Can a write to this descriptor stop short because of a signal, and does
 * it block? Pipes, FIFOs, sockets and character devices (ttys) can; a
 * regular file stops short only when it is full, which a continuation
 * would not change, and a non-blocking descriptor returns what fits.
 */
static bool blocking_stream(const struct repair *r, int fd)
{
	struct stat st;
	if (!fd_stat(r, fd, &st) ||
	    !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)))
		return false;
	char name[48];
	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	char *path = task_file(r, name);
	char *text = read_small_file(path, 4096, NULL);
	free(path);
	uint64_t flags;
	bool blocking =
		text && procfs_parse_fdinfo_flags(text, &flags) == 0 && !(flags & O_NONBLOCK);
	free(text);
	return blocking;
}

/* One of the memory devices a read of which is cut only by a signal
 * (input_of): zero (1,5), full (1,7), random (1,8), urandom (1,9). */
static bool endless_source(const struct repair *r, int fd)
{
	struct stat st;
	if (!fd_stat(r, fd, &st) || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1)
		return false;
	unsigned m = minor(st.st_rdev);
	return m == 5 || m == 7 || m == 8 || m == 9;
}

/*
 * Could a transfer that moved less than it was asked have moved it all
 * without a signal? A receive only with MSG_WAITALL; a read only from an
 * endless source (or getrandom, which has no descriptor); a write only on
 * a blocking stream.
 */
static bool short_only_by_signal(const struct repair *r, const struct transfer *x,
				 const uint64_t *a)
{
	if (x->need_flag)
		return (a[x->flags_arg] & x->need_flag) != 0;
	if (x->input)
		return x->fd_arg < 0 || endless_source(r, (int)a[x->fd_arg]);
	return blocking_stream(r, (int)a[x->fd_arg]);
}

/* The signal dispositions and pending sets of a thread. */
struct sigsets {
	uint64_t pending, blocked, ignored, caught;
};

static bool read_sigsets(const struct repair *r, struct sigsets *s)
{
	char *path = task_file(r, "status");
	char *text = read_small_file(path, 1 << 16, NULL);
	free(path);
	uint64_t shd = 0;
	bool ok = text && procfs_parse_status_hex(text, "SigPnd", &s->pending) == 0 &&
		  procfs_parse_status_hex(text, "ShdPnd", &shd) == 0 &&
		  procfs_parse_status_hex(text, "SigBlk", &s->blocked) == 0 &&
		  procfs_parse_status_hex(text, "SigIgn", &s->ignored) == 0 &&
		  procfs_parse_status_hex(text, "SigCgt", &s->caught) == 0;
	free(text);
	s->pending |= shd;
	return ok;
}

static uint64_t sigbit(int sig)
{
	return 1ULL << (sig - 1);
}

/*
 * Would the target ignore sig? Under ptrace the kernel queues even ignored
 * signals, for the tracer to see (sig_ignored() in kernel/signal.c), so the
 * stop of one is no sign that the program will notice it.
 */
static bool sig_ignored(const struct sigsets *s, int sig)
{
	if (sig < 1 || sig > 64)
		return false;
	if (s->ignored & sigbit(sig))
		return true;
	bool default_ignore = sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
	return default_ignore && !(s->caught & sigbit(sig));
}

/* Is a signal pending that would have interrupted the call by itself? */
static bool real_signal_pending(const struct repair *r)
{
	struct sigsets s;
	if (!read_sigsets(r, &s))
		return false;
	uint64_t deliverable = s.pending & ~s.blocked;
	for (int sig = 1; sig <= 64; sig++)
		if ((deliverable & sigbit(sig)) && !sig_ignored(&s, sig))
			return true;
	return false;
}

static bool mem_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static bool mem_write(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = {(void *)buf, len}, remote = {(void *)(uintptr_t)addr, len};
	return process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* Put back what was patched in the target's memory, newest first. */
static void unpatch(struct repair *r)
{
	while (r->n_patch > 0) {
		const struct repair_patch *p = &r->patch[--r->n_patch];
		mem_write(r->tid, p->addr, p->saved, sizeof(p->saved));
	}
}

/* Write 16 bytes at addr, keeping what was there. */
static bool patch(struct repair *r, uint64_t addr, const void *bytes)
{
	struct repair_patch *p = &r->patch[r->n_patch];
	if (r->n_patch >= 2 || !mem_read(r->tid, addr, p->saved, sizeof(p->saved)) ||
	    !mem_write(r->tid, addr, bytes, sizeof(p->saved)))
		return false;
	p->addr = addr;
	r->n_patch++;
	return true;
}

struct iovec64 {
	uint64_t base, len;
};

/*
 * An iovec array of which done bytes went: point the call at what is left,
 * patching the first entry not wholly sent. Sets *iov and *cnt to the new
 * array and length; false if the whole array went or it cannot be done.
 */
static bool skip_iov(struct repair *r, uint64_t done, uint64_t *iov, uint64_t *cnt)
{
	if (*cnt == 0 || *cnt > IOV_MAX_)
		return false;
	struct iovec64 *v = xmalloc(*cnt * sizeof(*v));
	bool ok = mem_read(r->tid, *iov, v, *cnt * sizeof(*v));
	uint64_t k = 0;
	while (ok && k < *cnt && done >= v[k].len)
		done -= v[k++].len;
	ok = ok && k < *cnt;
	if (ok) {
		struct iovec64 rest = {v[k].base + done, v[k].len - done};
		ok = patch(r, *iov + k * sizeof(*v), &rest);
		*iov += k * sizeof(*v);
		*cnt -= k;
	}
	free(v);
	return ok;
}

/* struct msghdr on x86_64: name, namelen, iov, iovlen, control, controllen, flags. */
struct msghdr64 {
	uint64_t name;
	uint32_t namelen, pad;
	uint64_t iov, iovlen;
	uint64_t control, controllen;
	uint32_t flags, pad2;
};

/* Point a sendmsg or recvmsg at what is left. Not one with control data
 * (descriptors, credentials): a sendmsg's went with the first part and must
 * not go twice, a recvmsg's would be written over. */
static bool skip_msg(struct repair *r, uint64_t done, uint64_t addr)
{
	struct msghdr64 m;
	if (!mem_read(r->tid, addr, &m, sizeof(m)) || m.controllen)
		return false;
	uint64_t iov = m.iov, cnt = m.iovlen;
	if (!skip_iov(r, done, &iov, &cnt))
		return false;
	uint64_t fields[2] = {iov, cnt};
	if (!patch(r, addr + offsetof(struct msghdr64, iov), fields)) {
		unpatch(r);
		return false;
	}
	return true;
}

static uint64_t iov_total(const struct repair *r, uint64_t iov, uint64_t cnt)
{
	if (cnt == 0 || cnt > IOV_MAX_)
		return 0;
	struct iovec64 *v = xmalloc(cnt * sizeof(*v));
	uint64_t sum = 0;
	if (mem_read(r->tid, iov, v, cnt * sizeof(*v)))
		for (uint64_t k = 0; k < cnt; k++)
			sum += v[k].len;
	free(v);
	return sum;
}

/* The bytes a transfer asked for, 0 if unknown. */
static uint64_t requested(const struct repair *r, const struct transfer *x, const uint64_t *a)
{
	if (x->count_arg >= 0)
		return a[x->count_arg];
	if (x->iov)
		return iov_total(r, a[1], a[2]);
	struct msghdr64 m;
	return mem_read(r->tid, a[1], &m, sizeof(m)) ? iov_total(r, m.iov, m.iovlen) : 0;
}

/* Set up the rest of a transfer that moved done bytes; false if it
 * cannot be continued. The caller rewinds. */
static bool continue_transfer(struct repair *r, const struct transfer *x, uint64_t *a,
			      uint64_t done)
{
	if (x->count_arg >= 0) {
		a[x->count_arg] -= done;
		if (x->buf_arg >= 0)
			a[x->buf_arg] += done;
	} else if (x->iov) {
		if (!skip_iov(r, done, &a[1], &a[2]))
			return false;
	} else if (!skip_msg(r, done, a[1])) {
		return false;
	}
	if (x->offset_arg >= 0 && (int64_t)a[x->offset_arg] >= 0)
		a[x->offset_arg] += done;
	return true;
}

/* Rewind the call in regs so that it executes again, with args. */
static bool rewind_call(struct repair *r, const struct user_regs_struct *regs, const uint64_t *args,
			enum repair_kind kind, int64_t done)
{
	struct user_regs_struct w = *regs;
	w.rax = w.orig_rax;
	w.rip -= SYSCALL_INSN_LEN;
	set_args(&w, args);
	if (ptrace(PTRACE_SETREGS, r->tid, 0, &w) < 0) {
		unpatch(r);
		return false;
	}
	r->kind = (uint8_t)kind;
	r->entered = false;
	r->nr = (long)regs->orig_rax;
	r->rip = w.rip;
	syscall_args_of(regs, r->args);
	r->done = done;
	return true;
}

/*
 * Is the call in regs set up to run again rather than returned? The kernel
 * restarts a call cut by a stop (-ERESTARTSYS and its kin) by putting rip
 * back on the syscall instruction and rax back to the call's number (or to
 * restart_syscall's), before the thread returns to user mode; a stop that
 * comes in between (a second interrupt of ours, right after the exit stop
 * that showed -ERESTARTSYS) sees that. rax is then no result: a write
 * (number 1) would read as a write of one byte, and continuing it would
 * move rip back a second time, into the instruction before. A returned
 * call has rip past its syscall instruction, and only a result equal to
 * the call's number followed by another syscall instruction would look the
 * same. The code is read with PTRACE_PEEKTEXT, which reads pages without
 * PROT_READ too; if it cannot be read, nothing is repaired (the safe side).
 */
static bool restart_pending(const struct repair *r, const struct user_regs_struct *regs)
{
	if (regs->rax != regs->orig_rax && regs->rax != SYS_restart_syscall)
		return false;
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, r->tid, (void *)(uintptr_t)regs->rip, NULL);
	if (errno)
		return true;
	return (word & 0xffff) == 0x050f; /* 0f 05, little-endian */
}

bool repair_after_interrupt(struct repair *r, const struct user_regs_struct *regs, int event,
			    int sig)
{
	/* Our interrupt shows as PTRACE_EVENT_STOP with SIGTRAP, or, for a
	 * thread being syscall-traced, as the exit stop of its call. Other
	 * stops (a signal, a group-stop) say why the call ended themselves. */
	bool interrupt_stop = event == PTRACE_EVENT_STOP && sig == SIGTRAP;
	bool exit_stop = event == 0 && sig == (SIGTRAP | 0x80);
	long nr = (long)regs->orig_rax, ret = (long)regs->rax;
	if ((!interrupt_stop && !exit_stop) || nr < 0 || r->kind != REPAIR_NONE)
		return false;
	if (ret >= 0 && restart_pending(r, regs))
		return false;
	uint64_t a[6];
	syscall_args_of(regs, a);
	struct transfer x;
	bool eintr = ret == -EINTR;
	bool partial = false;
	if (!eintr && ret > 0 && transfer_of(nr, &x)) {
		uint64_t want = requested(r, &x, a);
		partial = (uint64_t)ret < want;
		if (partial && x.flags_arg >= 0 && (a[x.flags_arg] & x.nonblock_flag))
			return false;
		if (partial && !short_only_by_signal(r, &x, a))
			return false;
	}
	if (!eintr && !partial)
		return false;
	bool fixed = false;
	if (regs->cs == CS_64BIT) {
		if (eintr && rewinds_cleanly(nr)) {
			fixed = rewind_call(r, regs, a, REPAIR_REWOUND, 0);
			r->stats->eintr_repaired += fixed;
		} else if (partial && continue_transfer(r, &x, a, (uint64_t)ret)) {
			fixed = rewind_call(r, regs, a, REPAIR_CONTINUED, ret);
		}
	}
	/* What is left is seen by the program, unless a signal of its own was
	 * on its way and caused it. */
	if (!fixed && !real_signal_pending(r))
		r->stats->eintr_risk++;
	return fixed;
}

/* Has the rewound call not run again yet? Then the thread is still where
 * the rewind left it. */
static bool still_rewound(const struct repair *r, const struct user_regs_struct *regs)
{
	return regs->rip == r->rip && (long)regs->orig_rax == r->nr && (long)regs->rax == r->nr;
}

/* Give the program the result the interrupted call had: a real signal
 * came before it ran again, and would have ended it just the same. */
static void undo(struct repair *r, struct user_regs_struct *regs)
{
	regs->rax = r->kind == REPAIR_REWOUND ? (uint64_t)-EINTR : (uint64_t)r->done;
	regs->rip = r->rip + SYSCALL_INSN_LEN;
	set_args(regs, r->args);
	unpatch(r);
	if (ptrace(PTRACE_SETREGS, r->tid, 0, regs) < 0)
		r->stats->eintr_risk++;
	if (r->kind == REPAIR_REWOUND)
		r->stats->eintr_repaired--;
	r->kind = REPAIR_NONE;
}

/* The continued call returned: add what went before, put back the
 * arguments and the memory it was pointed at. */
static void finish_continued(struct repair *r)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, r->tid, 0, &regs) < 0) {
		r->kind = REPAIR_NONE;
		return;
	}
	long m = (long)regs.rax;
	/* An error now (a signal before any more went, the reader gone) is
	 * what the first call would have ended with: its own count. */
	regs.rax = (uint64_t)(m >= 0 ? r->done + m : r->done);
	set_args(&regs, r->args);
	unpatch(r);
	if (ptrace(PTRACE_SETREGS, r->tid, 0, &regs) < 0)
		r->stats->eintr_risk++;
	else
		r->stats->transfers_continued++;
	r->kind = REPAIR_NONE;
}

void repair_follow(struct repair *r, int event, int sig)
{
	if (event == 0 && sig == (SIGTRAP | 0x80)) {
		struct __ptrace_syscall_info info;
		if (r->kind != REPAIR_CONTINUED ||
		    ptrace(PTRACE_GET_SYSCALL_INFO, r->tid, sizeof(info), &info) <= 0) {
			r->kind = REPAIR_NONE; /* a rewound call ran again */
			return;
		}
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
			r->entered = true;
		else if (info.op == PTRACE_SYSCALL_INFO_EXIT && r->entered)
			finish_continued(r);
		return;
	}
	if (event == PTRACE_EVENT_SECCOMP) {
		r->entered = true;
		return;
	}
	struct user_regs_struct regs;
	if (r->kind == REPAIR_CONTINUED && r->entered)
		return; /* in the continued call: its exit is to come */
	if (ptrace(PTRACE_GETREGS, r->tid, 0, &regs) < 0 || !still_rewound(r, &regs)) {
		/* The call ran again (a rewound one needs nothing more). */
		unpatch(r);
		r->kind = REPAIR_NONE;
		return;
	}
	if (event != 0)
		return; /* a stop before the call runs again: nothing changes */
	/* A signal-delivery stop before the call ran again. */
	struct sigsets s;
	if (read_sigsets(r, &s) && sig_ignored(&s, sig))
		return; /* the kernel drops it and the call runs again */
	undo(r, &regs);
}

int repair_resume_request(const struct repair *r, int req)
{
	/* The continued call's exit is where its result is put right; the
	 * entry of a rewound call is the proof that it ran again, after which
	 * no signal can make the rewind wrong: until then wallprof must not
	 * detach (repair_in_flight). */
	return r->kind != REPAIR_NONE && req == PTRACE_CONT ? PTRACE_SYSCALL : req;
}

bool repair_in_flight(const struct repair *r)
{
	return r->kind != REPAIR_NONE;
}
