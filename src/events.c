/*
 * events.c: exact syscall and lock-wait events. See events.h for the two
 * methods; this file compiles the seccomp filter and runs the per-thread
 * state machine from entry stop to exit stop.
 *
 * Restarts (docs/interrupts.md): a call interrupted by a signal or by our own sampling
 * stop reports its exit with -ERESTARTSYS..-ERESTART_RESTARTBLOCK (-512 to
 * -516) and then goes on: re-executed (a new entry stop for the same call)
 * or, for -516, as restart_syscall, which the filter does not match, so we
 * resume with PTRACE_SYSCALL to see it. Either way it is one call to the
 * program, so the start time is kept and it is counted once.
 */
#include "events.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attribute.h"
#include "locks.h"
#include "snapshot.h"

/*
 * SECCOMP_RET_DATA of our filter's TRACE actions. A filter the program
 * installs itself comes after ours, and when both ask for TRACE the kernel
 * reports the data of the newest (seccomp(2)): a stop whose data is not one
 * of these is the program's own, and gets what it gets with no tracer.
 * Unusual values, so that a program's own are unlikely to match.
 */
#define TRACE_DATA 0x5770 /* traced calls */
#define SILENT_DATA 0x5771 /* calls traced only to watch fds, and ptrace */

static const int futex_wait_ops[] = {
	FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_WAIT_REQUEUE_PI,
};

/* Calls that change what a descriptor number means or names, traced
 * silently so that the fd -> file cache stays true; and ptrace, to say why
 * a command that traces its own children cannot here. */
static const char *const silent_calls[] = {"close", "close_range", "dup2",   "dup3",
					   "bind",  "connect",	   "listen", "ptrace"};

bool events_seccomp_available(void)
{
	return seccomp_api_get() >= 1 && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
}

int events_compile(struct event_config *cfg)
{
	/* Other architectures' calls (a 32-bit child) are allowed, not
	 * killed: libseccomp's default for a foreign arch is KILL. */
	scmp_filter_ctx ctx =
		seccomp_init(cfg->set.all ? SCMP_ACT_TRACE(TRACE_DATA) : SCMP_ACT_ALLOW);
	if (!ctx)
		return error("cannot create a seccomp filter");
	seccomp_arch_add(ctx, SCMP_ARCH_X86);
	seccomp_arch_add(ctx, SCMP_ARCH_X32);
	/* As root, leave no_new_privs alone so setuid programs still work. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, geteuid() != 0);
	int rc = 0;
	for (int nr = 0; nr < SYSCALL_SET_MAX && !cfg->set.all && !rc; nr++)
		if (cfg->set.on[nr])
			rc = seccomp_rule_add(ctx, SCMP_ACT_TRACE(TRACE_DATA), nr, 0);
	if (cfg->locks && !cfg->set.all && !cfg->set.on[SYS_futex]) {
		/* Waits only: the command is in the low bits of the op. */
		for (size_t i = 0; i < ARRAY_SIZE(futex_wait_ops) && !rc; i++)
			rc = seccomp_rule_add(
				ctx, SCMP_ACT_TRACE(TRACE_DATA), SCMP_SYS(futex), 1,
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0x7f, (scmp_datum_t)futex_wait_ops[i]));
#ifdef SYS_futex_waitv
		if (!rc && !cfg->set.on[SYS_futex_waitv])
			rc = seccomp_rule_add(ctx, SCMP_ACT_TRACE(TRACE_DATA), SYS_futex_waitv, 0);
#endif
	}
	for (size_t i = 0; i < ARRAY_SIZE(silent_calls) && !rc && !cfg->set.all; i++) {
		int nr = seccomp_syscall_resolve_name(silent_calls[i]);
		if (nr >= 0 && nr < SYSCALL_SET_MAX && !cfg->set.on[nr])
			rc = seccomp_rule_add(ctx, SCMP_ACT_TRACE(SILENT_DATA), nr, 0);
	}
	if (rc) {
		seccomp_release(ctx);
		errno = -rc;
		return error_errno("cannot build the seccomp filter");
	}
	/* Export the BPF so that the child installs it with one syscall. */
	int fd = memfd_create("wallprof-filter", MFD_CLOEXEC);
	if (fd < 0 || (rc = seccomp_export_bpf(ctx, fd)) < 0) {
		seccomp_release(ctx);
		if (fd >= 0)
			close(fd);
		return error("cannot export the seccomp filter");
	}
	seccomp_release(ctx);
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter))) {
		close(fd);
		return error("the seccomp filter has a bad size (%lld bytes)", (long long)size);
	}
	struct sock_filter *insns = xmalloc((size_t)size);
	if (pread(fd, insns, (size_t)size, 0) != size) {
		free(insns);
		close(fd);
		return error_errno("cannot read back the seccomp filter");
	}
	close(fd);
	cfg->prog.len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	cfg->prog.filter = insns;
	return 0;
}

void events_config_release(struct event_config *cfg)
{
	free(cfg->prog.filter);
	cfg->prog.filter = NULL;
	free(cfg->stack);
	cfg->stack = NULL;
}

/* ---- the state machine ---- */

static bool wanted(const struct event_config *cfg, long nr, const uint64_t *args)
{
	if (nr < 0 || nr >= SYSCALL_SET_MAX)
		return cfg->set.all;
	if (cfg->set.on[nr])
		return true;
	bool pi;
	if (cfg->locks && nr == SYS_futex)
		return futex_op_is_wait(args[1], &pi);
#ifdef SYS_futex_waitv
	if (cfg->locks && nr == SYS_futex_waitv)
		return true;
#endif
	return false;
}

static uint64_t rel_ns(const struct tracer *tr, mono_ns t)
{
	return t > tr->start ? t - tr->start : 0;
}

/* sendmmsg and recvmmsg return how many messages; the bytes are each
 * message's msg_len in the target's mmsghdr array (at +56 of 64 bytes). */
static uint64_t mmsg_bytes(const struct thread *t, uint64_t vec, int64_t count)
{
	uint64_t sum = 0;
	for (int64_t i = 0; i < count && i < 1024; i++) {
		uint32_t len;
		if (target_read(t->tid, vec + (uint64_t)i * 64 + 56, &len, sizeof(len)) !=
		    (ssize_t)sizeof(len))
			break;
		sum += len;
	}
	return sum;
}

/*
 * The bytes a finished call moved, to the object it worked on (its first
 * descriptor) and, for calls with two (sendfile's input, splice's and
 * copy_file_range's output), to the other one too: nginx's sendfile moves
 * a file's bytes to a socket, and both deserve them.
 */
static void count_bytes(struct tracer *tr, struct thread *t, const struct open_event *ev,
			int64_t result, uint64_t duration_ns, bool at_exit_stop)
{
	long nr = ev->nr;
	uint64_t moved = result > 0 ? (uint64_t)result : 0;
	bool rd = false, wr = false;
	int other = -1; /* the argument holding the second descriptor */
	bool other_rd = false;
	switch (nr) {
	case SYS_read:
	case SYS_pread64:
	case SYS_readv:
	case SYS_preadv:
	case SYS_preadv2:
	case SYS_recvfrom:
	case SYS_recvmsg: rd = true; break;
	case SYS_write:
	case SYS_pwrite64:
	case SYS_writev:
	case SYS_pwritev:
	case SYS_pwritev2:
	case SYS_sendto:
	case SYS_sendmsg: wr = true; break;
	case SYS_recvmmsg:
		rd = true;
		moved = at_exit_stop && result > 0 ? mmsg_bytes(t, ev->args[1], result) : 0;
		break;
	case SYS_sendmmsg:
		wr = true;
		moved = at_exit_stop && result > 0 ? mmsg_bytes(t, ev->args[1], result) : 0;
		break;
	case SYS_sendfile: wr = true, other = 1, other_rd = true; break;
	case SYS_splice:
	case SYS_copy_file_range: rd = true, other = 2; break;
	case SYS_tee: rd = true, other = 1; break;
	default: break;
	}
	recorder_object_call(tr->rec, ev->object, duration_ns, rd ? moved : 0, wr ? moved : 0);
	int32_t second =
		other >= 0 && moved && !t->foreign ? attribute_fd(tr, t, (int)ev->args[other]) : -1;
	if (second >= 0 && second != ev->object)
		recorder_object_bytes(tr->rec, second, other_rd ? moved : 0, other_rd ? 0 : moved);
}

/*
 * What a kept poll, select or epoll wait (e) waited on. A poll's array is
 * the program's and the kernel only writes its revents; an epoll's interest
 * list is read from fdinfo: both still hold at the call's end, so they are
 * read only for calls kept. A select's sets are its result by then, and
 * were read at its entry (ev, the open call; only select needs it). A
 * large epoll list is taken from its last read for a second
 * (EVENT_EPOLL_LARGE).
 */
static uint32_t wait_set_of(struct tracer *tr, struct thread *t, const struct profile_event *e,
			    const struct open_event *ev)
{
	struct wait_fd w[EVENT_SET_SHOWN];
	size_t total = 0;
	bool at_least = false;
	int n;
	pid_t pid = t->proc->as.pid;
	struct epoll_memo *memo = NULL;
	mono_ns now = 0;
	if (waitset_epoll(e->syscall)) {
		int epfd = (int)e->args[0];
		memo = &tr->events->epoll_memo[((unsigned)pid * 31u + (unsigned)epfd) %
					       EVENT_EPOLL_MEMO];
		now = mono_now();
		if (memo->set && memo->pid == pid && memo->epfd == epfd &&
		    now - memo->at < EVENT_EPOLL_REREAD_NS)
			return memo->set;
	}
	if (e->syscall == SYS_select || e->syscall == SYS_pselect6) {
		n = ev->set_read;
		total = ev->set_total;
		if (n > 0)
			memcpy(w, ev->set, (size_t)n * sizeof(*w));
	} else {
		n = waitset_read(pid, e->syscall, e->args, w, ARRAY_SIZE(w), &total, &at_least);
	}
	if (n < 0)
		return 0;
	char text[512];
	uint32_t set = recorder_wait_set(
		tr->rec, waitset_text(w, (size_t)n, total, at_least, text, sizeof(text)));
	if (memo && total > EVENT_EPOLL_LARGE)
		*memo = (struct epoll_memo){pid, (int)e->args[0], now, set};
	return set;
}

/* Count the call and keep it if long enough; its stack is taken now (the
 * thread sits at its syscall-exit stop, the stack still that of the call)
 * and unwound once it runs again. */
static void close_event(struct tracer *tr, struct thread *t, int64_t result, mono_ns end,
			bool at_exit_stop, bool unfinished)
{
	struct open_event *ev = &t->ev->call;
	struct profile_event e = {
		.t_ns = rel_ns(tr, ev->t0),
		.duration_ns = end > ev->t0 ? end - ev->t0 : 0,
		.tid = t->tid,
		.syscall = ev->nr,
		.result = result,
		.stack = UINT32_MAX,
		.object = ev->object,
		.owner = ev->owner,
		.unfinished = unfinished,
	};
	memcpy(e.args, ev->args, sizeof(e.args));
	ev->open = ev->restarting = false;
	/* Read at the call's end only: a wait cut short (EINTR) is closed at
	 * the next call, when its array or epoll may be gone. An epoll's is
	 * read once the thread runs again (after_resume): the interest list
	 * of a busy server is long, and the thread need not wait for it. */
	bool set_now = waitset_call(e.syscall) && !t->foreign &&
		       recorder_keeps(tr->rec, e.duration_ns) && (at_exit_stop || unfinished);
	bool epoll = waitset_epoll(ev->nr);
	if (set_now && !(epoll && at_exit_stop))
		e.wait_set = wait_set_of(tr, t, &e, ev);
	if (ev->object >= 0 && !unfinished)
		count_bytes(tr, t, ev, result, e.duration_ns, at_exit_stop);
	if (at_exit_stop && recorder_keeps(tr->rec, e.duration_ns) && !t->foreign &&
	    ptrace(PTRACE_GETREGS, t->tid, 0, &tr->events->regs) == 0) {
		stack_copy_read(t->tid, tr->events->regs.rsp, t->copy_window, tr->events->stack);
		tr->events->pending = e;
		tr->events->pending_tid = t->tid;
		tr->events->pending_set = set_now && epoll;
		return;
	}
	if (set_now && epoll && at_exit_stop)
		e.wait_set = wait_set_of(tr, t, &e, ev);
	recorder_syscall(tr->rec, &e);
}

/* close, dup2, dup3, close_range: forget what the descriptors were. */
static void watch_fds(struct fd_table *fds, long nr, const uint64_t *args)
{
	/* A socket's name changes when it is bound, connected or listens:
	 * described again at its next call. */
	if (nr == SYS_close || nr == SYS_bind || nr == SYS_connect || nr == SYS_listen)
		fd_table_forget(fds, (int)args[0]);
	else if (nr == SYS_dup2 || nr == SYS_dup3)
		fd_table_forget(fds, (int)args[1]);
#ifdef SYS_close_range
	else if (nr == SYS_close_range)
		fd_table_forget_all(fds);
#endif
}

/*
 * The path a call names (openat's, stat's, execve's...), read from the
 * target's memory while the thread is stopped at the call's entry, so that
 * it is the one the call sees. "" for calls without one, or on failure.
 */
static void read_path(const struct thread *t, long nr, const uint64_t *args, char *buf, size_t size)
{
	int arg = syscall_path_arg(nr);
	buf[0] = '\0';
	if (arg < 0 || !args[arg])
		return;
	ssize_t n = target_read(t->tid, args[arg], buf, size - 1);
	if (n <= 0) {
		/* It may end near a page end: read up to there. */
		size_t room = 4096 - (size_t)(args[arg] & 4095);
		n = room < size - 1 ? target_read(t->tid, args[arg], buf, room) : -1;
	}
	buf[n > 0 ? (size_t)n : 0] = '\0';
	if (n > 0 && !memchr(buf, '\0', (size_t)n))
		buf[size - 1] = '\0'; /* cut: longer than we keep */
}

static void open_event(struct tracer *tr, struct thread *t, long nr, const uint64_t *args,
		       mono_ns now)
{
	struct open_event *ev = &t->ev->call;
	/* The same call, going on: run again, or as restart_syscall, which
	 * only ever resumes the thread's last call. (Under the filter a
	 * restart_syscall, when traced, brings two stops: its entry stop
	 * continues the call, and its seccomp stop must not reopen it: 26 of
	 * a Go program's nanosleeps in 3 s were counted as failed, and their
	 * restarts as calls of their own.) */
	if (ev->open && ((ev->restarting && ev->nr == nr) || nr == SYS_restart_syscall)) {
		ev->restarting = false;
		return;
	}
	if (ev->open) /* interrupted and not restarted: the program saw EINTR */
		close_event(tr, t, -EINTR, now, false, false);
	ev->open = true;
	ev->restarting = false;
	ev->restart_rval = 0;
	ev->nr = (int16_t)nr;
	memcpy(ev->args, args, sizeof(ev->args));
	ev->t0 = now;
	ev->object = -1;
	ev->owner = 0;
	read_path(t, nr, args, ev->path, sizeof(ev->path));
	ev->set_read = -1;
	if ((nr == SYS_select || nr == SYS_pselect6) && !t->foreign)
		ev->set_read = waitset_read(t->proc->as.pid, nr, args, ev->set, ARRAY_SIZE(ev->set),
					    &ev->set_total, NULL);
	if (ev->path[0])
		ev->object = recorder_object(tr->rec, "path", ev->path, -1, 0, 0);
	/* What else the call works on is looked up once the thread runs
	 * again. */
	t->ev->attribute = !t->foreign && !ev->path[0];
}

static int resume_request(const struct tracer *tr, const struct thread *t)
{
	const struct event_config *cfg = tr->events;
	if (!cfg || cfg->method == TRACE_NONE)
		return PTRACE_CONT;
	if (cfg->method == TRACE_PTRACE)
		return PTRACE_SYSCALL;
	/* seccomp: entries come as seccomp stops, but while a traced call is
	 * open every other stop on its way (an exec or fork event, a signal,
	 * a restart) must resume with PTRACE_SYSCALL, or its exit is lost.
	 * watch: the same, for the one wait followed. */
	return t->ev->call.open ? PTRACE_SYSCALL : PTRACE_CONT;
}

static void watch_begin(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs)
{
	/* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK: the wait was cut by our
	 * stop and runs again when resumed. */
	if (tr->passive || t->ev->call.open || (long)regs->orig_rax != SYS_futex ||
	    !syscall_result_restarts((int64_t)regs->rax))
		return;
	uint64_t args[6];
	syscall_args_of(regs, args);
	struct activity what = {ST_LOCK, SYS_futex, t->ev->watch_object, t->ev->watch_owner};
	mono_ns t0 = t->ev->watch_t0;
	if (regs->rdi != t->ev->watch_uaddr) {
		/* Between the look and the stop it went on to another futex
		 * word (from a barrier to the mutex after it): that wait
		 * began since, on its own object, if it is a lock wait. */
		if (syscall_wait_state(SYS_futex, args) != ST_LOCK)
			return;
		attribute_call(tr, t, SYS_futex, args, &what);
		t0 = mono_now();
	}
	struct open_event *ev = &t->ev->call;
	ev->open = true;
	ev->restarting = true;
	ev->restart_rval = 0;
	ev->nr = SYS_futex;
	memcpy(ev->args, args, sizeof(ev->args));
	ev->t0 = t0;
	ev->object = what.object;
	ev->owner = what.owner;
	ev->path[0] = '\0';
}

/*
 * A process has one tracer. While wallprof traces a thread, its
 * ptrace(PTRACE_TRACEME) fails with EPERM, and so does anyone's
 * PTRACE_ATTACH or PTRACE_SEIZE of it (a debugger, strace, a program that
 * checks whether it is being debugged). Seen here under --syscalls and
 * --locks; tracer_warn_ptrace_users says it in advance otherwise. Once.
 */
static void watch_ptrace(struct tracer *tr, struct thread *t, const uint64_t *args)
{
	long req = (long)args[0];
	bool self = req == PTRACE_TRACEME;
	if (tr->ptrace_warned || !(self || ((req == PTRACE_ATTACH || req == PTRACE_SEIZE) &&
					    tracer_find(tr, (pid_t)args[1]))))
		return;
	tr->ptrace_warned = true;
	/* A foreign thread is a child's, followed for the filter alone. */
	pid_t pid = t->proc ? t->proc->pid : t->tid;
	bool root = false;
	for (size_t i = 0; i < tr->n_roots; i++)
		root |= t->proc && tr->roots[i] == pid;
	warning("thread %d of process %d calls ptrace(%s): it fails with EPERM while wallprof "
		"traces %s (a process has one tracer)",
		(int)t->tid, (int)pid,
		self		       ? "PTRACE_TRACEME"
		: req == PTRACE_ATTACH ? "PTRACE_ATTACH"
				       : "PTRACE_SEIZE",
		self ? "it" : "its target");
	bool seccomp = tr->events && tr->events->method == TRACE_SECCOMP;
	if ((!root || !self) && (tr->follow_forks || seccomp))
		hint("record without %s%s%s: the command's children are then not traced",
		     tr->follow_forks ? "-f" : "", tr->follow_forks && seccomp ? " and " : "",
		     seccomp ? "--syscalls and --locks" : "");
}

static bool silent_call(long nr)
{
	for (size_t i = 0; i < ARRAY_SIZE(silent_calls); i++)
		if (seccomp_syscall_resolve_name(silent_calls[i]) == nr)
			return true;
	return false;
}

/* Did our filter ask for this stop? The data says whose filter did; the
 * call tells our data from a program's filter that uses the same value. */
static bool ours(struct tracer *tr, long nr, const uint64_t *args, uint32_t data)
{
	const struct event_config *cfg = tr->events;
	bool mine = (data == TRACE_DATA && (cfg->set.all || wanted(cfg, nr, args))) ||
		    (data == SILENT_DATA && silent_call(nr));
	if (!mine && (data == TRACE_DATA || data == SILENT_DATA) && !tr->foreign_data_warned) {
		tr->foreign_data_warned = true;
		warning("the command's own seccomp filter hands calls to a tracer with the data "
			"wallprof uses (0x%x): those of them wallprof traces cannot be told from "
			"its own and run as traced calls",
			data);
	}
	return mine;
}

/*
 * A SECCOMP_RET_TRACE of the program's own filter: with no tracer, the call
 * fails with ENOSYS and is not executed (seccomp(2)). So it does here:
 * number -1 skips the call, and rax is its result.
 */
static int refuse_foreign(struct tracer *tr, struct thread *t, long nr, uint32_t data)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &regs) == 0) {
		regs.orig_rax = (uint64_t)-1;
		regs.rax = (uint64_t)-ENOSYS;
		if (ptrace(PTRACE_SETREGS, t->tid, 0, &regs) == 0)
			return resume_request(tr, t);
	}
	warning("cannot refuse %s to the command as its own seccomp filter asks (data 0x%x)",
		syscall_name_or_number(nr), data);
	return resume_request(tr, t);
}

static int on_seccomp(struct tracer *tr, struct thread *t)
{
	struct __ptrace_syscall_info info;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(info), &info) <= 0 ||
	    info.op != PTRACE_SYSCALL_INFO_SECCOMP)
		return PTRACE_CONT;
	if (tr->passive || info.arch != AUDIT_ARCH_X86_64) {
		/* Not recording any more, or a 32-bit call (other numbers):
		 * let it run. */
		return PTRACE_CONT;
	}
	long nr = (long)info.seccomp.nr;
	if (!ours(tr, nr, info.seccomp.args, info.seccomp.ret_data))
		return refuse_foreign(tr, t, nr, info.seccomp.ret_data);
	if (!t->foreign)
		watch_fds(&t->proc->fds, nr, info.seccomp.args);
	if (nr == SYS_ptrace)
		watch_ptrace(tr, t, info.seccomp.args);
	/* A child not followed (no -f) stops here only because it inherited
	 * the filter: its calls are not the profile's, as strace without -f
	 * does not count them. */
	if (info.seccomp.ret_data == SILENT_DATA || t->foreign)
		return PTRACE_CONT;
	open_event(tr, t, nr, info.seccomp.args, mono_now());
	return PTRACE_SYSCALL;
}

static int on_syscall_stop(struct tracer *tr, struct thread *t)
{
	struct __ptrace_syscall_info info;
	mono_ns now = mono_now();
	const struct event_config *cfg = tr->events;
	if (tr->passive) /* the recording belongs to the writer now */
		return cfg && cfg->method == TRACE_PTRACE ? PTRACE_SYSCALL : PTRACE_CONT;
	if (!cfg || ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof(info), &info) <= 0)
		return resume_request(tr, t);
	if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
		long nr = (long)info.entry.nr;
		if (cfg->method == TRACE_WATCH) {
			/* The followed wait goes on (restarted), or a signal
			 * handler runs first: the wait ended there, cut by the
			 * signal; a later tick may see it begin again. */
			if (t->ev->call.open && nr != t->ev->call.nr && nr != SYS_restart_syscall)
				close_event(tr, t, -EINTR, now, false, false);
			else if (t->ev->call.open)
				t->ev->call.restarting = false;
			return resume_request(tr, t);
		}
		if (!t->foreign && info.arch == AUDIT_ARCH_X86_64)
			watch_fds(&t->proc->fds, nr, info.entry.args);
		if (nr == SYS_ptrace && info.arch == AUDIT_ARCH_X86_64)
			watch_ptrace(tr, t, info.entry.args);
		/* Under the filter a traced call's seccomp stop opens it; an
		 * entry stop there is a call resumed after a restart or a
		 * repair (repair.h), which only restart_syscall continues. */
		bool opens = t->ev->call.restarting ? nr == SYS_restart_syscall
						    : cfg->method == TRACE_PTRACE &&
							      wanted(cfg, nr, info.entry.args);
		if (info.arch == AUDIT_ARCH_X86_64 && opens)
			open_event(tr, t, nr, info.entry.args, now);
		/* After an entry stop the exit stop is wanted. */
		return PTRACE_SYSCALL;
	}
	if (info.op != PTRACE_SYSCALL_INFO_EXIT || !t->ev->call.open) {
		return resume_request(tr, t);
	}
	int64_t rval = info.exit.rval;
	if (info.exit.is_error && syscall_result_restarts(rval)) {
		t->ev->call.restarting = true;
		t->ev->call.restart_rval = rval;
		t->ev->call.restart_at = now;
		return resume_request(tr, t);
	}
	close_event(tr, t, rval, now, true, false);
	return resume_request(tr, t);
}

static void after_resume(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs)
{
	(void)regs;
	if (t->ev->attribute) {
		t->ev->attribute = false;
		struct activity what;
		attribute_call(tr, t, t->ev->call.nr, t->ev->call.args, &what);
		t->ev->call.object = what.object;
		t->ev->call.owner = what.owner;
	}
	if (tr->events->pending_tid != t->tid)
		return;
	tr->events->pending_tid = 0;
	tr->events->pending.stack =
		snapshot_unwind(tr, t, &tr->events->regs, true, tr->events->stack);
	if (tr->events->pending_set)
		tr->events->pending.wait_set = wait_set_of(tr, t, &tr->events->pending, NULL);
	recorder_syscall(tr->rec, &tr->events->pending);
}

void events_finish_open(struct tracer *tr)
{
	mono_ns now = mono_now();
	for (size_t i = 0; i < tr->n_threads; i++) {
		struct thread *t = tr->threads[i];
		if (t->ev->call.open)
			close_event(tr, t, 0, now, false, true);
	}
}

const struct open_event *events_open_call(const struct thread *t)
{
	return t->ev && t->ev->call.open ? &t->ev->call : NULL;
}

void events_watch(struct thread *t, mono_ns tick, uint64_t uaddr, const struct activity *what)
{
	t->ev->watch_wait = true;
	t->ev->watch_t0 = tick;
	t->ev->watch_uaddr = uaddr;
	t->ev->watch_object = what->object;
	t->ev->watch_owner = what->owner;
}

/* ---- the tracer's events (tracer_client) ---- */

static void thread_new(struct tracer *tr, struct thread *t)
{
	(void)tr;
	t->ev = xcalloc(1, sizeof(*t->ev));
}

static void thread_gone(struct tracer *tr, struct thread *t)
{
	/* Dead in a call a signal cut (its exit said -ERESTART*, and the
	 * signal killed it): that exit was the call's last, and it counts
	 * with that error, as strace counts it. */
	struct open_event *ev = &t->ev->call;
	if (ev->open && ev->restarting && ev->restart_rval && !tr->passive && !t->foreign)
		close_event(tr, t, ev->restart_rval, ev->restart_at, false, false);
	free(t->ev);
	t->ev = NULL;
}

/*
 * An exec: the thread that goes on under the pid is either the one that
 * called execve (its call is open and returns at the exec's exit stop) or,
 * when another thread exec'd, the main thread's record, whose call died
 * with it: that one never returns and is dropped, as at a thread's exit.
 */
static void on_exec(struct tracer *tr, struct thread *t)
{
	(void)tr;
	struct open_event *ev = &t->ev->call;
	if (ev->open && ev->nr != SYS_execve && ev->nr != SYS_execveat)
		ev->open = ev->restarting = false;
}

/*
 * Exact tracing of an attached process: a thread that was blocked in a
 * traced call when it was attached runs free of syscall stops until a stop
 * arms it (tracer_arm_syscalls). If that stop cut a traced call, the call
 * goes on when resumed (often as restart_syscall, which is not in the
 * traced set): it is opened here, from the stop, so that its end, or its
 * being unfinished at the end, is recorded (a server's poll(-1) for the
 * whole recording was missing, and MariaDB's io_uring_enter, and the polls
 * of its idle connections, which an earlier stop had left as
 * restart_syscall).
 */
static void arm_open(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs,
		     bool rewound)
{
	const struct event_config *cfg = tr->events;
	long nr = (long)regs->orig_rax, rax = (long)regs->rax;
	/* Cut and restarted by the kernel, or cut with EINTR and rewound by
	 * repair.c (io_uring_enter): either way the call goes on. */
	bool goes_on = syscall_result_restarts(rax) || (rewound && rax == -EINTR);
	if (!cfg || cfg->method != TRACE_PTRACE || tr->passive || t->foreign || t->syscall_stops ||
	    t->ev->call.open || t->proc->compat32 || !goes_on)
		return;
	/* Already a restart_syscall when we came (an earlier stop, of a
	 * debugger or of an earlier recording, cut it): the call it resumes. */
	if (nr == SYS_restart_syscall)
		nr = addrspace_restarted_call(&t->proc->as, regs->rip);
	if (nr < 0)
		return;
	uint64_t args[6];
	syscall_args_of(regs, args);
	if (!wanted(cfg, nr, args))
		return;
	mono_ns now = mono_now();
	open_event(tr, t, nr, args, now);
	t->ev->call.restarting = true;
	t->ev->call.restart_rval = rax == -EINTR ? 0 : rax;
	t->ev->call.restart_at = now;
}

/* The stop a tick asked for came: if it was to follow a wait, follow it. */
static void captured(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs)
{
	if (t->ev->watch_wait)
		watch_begin(tr, t, regs);
	t->ev->watch_wait = false;
}

static int syscall_stop(struct tracer *tr, struct thread *t, bool repaired)
{
	if (!repaired)
		return on_syscall_stop(tr, t);
	/* Our stop ended a traced call that now runs again: it is still the
	 * same call. */
	t->ev->call.restarting = t->ev->call.open;
	return resume_request(tr, t);
}

static const struct tracer_client events_client = {
	.thread_new = thread_new,
	.thread_gone = thread_gone,
	.exec = on_exec,
	.captured = captured,
	.interrupted = arm_open,
	.seccomp_stop = on_seccomp,
	.syscall_stop = syscall_stop,
	.resume_request = resume_request,
	.resumed = after_resume,
};

void events_start(struct tracer *tr, struct event_config *cfg)
{
	tr->events = cfg;
	tr->sees_every_close = cfg->method == TRACE_SECCOMP || cfg->method == TRACE_PTRACE;
	tr->child_filter = cfg->method == TRACE_SECCOMP ? &cfg->prog : NULL;
	if (!cfg->stack)
		cfg->stack = xmalloc(sizeof(*cfg->stack));
	tracer_add_client(tr, &events_client);
}
