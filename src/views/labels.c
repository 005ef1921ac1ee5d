/*
 * views/labels.c: the words for a sample's state, shared by every view so
 * that the report, the folded stacks and dump say the same thing.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "syscalls.h"
#include "util.h"
#include "views.h"
#include "waitset.h"

const char *process_label(const struct profile *p, int tid)
{
	size_t pids = 0;
	for (size_t i = 0; i < p->n_processes && pids < 2; i++)
		pids += p->processes[i].pid != 0;
	if (pids < 2)
		return NULL;
	const struct profile_thread *t = profile_find_thread(p, tid);
	const struct profile_process *pp = t && t->pid ? profile_find_process(p, t->pid) : NULL;
	if (!pp)
		return NULL;
	if (pp->title && *pp->title)
		return pp->title;
	return pp->exe && *pp->exe ? base_name(pp->exe) : NULL;
}

const char *sample_leaf_label(const struct profile_sample *s, char *buf, size_t size)
{
	const char *name = s->syscall >= 0 ? syscall_name_or_number(s->syscall) : NULL;
	switch (s->state) {
	case ST_ONCPU: return "[on-cpu]";
	case ST_RUNNABLE: return "[runnable]";
	case ST_STOPPED: return "[stopped]";
	case ST_DISK: snprintf(buf, size, name ? "[disk: %s]" : "[disk]", name); return buf;
	case ST_OTHER: return name ? (snprintf(buf, size, "[blocked: %s]", name), buf) : "[other]";
	default: snprintf(buf, size, name ? "[blocked: %s]" : "[blocked]", name); return buf;
	}
}

const char *sample_state_text(const struct profile_sample *s, char *buf, size_t size)
{
	const char *sc = s->syscall >= 0 ? syscall_name_or_number(s->syscall) : NULL;
	switch (s->state) {
	case ST_ONCPU: return "on-CPU";
	case ST_RUNNABLE: return "runnable (waiting for a CPU)";
	case ST_LOCK: snprintf(buf, size, "lock wait (%s)", sc ? sc : "futex"); return buf;
	case ST_SLEEP: snprintf(buf, size, "sleep (%s)", sc ? sc : "?"); return buf;
	case ST_DISK:
		snprintf(buf, size, "disk wait%s%s", sc ? ": " : "", sc ? sc : "");
		return buf;
	case ST_STOPPED: return "stopped (job control)";
	case ST_SYSCALL: snprintf(buf, size, "blocked: %s", sc ? sc : "?"); return buf;
	default: return "other";
	}
}

const char *object_text(const struct profile *p, int32_t object, char *buf, size_t size)
{
	if (object < 0 || (size_t)object >= p->n_objects)
		return "?";
	const struct profile_object *o = &p->objects[object];
	if (o->lock_kind)
		snprintf(buf, size, "%s %s", o->lock_kind, disp(o->name));
	else if (!strcmp(o->kind, "file") || !strcmp(o->kind, "socket") ||
		 !strncmp(o->name, o->kind, strlen(o->kind)))
		snprintf(buf, size, "%s", disp(o->name));
	else
		snprintf(buf, size, "%s %s", o->kind, disp(o->name));
	return buf;
}

static const char *futex_op_text(uint64_t op)
{
	static const char *const names[] = {
		[FUTEX_WAIT] = "FUTEX_WAIT",
		[FUTEX_WAKE] = "FUTEX_WAKE",
		[FUTEX_REQUEUE] = "FUTEX_REQUEUE",
		[FUTEX_CMP_REQUEUE] = "FUTEX_CMP_REQUEUE",
		[FUTEX_WAKE_OP] = "FUTEX_WAKE_OP",
		[FUTEX_LOCK_PI] = "FUTEX_LOCK_PI",
		[FUTEX_UNLOCK_PI] = "FUTEX_UNLOCK_PI",
		[FUTEX_TRYLOCK_PI] = "FUTEX_TRYLOCK_PI",
		[FUTEX_WAIT_BITSET] = "FUTEX_WAIT_BITSET",
		[FUTEX_WAKE_BITSET] = "FUTEX_WAKE_BITSET",
		[FUTEX_WAIT_REQUEUE_PI] = "FUTEX_WAIT_REQUEUE_PI",
		[FUTEX_CMP_REQUEUE_PI] = "FUTEX_CMP_REQUEUE_PI",
		[FUTEX_LOCK_PI2] = "FUTEX_LOCK_PI2",
	};
	uint64_t cmd = op & FUTEX_CMD_MASK;
	return cmd < ARRAY_SIZE(names) && names[cmd] ? names[cmd] : "FUTEX_?";
}

/* setsockopt's and getsockopt's level and option, by name as strace shows
 * them: SOL_SOCKET, SO_REUSEADDR; a number when not known. */
static void sockopt_text(uint64_t level, uint64_t opt, char *buf, size_t size)
{
	static const struct {
		int level, opt;
		const char *name;
	} opts[] = {
		{SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR"},
		{SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT"},
		{SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE"},
		{SOL_SOCKET, SO_LINGER, "SO_LINGER"},
		{SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"},
		{SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF"},
		{SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO"},
		{SOL_SOCKET, SO_SNDTIMEO, "SO_SNDTIMEO"},
		{SOL_SOCKET, SO_ERROR, "SO_ERROR"},
		{SOL_SOCKET, SO_TYPE, "SO_TYPE"},
		{SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST"},
		{SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY"},
		{SOL_SOCKET, SO_PEERCRED, "SO_PEERCRED"},
		{SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT"},
		{SOL_SOCKET, SO_ZEROCOPY, "SO_ZEROCOPY"},
		{SOL_SOCKET, SO_BINDTODEVICE, "SO_BINDTODEVICE"},
		{IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY"},
		{IPPROTO_TCP, TCP_CORK, "TCP_CORK"},
		{IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE"},
		{IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL"},
		{IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT"},
		{IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT"},
		{IPPROTO_TCP, TCP_FASTOPEN, "TCP_FASTOPEN"},
		{IPPROTO_TCP, TCP_INFO, "TCP_INFO"},
		{IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT"},
		{IPPROTO_TCP, TCP_QUICKACK, "TCP_QUICKACK"},
		{IPPROTO_TCP, TCP_CONGESTION, "TCP_CONGESTION"},
		{IPPROTO_IP, IP_TOS, "IP_TOS"},
		{IPPROTO_IP, IP_TTL, "IP_TTL"},
		{IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY"},
	};
	const char *lv = (int)level == SOL_SOCKET     ? "SOL_SOCKET"
			 : (int)level == IPPROTO_TCP  ? "SOL_TCP"
			 : (int)level == IPPROTO_IP   ? "SOL_IP"
			 : (int)level == IPPROTO_IPV6 ? "SOL_IPV6"
						      : NULL;
	const char *name = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(opts) && !name; i++)
		if (opts[i].level == (int)level && opts[i].opt == (int)opt)
			name = opts[i].name;
	char l[16], o[16];
	snprintf(l, sizeof(l), "%d", (int)level);
	snprintf(o, sizeof(o), "%d", (int)opt);
	snprintf(buf, size, "%s, %s", lv ? lv : l, name ? name : o);
}

/* open's flags as strace shows them: O_RDONLY|O_CLOEXEC. */
static const char *open_flags_text(uint64_t flags, char *buf, size_t size)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} bits[] = {
		{O_CREAT, "O_CREAT"},	      {O_EXCL, "O_EXCL"},
		{O_NOCTTY, "O_NOCTTY"},	      {O_TRUNC, "O_TRUNC"},
		{O_APPEND, "O_APPEND"},	      {O_NONBLOCK, "O_NONBLOCK"},
		{O_DSYNC, "O_DSYNC"},	      {O_DIRECT, "O_DIRECT"},
		{O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
		{O_NOATIME, "O_NOATIME"},     {O_CLOEXEC, "O_CLOEXEC"},
		{O_PATH, "O_PATH"},	      {O_TMPFILE & ~O_DIRECTORY, "O_TMPFILE"},
	};
	uint64_t acc = flags & O_ACCMODE;
	size_t n = (size_t)snprintf(buf, size, "%s",
				    acc == O_RDONLY   ? "O_RDONLY"
				    : acc == O_WRONLY ? "O_WRONLY"
						      : "O_RDWR");
	for (size_t i = 0; i < ARRAY_SIZE(bits) && n < size; i++)
		if ((flags & bits[i].bit) == bits[i].bit && bits[i].bit)
			n += (size_t)snprintf(buf + n, size - n, "|%s", bits[i].name);
	return buf;
}

static const char *dirfd_text(uint64_t fd, char *buf, size_t size)
{
	if ((int)fd == AT_FDCWD)
		return "AT_FDCWD";
	snprintf(buf, size, "%d", (int)fd);
	return buf;
}

/* A call that names a path: openat(AT_FDCWD, "/etc/passwd", O_RDONLY). */
static void path_call_text(int nr, const uint64_t args[6], const char *name, const char *path,
			   char *buf, size_t size)
{
	char fl[160], dfd[16];
	if (nr == SYS_openat)
		snprintf(buf, size, "openat(%s, \"%s\", %s)", dirfd_text(args[0], dfd, sizeof(dfd)),
			 path, open_flags_text(args[2], fl, sizeof(fl)));
	else if (nr == SYS_open)
		snprintf(buf, size, "open(\"%s\", %s)", path,
			 open_flags_text(args[1], fl, sizeof(fl)));
	else if (syscall_path_arg(nr) == 1)
		snprintf(buf, size, "%s(%s, \"%s\", ...)", name,
			 dirfd_text(args[0], dfd, sizeof(dfd)), path);
	else
		snprintf(buf, size, "%s(\"%s\", ...)", name, path);
}

/* wait4's and waitid's options as strace names them (bit 2 is WUNTRACED
 * to wait4, WSTOPPED to waitid); bits without a name in hex. */
static const char *wait_options_text(uint64_t options, bool waitid, char *buf, size_t size)
{
	const struct {
		uint64_t bit;
		const char *name;
	} bits[] = {
		{WNOHANG, "WNOHANG"}, {WUNTRACED, waitid ? "WSTOPPED" : "WUNTRACED"},
		{WEXITED, "WEXITED"}, {WCONTINUED, "WCONTINUED"},
		{WNOWAIT, "WNOWAIT"}, {__WNOTHREAD, "__WNOTHREAD"},
		{__WALL, "__WALL"},   {__WCLONE, "__WCLONE"},
	};
	size_t n = 0;
	buf[0] = '\0';
	uint64_t rest = options;
	for (size_t i = 0; i < ARRAY_SIZE(bits) && n < size; i++)
		if (rest & bits[i].bit) {
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "|" : "",
					      bits[i].name);
			rest &= ~bits[i].bit;
		}
	if (rest && n < size)
		n += (size_t)snprintf(buf + n, size - n, "%s0x%llx", n ? "|" : "",
				      (unsigned long long)rest);
	if (!n)
		snprintf(buf, size, "0");
	return buf;
}

/* poll's and epoll's timeout: ", timeout 30 ms", or ", no timeout" (-1). */
static void timeout_text(int ms, char *buf, size_t size)
{
	if (ms < 0)
		snprintf(buf, size, ", no timeout");
	else
		snprintf(buf, size, ", timeout %d ms", ms);
}

/* clock_nanosleep's clock, as strace names it. */
static const char *clock_text(uint64_t clock, char *buf, size_t size)
{
	static const char *const names[] = {
		[CLOCK_REALTIME] = "CLOCK_REALTIME",
		[CLOCK_MONOTONIC] = "CLOCK_MONOTONIC",
		[CLOCK_PROCESS_CPUTIME_ID] = "CLOCK_PROCESS_CPUTIME_ID",
		[CLOCK_THREAD_CPUTIME_ID] = "CLOCK_THREAD_CPUTIME_ID",
		[CLOCK_MONOTONIC_RAW] = "CLOCK_MONOTONIC_RAW",
		[CLOCK_BOOTTIME] = "CLOCK_BOOTTIME",
		[CLOCK_TAI] = "CLOCK_TAI",
	};
	if (clock < ARRAY_SIZE(names) && names[clock])
		return names[clock];
	snprintf(buf, size, "%d", (int)clock);
	return buf;
}

/* Calls without a descriptor or path whose arguments are plain values:
 * those worth naming. False for the rest. */
static bool other_call_text(int nr, const uint64_t args[6], const char *name, char *buf,
			    size_t size)
{
	static const char *const epoll_ops[] = {"", "EPOLL_CTL_ADD", "EPOLL_CTL_DEL",
						"EPOLL_CTL_MOD"};
	static const char *const id_types[] = {"P_ALL", "P_PID", "P_PGID", "P_PIDFD"};
	char a[64], b[64];
	switch (nr) {
	case SYS_wait4:
		if ((int)args[0] == -1)
			snprintf(a, sizeof(a), "any child");
		else if ((int)args[0] == 0)
			snprintf(a, sizeof(a), "a child in its process group");
		else if ((int)args[0] < -1)
			snprintf(a, sizeof(a), "a child in process group %d", -(int)args[0]);
		else
			snprintf(a, sizeof(a), "pid %d", (int)args[0]);
		snprintf(buf, size, "wait4(%s, %s)", a,
			 wait_options_text(args[2], false, b, sizeof(b)));
		return true;
	case SYS_waitid:
		if (args[0] >= ARRAY_SIZE(id_types))
			snprintf(a, sizeof(a), "%d, %d", (int)args[0], (int)args[1]);
		else if (args[0] == P_ALL)
			snprintf(a, sizeof(a), "P_ALL");
		else
			snprintf(a, sizeof(a), "%s %d", id_types[args[0]], (int)args[1]);
		snprintf(buf, size, "waitid(%s, %s)", a,
			 wait_options_text(args[3], true, b, sizeof(b)));
		return true;
	case SYS_clock_nanosleep:
		snprintf(buf, size, "clock_nanosleep(%s%s, ...)", clock_text(args[0], a, sizeof(a)),
			 args[1] & TIMER_ABSTIME ? ", TIMER_ABSTIME" : "");
		return true;
	case SYS_nanosleep:
	case SYS_pause:
	case SYS_rt_sigsuspend:
	case SYS_rt_sigtimedwait:
		snprintf(buf, size, "%s(%s)", name, nr == SYS_pause ? "" : "...");
		return true;
	case SYS_epoll_ctl:
		snprintf(buf, size, "epoll_ctl(fd %d, %s, fd %d, ...)", (int)args[0],
			 args[1] < ARRAY_SIZE(epoll_ops) && args[1] ? epoll_ops[args[1]] : "?",
			 (int)args[2]);
		return true;
	case SYS_epoll_create1:
		snprintf(buf, size, "epoll_create1(%s)",
			 args[0] & EPOLL_CLOEXEC ? "EPOLL_CLOEXEC" : "0");
		return true;
	case SYS_semop:
	case SYS_semtimedop:
		snprintf(buf, size, "%s(semid %d, %llu op%s, ...)", name, (int)args[0],
			 (unsigned long long)args[2], args[2] == 1 ? "" : "s");
		return true;
	case SYS_msgrcv:
	case SYS_msgsnd:
		snprintf(buf, size, "%s(msqid %d, %llu bytes, ...)", name, (int)args[0],
			 (unsigned long long)args[2]);
		return true;
	default: return false;
	}
}

const char *call_text(const struct profile *p, int nr, const uint64_t args[6], int32_t object,
		      const char *set, char *buf, size_t size)
{
	const char *name = syscall_name_or_number(nr);
	char obj[400];
	bool have_obj = object >= 0 && (size_t)object < p->n_objects;
	if (have_obj)
		object_text(p, object, obj, sizeof(obj));
	if (syscall_path_arg(nr) >= 0 && have_obj && !strcmp(p->objects[object].kind, "path")) {
		path_call_text(nr, args, name, p->objects[object].name, buf, size);
	} else if (nr == SYS_futex) {
		snprintf(buf, size, "futex(%s, %s%s, %llu)", have_obj ? obj : "?",
			 futex_op_text(args[1]), args[1] & FUTEX_PRIVATE_FLAG ? "_PRIVATE" : "",
			 (unsigned long long)args[2]);
	} else if (nr == SYS_poll || nr == SYS_ppoll) {
		char timeout[32] = ", ...", count[32];
		if (nr == SYS_poll)
			timeout_text((int)args[2], timeout, sizeof(timeout));
		snprintf(count, sizeof(count), "%llu fd%s", (unsigned long long)args[1],
			 args[1] == 1 ? "" : "s");
		snprintf(buf, size, "%s([%s]%s)", name, set ? set : count, timeout);
	} else if (nr == SYS_select || nr == SYS_pselect6) {
		snprintf(buf, size, "%s(nfds %d%s%s%s, ...)", name, (int)args[0], set ? ", [" : "",
			 set ? set : "", set ? "]" : "");
	} else if (set && waitset_epoll(nr)) {
		char timeout[32] = "";
		if (nr != SYS_epoll_pwait2)
			timeout_text((int)args[3], timeout, sizeof(timeout));
		snprintf(buf, size, "%s(fd %d = epoll [%s]%s)", name, (int)args[0], set, timeout);
	} else if (syscall_takes_fd(nr)) {
		int fd = (int)args[0];
		bool counted = nr == SYS_read || nr == SYS_write || nr == SYS_pread64 ||
			       nr == SYS_pwrite64 || nr == SYS_recvfrom || nr == SYS_sendto;
		char rest[80] = ", ...";
		if (counted)
			snprintf(rest, sizeof(rest), ", %llu bytes", (unsigned long long)args[2]);
		else if (nr == SYS_fsync || nr == SYS_fdatasync || nr == SYS_close)
			rest[0] = '\0';
		else if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait)
			timeout_text((int)args[3], rest, sizeof(rest));
		else if (nr == SYS_setsockopt || nr == SYS_getsockopt) {
			char so[64];
			sockopt_text(args[1], args[2], so, sizeof(so));
			snprintf(rest, sizeof(rest), ", %s, ...", so);
		}
		if (have_obj)
			snprintf(buf, size, "%s(fd %d = %s%s)", name, fd, obj, rest);
		else
			snprintf(buf, size, "%s(fd %d%s)", name, fd, rest);
	} else if (!other_call_text(nr, args, name, buf, size)) {
		snprintf(buf, size, "%s(0x%llx, 0x%llx, 0x%llx, ...)", name,
			 (unsigned long long)args[0], (unsigned long long)args[1],
			 (unsigned long long)args[2]);
	}
	return buf;
}
