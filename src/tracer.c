/*
 * tracer.c: seizing and launching, the thread table, ptrace stop handling,
 * and the short stop that takes a snapshot. See tracer.h.
 *
 * Stop handling follows ptrace(2) for PTRACE_SEIZE'd tracees:
 *  - signal-delivery stops re-inject their signal;
 *  - PTRACE_EVENT_STOP with SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU is a group-stop
 *    and is resumed with PTRACE_LISTEN, so the user's Ctrl-Z still holds;
 *  - any stop satisfies a pending PTRACE_INTERRUPT: if we asked for a
 *    stop, whatever stop comes first is the one we sample at;
 *  - stops of unknown tids are new threads whose first stop overtook their
 *    parent's clone event.
 */
#include "tracer.h"

#include "symbols.h"

#include <elf.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void tracer_init(struct tracer *tr, struct recorder *rec)
{
	memset(tr, 0, sizeof(*tr));
	tr->rec = rec;
	tr->stack = xmalloc(sizeof(*tr->stack));
	tr->exit_status = -1;
	tr->start = mono_now();
}

void tracer_add_client(struct tracer *tr, const struct tracer_client *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(tr->clients); i++)
		if (!tr->clients[i]) {
			tr->clients[i] = c;
			return;
		}
	die(EXIT_FAILURE_, "too many tracer clients");
}

static void add_root(struct tracer *tr, pid_t pid);
static void handle_status(struct tracer *tr, pid_t tid, int status);

/* Tell every client that has the hook. */
#define NOTIFY(tr, hook, ...)                                                                      \
	do {                                                                                       \
		for (size_t c_ = 0; c_ < ARRAY_SIZE((tr)->clients); c_++)                          \
			if ((tr)->clients[c_] && (tr)->clients[c_]->hook)                          \
				(tr)->clients[c_]->hook(tr, __VA_ARGS__);                          \
	} while (0)

/*
 * The tracer thread wakes at each tick for a millisecond or less. On CPUs
 * crowded with the target's own busy threads, the fair scheduler lets it
 * wait (measured: up to 15 ms, and preempted for 4 ms mid-tick), so ticks
 * are missed. SCHED_FIFO runs it as soon as it wakes. Only on request, as
 * perf record -r: a real-time thread's CPU is not bounded by the fair
 * scheduler. RESET_ON_FORK: a command launched from it runs as usual.
 */
int tracer_set_realtime(int priority)
{
	struct sched_param sp = {.sched_priority = priority};
	return sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp);
}

static void thread_close_proc(struct thread *t)
{
	if (t->fd_stat >= 0)
		close(t->fd_stat);
	if (t->fd_schedstat >= 0)
		close(t->fd_schedstat);
	if (t->fd_syscall >= 0)
		close(t->fd_syscall);
	t->fd_stat = t->fd_schedstat = t->fd_syscall = -1;
}

void tracer_release(struct tracer *tr)
{
	for (size_t i = 0; i < tr->n_threads; i++) {
		NOTIFY(tr, thread_gone, tr->threads[i]);
		thread_close_proc(tr->threads[i]);
		free(tr->threads[i]);
	}
	free(tr->threads);
	for (size_t i = 0; i < tr->n_procs; i++) {
		struct proc *pr = tr->procs[i];
		if (!pr->gone)
			NOTIFY(tr, proc_gone, pr);
		unwinder_free(pr->uw);
		addrspace_release(&pr->as);
		fd_table_release(&pr->fds);
		free(pr);
	}
	free(tr->procs);
	free(tr->roots);
	free(tr->stack);
	memset(tr, 0, sizeof(*tr));
}

struct thread *tracer_find(struct tracer *tr, pid_t tid)
{
	for (struct thread *t = tr->buckets[(unsigned)tid % THREAD_BUCKETS]; t; t = t->hash_next)
		if (t->tid == tid)
			return t;
	return NULL;
}

static void hash_insert(struct tracer *tr, struct thread *t)
{
	struct thread **b = &tr->buckets[(unsigned)t->tid % THREAD_BUCKETS];
	t->hash_next = *b;
	*b = t;
}

static void hash_remove(struct tracer *tr, struct thread *t)
{
	struct thread **p = &tr->buckets[(unsigned)t->tid % THREAD_BUCKETS];
	while (*p && *p != t)
		p = &(*p)->hash_next;
	if (*p)
		*p = t->hash_next;
}

static struct thread *thread_add(struct tracer *tr, pid_t tid, struct proc *proc)
{
	struct thread *t = xcalloc(1, sizeof(*t));
	t->tid = tid;
	t->proc = proc;
	t->foreign = !proc;
	t->fd_stat = t->fd_schedstat = t->fd_syscall = -1;
	t->info = INFO_NONE;
	t->repair = (struct repair){
		.pid = proc ? proc->pid : tid, .tid = tid, .stats = &tr->rec->stats};
	GROW(tr->threads, tr->cap_threads, tr->n_threads + 1);
	t->index = tr->n_threads;
	tr->threads[tr->n_threads++] = t;
	hash_insert(tr, t);
	NOTIFY(tr, thread_new, t);
	return t;
}

/*
 * /proc/PID/{maps,fd,root,cmdline} and process_vm_readv(PID) go through the
 * main thread. After it calls pthread_exit it is a zombie with none of
 * them, while the other threads run on: read through one of those instead
 * (/proc/TID/ works for any thread). Returns pid itself if its main thread
 * lives, a live thread otherwise, 0 if there is none.
 */
static pid_t live_task(pid_t pid)
{
	char path[64], buf[8];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (readlink(path, buf, sizeof(buf)) >= 0 || errno != ENOENT)
		return pid; /* alive, or not ours to read: seizing will say */
	pid_t *tids, live = 0;
	size_t n;
	if (procfs_list_tasks(pid, &tids, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && !live; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/exe", (int)pid, (int)tids[i]);
		if (readlink(path, buf, sizeof(buf)) >= 0)
			live = tids[i];
	}
	free(tids);
	return live;
}

void proc_reread_through(struct tracer *tr, struct proc *pr, const struct thread *gone)
{
	for (size_t i = 0; i < tr->n_threads; i++) {
		const struct thread *o = tr->threads[i];
		if (o != gone && o->proc == pr) {
			pr->as.pid = pr->fds.pid = o->tid;
			return;
		}
	}
}

static void thread_remove(struct tracer *tr, struct thread *t)
{
	if (t->proc && t->tid == t->proc->as.pid && t->tid != t->proc->pid)
		proc_reread_through(tr, t->proc, t);
	hash_remove(tr, t);
	struct thread *last = tr->threads[--tr->n_threads];
	tr->threads[t->index] = last;
	last->index = t->index;
	NOTIFY(tr, thread_gone, t);
	thread_close_proc(t);
	free(t);
}

bool thread_open_proc(struct tracer *tr, struct thread *t)
{
	char path[96];
	(void)tr;
	if (!t->proc)
		return false;
	int n = snprintf(path, sizeof(path), "/proc/%d/task/%d/", (int)t->proc->pid, (int)t->tid);
	strcpy(path + n, "stat");
	t->fd_stat = open(path, O_RDONLY | O_CLOEXEC);
	strcpy(path + n, "schedstat");
	t->fd_schedstat = open(path, O_RDONLY | O_CLOEXEC);
	strcpy(path + n, "syscall");
	t->fd_syscall = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd_stat < 0 || t->fd_schedstat < 0 || t->fd_syscall < 0) {
		thread_close_proc(t);
		return false;
	}
	return true;
}

/*
 * A 32-bit (i386 or x32) program: its registers, stack frames and syscall
 * numbers are not x86_64's, and reading them as such would be silently
 * wrong. Such targets are refused; one exec'd later is sampled for its
 * states only (proc.compat32).
 */
static bool elf_is_32bit(const char *path)
{
	unsigned char id[EI_NIDENT];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool r = read(fd, id, sizeof(id)) == (ssize_t)sizeof(id) && !memcmp(id, ELFMAG, SELFMAG) &&
		 id[EI_CLASS] == ELFCLASS32;
	close(fd);
	return r;
}

/* A new process to sample: its maps read, its unwinder ready. */
static struct proc *proc_new(struct tracer *tr, pid_t pid)
{
	struct proc *pr = xcalloc(1, sizeof(*pr));
	pr->pid = pid;
	pr->index = (uint32_t)tr->n_procs;
	pid_t io = live_task(pid);
	addrspace_reset(&pr->as, io ? io : pid);
	fd_table_init(&pr->fds, io ? io : pid);
	char exe[64], ns[64], ours[64];
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)(io ? io : pid));
	pr->compat32 = elf_is_32bit(exe);
	snprintf(exe, sizeof(exe), "/proc/%d/ns/pid", (int)(io ? io : pid));
	ssize_t a = readlink(exe, ns, sizeof(ns) - 1),
		b = readlink("/proc/self/ns/pid", ours, sizeof(ours) - 1);
	pr->other_pidns = a > 0 && b > 0 && (a != b || memcmp(ns, ours, (size_t)a));
	if (pr->compat32 && !tr->warned_32bit) {
		tr->warned_32bit = true;
		warning("process %d runs a 32-bit program: its samples have states but no stacks "
			"or syscalls, and --syscalls does not trace it",
			(int)pid);
	}
	addrspace_refresh(&pr->as);
	/* Its unwinder (and its caches) is made when it is first unwound:
	 * with -f, a build forks and execs thousands of processes a tick
	 * never sees. */
	tr->procs = xrealloc(tr->procs, (tr->n_procs + 1) * sizeof(*tr->procs));
	tr->procs[tr->n_procs++] = pr;
	if (pid == tr->pid)
		tr->main = pr;
	NOTIFY(tr, proc_new, pr);
	return pr;
}

struct unwinder *proc_unwinder(struct proc *pr)
{
	if (!pr->uw)
		pr->uw = unwinder_new(&pr->as);
	return pr->uw;
}

static bool proc_has_threads(const struct tracer *tr, const struct proc *pr)
{
	for (size_t i = 0; i < tr->n_threads; i++)
		if (tr->threads[i]->proc == pr)
			return true;
	return false;
}

/*
 * A process exited (or exec'd): what it needed to be sampled goes, what
 * symbolizing its samples needs stays (its maps and the binaries they
 * name). With -f on a server or a build, processes come and go by the
 * thousand, and memory must follow the live ones.
 */
static void proc_retire(struct tracer *tr, struct proc *pr)
{
	if (!pr->gone)
		NOTIFY(tr, proc_gone, pr);
	pr->gone = true;
	unwinder_free(pr->uw);
	pr->uw = NULL;
	fd_table_release(&pr->fds);
	fd_table_init(&pr->fds, pr->pid);
}

/* The live process with this pid, or NULL. */
static struct proc *proc_find(struct tracer *tr, pid_t pid)
{
	for (size_t i = tr->n_procs; i-- > 0;)
		if (tr->procs[i]->pid == pid && !tr->procs[i]->gone)
			return tr->procs[i];
	return NULL;
}

/* A decimal field of /proc/ID/status (Tgid, TracerPid), 0 if unknown. */
static pid_t status_pid(pid_t id, const char *field)
{
	uint64_t v = 0;
	char *text = procfs_read_status(id, 0);
	if (!text || procfs_parse_status_int(text, field, &v) < 0 || v > INT32_MAX)
		v = 0;
	free(text);
	return (pid_t)v;
}

/* Which process a new tid belongs to, from /proc: its thread group. */
static pid_t tgid_of(pid_t tid)
{
	return status_pid(tid, "Tgid");
}

/* The process of a thread we have just met: a known one, a new one
 * (-f), or none (a foreign thread, followed only for exact tracing). */
static struct proc *proc_for_new_thread(struct tracer *tr, pid_t tid, const struct thread *parent,
					bool new_process)
{
	if (parent && !parent->proc)
		return NULL;
	pid_t tg = new_process ? tid : tgid_of(tid);
	if (!tg && parent && !new_process)
		return parent->proc;
	struct proc *pr = tg ? proc_find(tr, tg) : NULL;
	if (pr)
		return pr;
	/* Once recording is over the writer reads tr->procs: no new one. */
	return tr->follow_forks && tg && !tr->passive ? proc_new(tr, tg) : NULL;
}

pid_t tracer_io_pid(const struct tracer *tr)
{
	return tr->main ? tr->main->as.pid : tr->pid;
}

struct addrspace **tracer_spaces(const struct tracer *tr)
{
	struct addrspace **v = xcalloc(tr->n_procs + 1, sizeof(*v));
	for (size_t i = 0; i < tr->n_procs; i++)
		v[i] = &tr->procs[i]->as;
	return v;
}

/* ---- attach ---- */

static pid_t tracer_pid_of(pid_t pid)
{
	return status_pid(pid, "TracerPid");
}

/* "process 12 (nginx: master process)", with the title escaped. */
static const char *process_desc(pid_t pid, char *buf, size_t size)
{
	char *title = procfs_read_title(pid);
	char comm[64];
	if ((!title || !*title) && procfs_read_comm(pid, pid, comm, sizeof(comm)) == 0) {
		free(title);
		title = xasprintf("[%s]", comm);
	}
	if (title && *title)
		snprintf(buf, size, "process %d (%.200s)", (int)pid, disp(title));
	else
		snprintf(buf, size, "process %d", (int)pid);
	free(title);
	return buf;
}

static bool may_trace_privileged(void);

/* The owner of /proc/ID/status (root for an undumpable process) and the real
 * user of the process; false if it is gone. */
static bool process_owners(pid_t pid, uid_t *dir_owner, uid_t *user)
{
	char path[64];
	struct stat st;
	uint64_t uid[4]; /* real, effective, saved, filesystem */
	char *text = procfs_read_status(pid, 0);
	bool ok = text && procfs_parse_status_ids(text, "Uid", uid, 4) >= 1;
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!ok || stat(path, &st) < 0)
		return false;
	*dir_owner = st.st_uid;
	*user = (uid_t)uid[0];
	return true;
}

/* Is pid a descendant of wallprof (Yama's ptrace_scope 1 allows those)? */
static bool our_descendant(pid_t pid)
{
	for (int depth = 0; pid > 1 && depth < 4096; depth++) {
		pid = status_pid(pid, "PPid");
		if (pid == getpid())
			return true;
	}
	return false;
}

/* Why a seize failed, as a hint: the tracer there is, or what forbids it. */
static int attach_error(pid_t pid, int err)
{
	if (err == ESRCH)
		return error("cannot attach to process %d: no such process", (int)pid);
	errno = err;
	error_errno("cannot attach to process %d", (int)pid);
	char desc[256];
	pid_t tp = tracer_pid_of(pid);
	if (tp > 0) {
		pid_t tg = tgid_of(tp);
		if (tg > 0 && tg != tp) {
			hint("process %d is already traced by thread %d of %s; a process has one "
			     "tracer at a time",
			     (int)pid, (int)tp, process_desc(tg, desc, sizeof(desc)));
		} else {
			hint("process %d is already traced by %s; a process has one tracer at a time",
			     (int)pid, process_desc(tp, desc, sizeof(desc)));
		}
		return -1;
	}
	if (err != EPERM)
		return -1;
	uid_t owner, user;
	char scope[16] = "";
	char *yama = read_small_file("/proc/sys/kernel/yama/ptrace_scope", 64, NULL);
	if (yama)
		snprintf(scope, sizeof(scope), "%.*s", (int)strcspn(yama, "\n"), yama);
	free(yama);
	bool privileged = may_trace_privileged();
	if (!privileged && process_owners(pid, &owner, &user) && user != getuid())
		hint("process %d runs as user %u: run wallprof as that user, or as root (or with "
		     "CAP_SYS_PTRACE)",
		     (int)pid, (unsigned)user);
	else if (!privileged && process_owners(pid, &owner, &user) && owner != user)
		hint("process %d is undumpable (it called prctl PR_SET_DUMPABLE 0, or changed "
		     "its credentials): only root or CAP_SYS_PTRACE may trace it",
		     (int)pid);
	else if (!privileged && scope[0] == '1' && !our_descendant(pid))
		hint("/proc/sys/kernel/yama/ptrace_scope is 1: only a process's ancestors may "
		     "trace it; run as root (or with CAP_SYS_PTRACE), or launch the program "
		     "under wallprof");
	else if (scope[0] >= '2')
		hint("/proc/sys/kernel/yama/ptrace_scope is %s: %s", scope,
		     scope[0] == '2' ? "only root (or CAP_SYS_PTRACE) may attach"
				     : "no process may attach; launch the program under wallprof");
	else
		hint("a seccomp filter, a security module or a container policy forbids ptrace "
		     "here");
	return -1;
}

/* Seize every thread of pid into a new proc. Returns how many threads
 * were seized; *err is the first error worth reporting. */
static int seize_process(struct tracer *tr, pid_t pid, int *err)
{
	long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD;
	if (tr->follow_forks)
		opts |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	size_t first = tr->n_threads;
	int seized = 0;
	*err = 0;
	/* Threads may be born from threads not yet seized: re-scan until a
	 * pass finds nothing new. */
	for (int pass = 0;; pass++) {
		pid_t *tids;
		size_t n;
		if (procfs_list_tasks(pid, &tids, &n) < 0)
			break;
		int added = 0;
		for (size_t i = 0; i < n; i++) {
			if (tracer_find(tr, tids[i]))
				continue;
			if (ptrace(PTRACE_SEIZE, tids[i], 0, opts) == 0) {
				thread_add(tr, tids[i], NULL);
				added++;
				seized++;
			} else if (!*err && errno != ESRCH) {
				/* EPERM is normal for exiting threads and a
				 * zombie leader; it matters only if nothing
				 * at all can be seized. */
				*err = errno;
			}
		}
		free(tids);
		if (!added || pass > 1000)
			break;
	}
	if (!seized)
		return 0;
	struct proc *pr = proc_new(tr, pid);
	for (size_t i = first; i < tr->n_threads; i++) {
		tr->threads[i]->proc = pr;
		tr->threads[i]->repair.pid = pid;
		tr->threads[i]->foreign = false;
	}
	return seized;
}

/*
 * -f on a running process: its children, their children, and so on, as
 * they are now (each thread's /proc/PID/task/TID/children); those forked
 * from now on are followed by PTRACE_O_TRACEFORK. A child is read after
 * its parent is seized, so none forked in between is missed.
 */
static void attach_descendants(struct tracer *tr, pid_t pid)
{
	pid_t *tids;
	size_t n;
	if (procfs_list_tasks(pid, &tids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		pid_t *children;
		size_t n_children = procfs_read_children(pid, tids[i], &children);
		for (size_t c = 0; c < n_children; c++) {
			pid_t child = children[c];
			int err;
			if (child > 0 && !proc_find(tr, child) &&
			    seize_process(tr, child, &err) > 0)
				attach_descendants(tr, child);
			else if (child > 0 && !proc_find(tr, child) && err && !tr->child_warned &&
				 live_task(child)) {
				/* (A child exiting meanwhile refuses with EPERM
				 * too: that is no news.) */
				tr->child_warned = true;
				errno = err;
				warning("cannot attach to process %d, a child of %d: %s",
					(int)child, (int)pid, strerror(err));
			}
		}
		free(children);
	}
	free(tids);
}

int tracer_attach(struct tracer *tr, pid_t pid)
{
	if (pid == getpid())
		return error("cannot profile wallprof itself");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (access(path, F_OK) < 0)
		return error("cannot attach to process %d: no such process", (int)pid);
	pid_t tg = tgid_of(pid);
	if (tg > 0 && tg != pid) {
		/* /proc/TID works though no listing shows it: a thread id
		 * taken from top -H, a log or a stack means its process. */
		char desc[256];
		fprintf(stderr,
			"wallprof: %d is a thread of %s: taking the whole process, every thread\n",
			(int)pid, process_desc(tg, desc, sizeof(desc)));
		pid = tg;
		if (pid == getpid())
			return error("cannot profile wallprof itself");
	}
	if (proc_find(tr, pid))
		return 0; /* given twice, or a child of one given before (-f) */
	pid_t io = live_task(pid);
	if (!io)
		return error("cannot attach to process %d: it is a kernel thread or a zombie",
			     (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)io);
	if (elf_is_32bit(path))
		return error("cannot profile process %d: it is a 32-bit program, and wallprof "
			     "reads x86_64 stacks and syscalls only",
			     (int)pid);

	if (!tr->pid)
		tr->pid = pid;
	int err;
	if (!seize_process(tr, pid, &err)) {
		if (tr->pid == pid)
			tr->pid = 0;
		return attach_error(pid, err ? err : ESRCH);
	}
	add_root(tr, pid);
	if (tr->follow_forks)
		attach_descendants(tr, pid);
	return 0;
}

void tracer_warn_ptrace_users(struct tracer *tr)
{
	for (size_t i = 0; i < tr->n_roots && !tr->ptrace_warned; i++) {
		char exe[64], desc[256];
		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)tr->roots[i]);
		if (tr->roots[i] <= 0 || !elf_calls_ptrace(exe))
			continue;
		tr->ptrace_warned = true;
		warning("%s calls ptrace: should it trace itself%s, that fails with EPERM while "
			"wallprof traces %s (a process has one tracer)",
			process_desc(tr->roots[i], desc, sizeof(desc)),
			tr->follow_forks ? " or its children" : "",
			tr->follow_forks ? "them" : "it");
	}
}

/* Count pid among the processes whose end ends the recording. */
static void add_root(struct tracer *tr, pid_t pid)
{
	GROW(tr->roots, tr->cap_roots, tr->n_roots + 1);
	tr->roots[tr->n_roots++] = pid;
	tr->roots_live++;
}

/* ---- launch ---- */

static bool exec_seen;

/* errno values above this in the error pipe come from the filter step. */
#define FILTER_ERRNO_BASE 100000

/* The file execvp would run for name, or NULL. Malloc'ed. */
static char *find_program(const char *name)
{
	if (strchr(name, '/'))
		return xstrdup(name);
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char *cand = end > p ? xasprintf("%.*s/%s", (int)(end - p), p, name)
				     : xasprintf("./%s", name);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (!*end)
			return NULL;
		p = end;
	}
}

/* Is CAP_SYS_PTRACE in our effective set? */
static bool may_trace_privileged(void)
{
	char *status = procfs_read_status(getpid(), 0);
	uint64_t caps;
	bool yes = status && procfs_parse_status_hex(status, "CapEff", &caps) == 0 &&
		   (caps >> 19 & 1); /* CAP_SYS_PTRACE */
	free(status);
	return yes;
}

/*
 * A set-user-ID or set-group-ID program, or one with file capabilities, run
 * under ptrace by a tracer without CAP_SYS_PTRACE gets none of them: the
 * kernel drops the privilege rather than let the tracer control it. That
 * is not the program the user asked to profile, so it is refused, with
 * what works instead. Returns 0 if the command may be launched.
 */
static int check_privileged_program(const char *name)
{
	char *path = find_program(name);
	struct stat st;
	struct statvfs vfs;
	const char *what = NULL;
	if (path && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    !(statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))) {
		if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
			what = "set-user-ID";
		else if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != getegid())
			what = "set-group-ID";
		else if (getxattr(path, "security.capability", NULL, 0) > 0)
			what = "given file capabilities";
	}
	int r = 0;
	if (what && !may_trace_privileged()) {
		error("'%s' is %s: traced by wallprof it would run without those privileges", path,
		      what);
		hint("run wallprof as root (or with CAP_SYS_PTRACE), or start the program and "
		     "attach with -p PID");
		r = EXIT_NOEXEC;
	}
	free(path);
	return r;
}

/* In the launched child, after the tracer has seized it: install the
 * filter of exact tracing. Async-signal-safe. Returns 0 or -errno. */
static int install_filter(const struct sock_fprog *prog)
{
	if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return -errno;
	return 0;
}

int tracer_launch(struct tracer *tr, char *const argv[], const sigset_t *orig_mask)
{
	int priv = check_privileged_program(argv[0]);
	if (priv)
		return priv;
	char *prog = find_program(argv[0]);
	bool is32 = prog && elf_is_32bit(prog);
	if (is32) {
		free(prog);
		error("cannot profile '%s': it is a 32-bit program, and wallprof reads x86_64 "
		      "stacks and syscalls only",
		      argv[0]);
		return EXIT_NOEXEC;
	}
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		free(prog);
		return error_errno("cannot create a pipe"), EXIT_FAILURE_;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(errpipe[0]);
		close(errpipe[1]);
		free(prog);
		errno = e;
		return error_errno("cannot fork"), EXIT_FAILURE_;
	}
	if (pid == 0) {
		close(errpipe[0]);
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		/* Wait here until the parent has seized us: its PTRACE_SEIZE
		 * must come before the exec, whose event it waits for. */
		raise(SIGSTOP);
		int e;
		if (tr->child_filter && (e = install_filter(tr->child_filter)) < 0) {
			e = -e + FILTER_ERRNO_BASE; /* tells the parent which step failed */
			if (write(errpipe[1], &e, sizeof(e)) < 0) {
				/* the parent reports the exit status alone */
			}
			_exit(EXIT_NOEXEC);
		}
		/* The file found before the fork: execvp's search would
		 * make one execve per PATH entry ahead of it, each failing
		 * under the filter and counted as the command's own. Where
		 * that file will not do, execvp decides as it would have. */
		if (prog)
			execv(prog, argv);
		execvp(argv[0], argv);
		e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0) {
			/* the parent reports the exit status alone */
		}
		_exit(EXIT_NOTFOUND);
	}
	close(errpipe[1]);
	free(prog);
	int status;
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		close(errpipe[0]);
		return error("cannot start '%s': the child did not stop", argv[0]), EXIT_FAILURE_;
	}
	long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL |
		    PTRACE_O_TRACESYSGOOD;
	if (tr->child_filter)
		/* Children inherit the filter: follow them, or their traced
		 * calls would fail with ENOSYS (a SECCOMP_RET_TRACE with no
		 * tracer, docs/interrupts.md). */
		opts |= PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	if (tr->follow_forks)
		opts |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	if (ptrace(PTRACE_SEIZE, pid, 0, opts) < 0) {
		int e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(errpipe[0]);
		errno = e;
		error_errno("cannot trace the launched command");
		if (e == EPERM)
			hint("check /proc/sys/kernel/yama/ptrace_scope and seccomp or container policies");
		return EXIT_FAILURE_;
	}
	tr->pid = pid;
	add_root(tr, pid);
	tr->launched = true;
	thread_add(tr, pid, proc_new(tr, pid));
	kill(pid, SIGCONT);

	exec_seen = false;
	while (!exec_seen && !tr->target_exited) {
		pid_t r = waitpid(-1, &status, __WALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		handle_status(tr, r, status);
	}
	int e = 0;
	ssize_t got = read(errpipe[0], &e, sizeof(e));
	close(errpipe[0]);
	if (!exec_seen) {
		if (got == (ssize_t)sizeof(e) && e >= FILTER_ERRNO_BASE) {
			errno = e - FILTER_ERRNO_BASE;
			error_errno("cannot install the seccomp filter for --syscalls");
			hint("the kernel or a container policy may forbid seccomp; try without "
			     "--syscalls, or attach with -p (PTRACE_SYSCALL)");
			return EXIT_FAILURE_;
		}
		if (got == (ssize_t)sizeof(e)) {
			errno = e;
			error_errno("cannot run '%s'", argv[0]);
			return e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
		}
		error("'%s' exited before it could be profiled", argv[0]);
		return tr->exit_status >= 0 ? tr->exit_status : EXIT_FAILURE_;
	}
	return 0;
}

/* ---- stops ---- */

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * An exec in a sampled process. All its other threads are gone, and the
 * exec'ing thread now has the pid as its tid (ptrace(2), execve under
 * ptrace). The process starts anew as a new proc: what was sampled before
 * keeps the old one, and its maps, for symbolization. The thread keeps its
 * record in the profile (samples name it by tid): its names list what it
 * ran as, bash, then python3.
 */
static void handle_exec(struct tracer *tr, struct thread *t)
{
	struct proc *old = t->proc;
	for (size_t i = tr->n_threads; i-- > 0;)
		if (tr->threads[i] != t && tr->threads[i]->proc == old)
			thread_remove(tr, tr->threads[i]);
	if (t->tid != old->pid) {
		hash_remove(tr, t);
		t->tid = old->pid;
		t->repair.tid = t->tid;
		hash_insert(tr, t);
	}
	thread_close_proc(t);
	NOTIFY(tr, exec, t);
	if (!tr->passive) {
		proc_retire(tr, old); /* its maps stay, for symbolization */
		t->proc = proc_new(tr, old->pid);
		t->repair.pid = old->pid;
	}
	if (old->pid == tr->pid)
		exec_seen = true;
}

static bool capture(struct tracer *tr, struct thread *t, struct user_regs_struct *regs)
{
	if (ptrace(PTRACE_GETREGS, t->tid, 0, regs) < 0)
		return false;
	if (regs->cs == 0x23) {
		/* A 32-bit thread: x86_64 unwinding would misread it. */
		tr->stack->len = 0;
		tr->stack->base = 0;
		return true;
	}
	stack_copy_read(t->tid, regs->rsp, t->copy_window, tr->stack);
	return true;
}

/* A seccomp or syscall stop: the client that traces calls says how to
 * resume (req if none does). Another such stop usually follows within
 * microseconds, which tracer_drain polls for. */
static int syscall_hook(struct tracer *tr, struct thread *t, bool syscall_stop, bool repaired,
			int req)
{
	for (size_t c = 0; c < ARRAY_SIZE(tr->clients); c++) {
		const struct tracer_client *k = tr->clients[c];
		if (!k || !(syscall_stop ? k->syscall_stop != NULL : k->seccomp_stop != NULL))
			continue;
		if (!repaired)
			tr->syscall_stop_ns = mono_now();
		return syscall_stop ? k->syscall_stop(tr, t, repaired) : k->seccomp_stop(tr, t);
	}
	return req;
}

void tracer_interrupt_sent(struct thread *t)
{
	t->intr_stops = 2;
	t->intr_entries = true;
}

/* See tracer.h: a count of stops, and the exit of a call entered under one. */
bool tracer_stop_is_ours(struct thread *t, int event, int syscall_op)
{
	bool entry_stop = event == PTRACE_EVENT_SECCOMP || syscall_op == PTRACE_SYSCALL_INFO_ENTRY;
	bool exit_stop = syscall_op == PTRACE_SYSCALL_INFO_EXIT;
	bool ours = t->intr_stops > 0 || (exit_stop && t->intr_exit);
	if (event == PTRACE_EVENT_STOP || exit_stop) {
		t->intr_stops = 0;
		t->intr_exit = t->intr_entries = false;
	} else if (t->intr_stops) {
		t->intr_entries = t->intr_entries && entry_stop;
		t->intr_exit = t->intr_exit || t->intr_entries;
		t->intr_stops--;
	}
	return ours;
}

/* Handle one waitpid status of tid. */
static void handle_status(struct tracer *tr, pid_t tid, int status)
{
	struct thread *t = tracer_find(tr, tid);
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		/* Recording ends when every process given (or launched) has
		 * ended; the exit status is the first one's. */
		for (size_t i = 0; i < tr->n_roots; i++)
			if (tr->roots[i] == tid && tr->roots_live) {
				tr->roots[i] = -1;
				tr->target_exited = --tr->roots_live == 0;
			}
		if (tid == tr->pid) {
			if (WIFEXITED(status)) {
				tr->exit_status = WEXITSTATUS(status);
			} else {
				tr->term_signal = WTERMSIG(status);
				tr->exit_status = 128 + WTERMSIG(status);
			}
		}
		if (t) {
			struct proc *pr = t->proc;
			thread_remove(tr, t);
			if (pr && !proc_has_threads(tr, pr))
				proc_retire(tr, pr);
		}
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	if (!t) {
		/* A new thread's first stop may come before its parent's
		 * clone event: its process, from /proc. */
		t = thread_add(tr, tid, proc_for_new_thread(tr, tid, NULL, false));
	}

	int sig = WSTOPSIG(status);
	int event = (int)((unsigned)status >> 16);
	struct user_regs_struct regs;
	if (t->repair.kind != REPAIR_NONE)
		repair_follow(&t->repair, event, sig);
	if (tr->passive)
		t->want_stop = false;
	/* A syscall stop whose kind cannot be read (the thread is dying) is
	 * taken as an exit: it ends what an interrupt left to check. */
	struct __ptrace_syscall_info info = {.op = PTRACE_SYSCALL_INFO_NONE};
	if ((t->intr_stops || t->intr_exit) && event == 0 && sig == (SIGTRAP | 0x80) &&
	    ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(info), &info) <= 0)
		info.op = PTRACE_SYSCALL_INFO_EXIT;
	bool ours = tracer_stop_is_ours(t, event, info.op);
	bool captured = t->want_stop && event != PTRACE_EVENT_EXEC && capture(tr, t, &regs);
	bool repaired = false;
	bool have_regs = ours && event != PTRACE_EVENT_EXEC &&
			 (captured || ptrace(PTRACE_GETREGS, tid, 0, &regs) == 0);
	struct user_regs_struct at_stop;
	if (have_regs) {
		at_stop = regs;
		repaired = repair_after_interrupt(&t->repair, &regs, event, sig);
	}
	if (captured) {
		t->want_stop = false;
		NOTIFY(tr, captured, t, &regs);
	}
	if (have_regs)
		NOTIFY(tr, interrupted, t, &at_stop, repaired);
	int req = PTRACE_CONT;
	for (size_t c = 0; c < ARRAY_SIZE(tr->clients); c++)
		if (tr->clients[c] && tr->clients[c]->resume_request && req == PTRACE_CONT)
			req = tr->clients[c]->resume_request(tr, t);
	t->arming = false; /* any stop arms it: it resumes under PTRACE_SYSCALL */
	unsigned long inject = 0;

	switch (event) {
	case PTRACE_EVENT_STOP:
		t->group_stopped = is_stop_signal(sig);
		if (t->group_stopped)
			req = PTRACE_LISTEN;
		break;
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK: {
		unsigned long child;
		if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0 && !tracer_find(tr, child))
			thread_add(tr, child,
				   proc_for_new_thread(tr, child, t, event != PTRACE_EVENT_CLONE));
		break;
	}
	case PTRACE_EVENT_EXEC:
		if (t->foreign) {
			/* A followed child exec'd: its tid may now be its pid. */
			unsigned long old;
			struct thread *o;
			if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &old) == 0 && (pid_t)old != tid &&
			    (o = tracer_find(tr, (pid_t)old)) != NULL)
				thread_remove(tr, o);
			break;
		}
		handle_exec(tr, t);
		tid = t->tid;
		t->want_stop = false;
		break;
	case PTRACE_EVENT_SECCOMP: req = syscall_hook(tr, t, false, false, req); break;
	case 0:
		/* A syscall stop (SIGTRAP|0x80, asked for by exact tracing
		 * and by repair.c), or a signal-delivery stop: deliver the
		 * signal as if we were not here. */
		if (sig == (SIGTRAP | 0x80)) {
			req = syscall_hook(tr, t, true, repaired, req);
		} else {
			inject = (unsigned long)sig;
		}
		break;
	default: break;
	}
	req = repair_resume_request(&t->repair, req);
	/* An entry stop of ours: the call's exit is to be checked (and
	 * syscall_stops says so for this one call, as for a repair). */
	if (t->intr_exit && req == PTRACE_CONT)
		req = PTRACE_SYSCALL;
	ptrace(req, tid, 0, inject);
	t->syscall_stops = req == PTRACE_SYSCALL;
	NOTIFY(tr, resumed, t, captured ? &regs : NULL);
}

/*
 * Sleep until a child's status may be waiting (SIGCHLD, which the tracer
 * thread keeps blocked) or for ns at most.
 */
static void await_child(mono_ns ns)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	struct timespec ts = {(time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC)};
	sigtimedwait(&chld, NULL, &ts);
}

/* Handle events until no thread is pending, or for timeout_ns. */
static void drain_while(struct tracer *tr, bool (*pending)(const struct thread *t),
			mono_ns timeout_ns)
{
	mono_ns deadline = mono_now() + timeout_ns;
	for (;;) {
		tracer_drain(tr);
		bool any = false;
		for (size_t i = 0; i < tr->n_threads && !any; i++)
			any = pending(tr->threads[i]);
		mono_ns now = mono_now();
		if (!any || now >= deadline)
			return;
		await_child(deadline - now);
	}
}

static bool arming(const struct thread *t)
{
	return t->arming;
}

/* A stop asked for, the stop a repair waits for, or the exit of a call an
 * interrupt of ours may cut short, is still to come. */
static bool stop_pending(const struct thread *t)
{
	return t->want_stop || repair_in_flight(&t->repair) || t->intr_exit;
}

void tracer_arm_syscalls(struct tracer *tr)
{
	/* A running thread, or one blocked in a call that restarts after an
	 * interrupt, or in epoll_wait and the like with no timeout (the
	 * interrupt's EINTR is rewound: repair.c), can be stopped once without
	 * the program noticing; one in a timed epoll_wait is armed at its
	 * next stop instead (the sampler stops it when it runs). */
	for (size_t i = 0; i < tr->n_threads; i++) {
		struct thread *t = tr->threads[i];
		struct task_stat st;
		struct syscall_state sc;
		if (!t->proc || procfs_read_task(t->proc->as.pid, t->tid, &st, &sc) < 0)
			continue;
		if (st.state != 'R' &&
		    (sc.running || !(syscall_interrupt_is_safe(t->proc->as.pid, st.state, &sc) ||
				     (st.state == 'S' && syscall_waits_forever(sc.nr, sc.args)))))
			continue;
		if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) == 0) {
			t->arming = true;
			tracer_interrupt_sent(t);
		}
	}
	drain_while(tr, arming, 200 * 1000 * 1000ULL);
}

void tracer_wait_pending(struct tracer *tr, mono_ns timeout_ns)
{
	drain_while(tr, stop_pending, timeout_ns);
}

void tracer_settle(struct tracer *tr, mono_ns timeout_ns)
{
	tracer_wait_pending(tr, timeout_ns);
	for (size_t i = 0; i < tr->n_threads; i++)
		if (repair_in_flight(&tr->threads[i]->repair))
			warning("thread %d is still in a call that a stop of wallprof's cut short "
				"and that it resumed; detached now, the call may return early",
				(int)tr->threads[i]->tid);
}

/*
 * While exact tracing sees calls in quick succession, the next stop usually
 * follows within microseconds (a read's exit, the next call's entry). Going
 * to sleep and being woken for it costs the target tens of microseconds on
 * a VM; polling for it a little while costs the tracer less.
 */
#define SPIN_NS (40 * 1000ULL)
/* How long to poll for a requested stop before sleeping until it comes. */
#define STOP_SPIN_NS (80 * 1000ULL)

void tracer_drain(struct tracer *tr)
{
	int status;
	pid_t r;
	for (;;) {
		while ((r = waitpid(-1, &status, __WALL | WNOHANG)) > 0)
			handle_status(tr, r, status);
		if (tr->passive || !tr->syscall_stop_ns)
			return;
		mono_ns now = mono_now();
		if (now - tr->syscall_stop_ns > SPIN_NS)
			return;
		mono_ns deadline = now + SPIN_NS;
		while ((r = waitpid(-1, &status, __WALL | WNOHANG)) == 0 && mono_now() < deadline)
			;
		if (r <= 0)
			return;
		handle_status(tr, r, status);
	}
}

bool tracer_request_stop(struct tracer *tr, struct thread *t)
{
	(void)tr;
	t->stop_t0 = mono_now();
	if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0)
		return false;
	t->want_stop = true;
	tracer_interrupt_sent(t);
	return true;
}

size_t tracer_take_stops(struct tracer *tr, const pid_t *want, size_t n, mono_ns timeout_ns)
{
	pid_t *tids = xmalloc((n + 1) * sizeof(*tids));
	size_t live = 0;
	mono_ns now = mono_now();
	for (size_t i = 0; i < n; i++) {
		const struct thread *t = tracer_find(tr, want[i]);
		if (t && t->want_stop)
			tids[live++] = want[i];
	}
	mono_ns deadline = now + timeout_ns;
	/* A running thread stops within tens of microseconds: poll for the
	 * stops rather than sleep, since being woken costs each stopped
	 * thread about as much again (a stop lasts until we resume it). */
	mono_ns spin_until = now + STOP_SPIN_NS;
	/* On CPUs crowded by the target itself, the stops come at the
	 * scheduler's pace, and polling for them only takes a CPU from the
	 * threads that have to run to stop: the polling has a cap per tick,
	 * at most 2.5% of the tick's interval (25 us at 999 Hz). */
	mono_ns cap = 2 * STOP_SPIN_NS;
	if (tr->interval_ns && tr->interval_ns / 40 < cap)
		cap = tr->interval_ns / 40;
	mono_ns spin_cap = now + cap;
	if (spin_until > spin_cap)
		spin_until = spin_cap;
	while (live) {
		bool got = false;
		for (size_t k = 0; k < live;) {
			int status;
			pid_t r = waitpid(tids[k], &status, __WALL | WNOHANG);
			if (r == tids[k]) {
				/* May free the thread (it exited instead). */
				handle_status(tr, r, status);
				got = true;
				const struct thread *t = tracer_find(tr, r);
				if (!t || !t->want_stop) {
					tids[k] = tids[--live];
					continue;
				}
			} else if (r < 0 && errno != EINTR) {
				tids[k] = tids[--live];
				continue;
			}
			k++;
		}
		now = mono_now();
		if (got)
			spin_until = now + STOP_SPIN_NS < spin_cap ? now + STOP_SPIN_NS : spin_cap;
		if (!live || now >= deadline)
			break;
		/* A millisecond at most: a status that came before the
		 * sleep sent no new signal. */
		if (now >= spin_until)
			await_child(deadline - now < 1000000 ? deadline - now : 1000000);
	}
	/* Not stopped yet (uninterruptible sleep, or no CPU for them): each
	 * stop is taken whenever it arrives, by tracer_drain. */
	free(tids);
	return live;
}
