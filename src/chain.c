/*
 * chain.c: wait chains across processes. See chain.h.
 *
 * The walk works on threads (nodes) of the processes it has entered, and
 * on links: what a thread waits on and who can end it, found from /proc
 * and sock_diag (peers.h). A link goes to a thread (a lock's owner) or to
 * a process (the holder of a pipe's other end, a socket's peer); in a
 * process entered, it is then taken to the threads that stand for it: the
 * ones blocked on the very descriptor the link reached, else the ones
 * that themselves wait for something, else the busy ones, else the main
 * thread. Each round enters the processes reachable from the start that
 * are not entered yet, until none is left or CHAIN_MAX_PROCS is reached.
 */
#include "chain.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "locks.h"
#include "peers.h"
#include "procfs.h"
#include "syscalls.h"
#include "util.h"
#include "views.h"

/* Paths printed at most, and links in one path. */
#define MAX_PATHS 32
#define MAX_DEPTH 24
/* Holders or children followed from one wait. */
#define MAX_FANOUT 8
/* Threads a link to a process is taken to at most. */
#define MAX_STAND_INS 4
/* Steps of the path enumeration at most. */
#define MAX_STEPS 100000

struct cproc {
	pid_t pid;
	struct dump_proc *d; /* NULL until entered (or if it cannot be) */
	bool tried;
	char *title; /* as ps shows it; owned */
	char why[320]; /* not entered: why; entered: what was said while reading it */
	char state; /* not entered: /proc's state letter, '?' */
	char wchan[64];
	size_t first_node;
};

struct clink {
	char kind[16];
	size_t from; /* node */
	int to_proc; /* index in procs; -1: leads off this host or nowhere */
	pid_t to_tid; /* a thread named by the evidence (a lock owner), else 0 */
	int to_fd; /* the descriptor it reached in to_proc, -1 */
	/* From a poll, select or epoll set: the thread waits for any of its
	 * descriptors (and maybe a timeout), not for this one alone, so a
	 * path back through it is no deadlock. */
	bool in_set;
	char object[240];
	char says[400]; /* "whose read end is fd 3 of process 12 (cat)" */
	char evidence[320];
};

struct cedge {
	size_t link, to; /* node */
};

struct chain {
	struct cproc *procs;
	size_t n_procs, cap_procs;
	size_t *node_proc, *node_th, n_nodes, cap_nodes;
	struct clink *links;
	size_t n_links, cap_links;
	struct cedge *edges;
	size_t n_edges, cap_edges;
	size_t n_entered;
	/* Deadlocks across processes: nodes, cycle after cycle. */
	size_t *cycles, *cycle_lens, n_cycles, n_cycle_nodes;
	bool *cycle_in_dump; /* a lock cycle inside the start: its dump names it */
	struct peers_index *index; /* pipes and sockets by inode, read at first need */
	/* Per node, its links (contiguous: find_links adds a thread's
	 * together); per link, its edges (resolve adds them in link order). */
	size_t *link_first, *link_count, *edge_first, *edge_count;
};

static const struct peers_index *index_of(struct chain *c)
{
	if (!c->index)
		c->index = peers_index_build();
	return c->index;
}

static const struct dump_thread *node_thread(const struct chain *c, size_t node)
{
	return &c->procs[c->node_proc[node]].d->th[c->node_th[node]];
}

static struct cproc *node_proc(const struct chain *c, size_t node)
{
	return &c->procs[c->node_proc[node]];
}

/* The index of pid's entry, added (not entered) if new. */
static int proc_index(struct chain *c, pid_t pid)
{
	for (size_t i = 0; i < c->n_procs; i++)
		if (c->procs[i].pid == pid)
			return (int)i;
	c->procs = xgrow(c->procs, &c->cap_procs, c->n_procs + 1, sizeof(*c->procs));
	struct cproc *p = &c->procs[c->n_procs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->state = '?';
	p->title = procfs_read_title(pid);
	return (int)c->n_procs++;
}

static void add_nodes(struct chain *c, size_t pi)
{
	struct cproc *p = &c->procs[pi];
	p->first_node = c->n_nodes;
	for (size_t i = 0; i < p->d->n; i++) {
		size_t cap = c->cap_nodes;
		c->node_proc =
			xgrow(c->node_proc, &c->cap_nodes, c->n_nodes + 1, sizeof(*c->node_proc));
		c->node_th = xgrow(c->node_th, &cap, c->n_nodes + 1, sizeof(*c->node_th));
		c->node_proc[c->n_nodes] = pi;
		c->node_th[c->n_nodes++] = i;
	}
}

static struct clink *new_link(struct chain *c, const char *kind, size_t from, int to_proc)
{
	c->links = xgrow(c->links, &c->cap_links, c->n_links + 1, sizeof(*c->links));
	struct clink *l = &c->links[c->n_links++];
	memset(l, 0, sizeof(*l));
	snprintf(l->kind, sizeof(l->kind), "%s", kind);
	l->from = from;
	l->to_proc = to_proc;
	l->to_fd = -1;
	return l;
}

/* "process 12 (cat -n)": its title, else its comm. */
static const char *proc_text(struct chain *c, pid_t pid, char *buf, size_t size)
{
	const struct cproc *p = &c->procs[proc_index(c, pid)];
	char comm[16] = "?", title[80];
	if (!p->title || !*p->title)
		procfs_read_comm(pid, pid, comm, sizeof(comm));
	snprintf(buf, size, "process %d (%s)", (int)pid,
		 disp(title_short(p->title && *p->title ? p->title : comm, title, sizeof(title))));
	return buf;
}

/* Links to each holder of the other end of a pipe or socket. */
static void link_holders(struct chain *c, size_t from, const char *kind, const char *object,
			 const struct pipe_holder *h, size_t n, const char *end,
			 const char *evidence, const char *peer, pid_t self, bool in_set)
{
	for (size_t i = 0; i < n; i++) {
		/* Its own process at the other end of something in a poll set
		 * is a wake-up channel of its own (curl's socket pair). */
		if (h[i].pid == getpid() || (in_set && h[i].pid == self))
			continue;
		struct clink *l = new_link(c, kind, from, proc_index(c, h[i].pid));
		l->to_fd = h[i].fd;
		l->in_set = in_set;
		char who[200];
		snprintf(l->object, sizeof(l->object), "%s", object);
		snprintf(l->says, sizeof(l->says), "%s is fd %d of %s", end, h[i].fd,
			 proc_text(c, h[i].pid, who, sizeof(who)));
		snprintf(l->evidence, sizeof(l->evidence), "%s; /proc/%d/fd/%d is %s", evidence,
			 (int)h[i].pid, h[i].fd, peer);
	}
}

/* Are all of the holders ancestors of pid? (A parent keeps a pipe's write
 * end so that its children, polling the read end, learn of its death.) */
static bool all_ancestors(pid_t pid, const struct pipe_holder *h, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		struct task_stat st;
		for (pid_t p = pid; p > 1 && !found;) {
			if (procfs_read_stat(p, p, &st) < 0)
				break;
			p = st.ppid;
			found = p == h[i].pid;
		}
		if (!found)
			return false;
	}
	return true;
}

/* A wait on descriptor fd of the thread's process, for input (reads) or
 * output; in_set: the descriptor is one of a poll set. */
static void link_fd(struct chain *c, size_t from, pid_t pid, int fd, bool reads, bool in_set)
{
	char target[200], what[240], ev[320];
	if (peers_fd_link(pid, fd, target, sizeof(target)) < 0)
		return;
	unsigned long long ino;
	struct pipe_holder h[MAX_FANOUT];
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	bool fifo = target[0] == '/' && stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
	if (fifo || sscanf(target, "pipe:[%llu]", &ino) == 1) {
		size_t n = fifo ? peers_file_holders(pid, st.st_dev, (uint64_t)st.st_ino, reads,
						     true, h, ARRAY_SIZE(h))
				: peers_index_holders(index_of(c), pid, ino, reads, h,
						      ARRAY_SIZE(h)),
		       k = 0;
		/* Only the holders of the end it waits for. */
		for (size_t i = 0; i < n; i++)
			if (h[i].writes == reads)
				h[k++] = h[i];
		if (in_set && all_ancestors(pid, h, k))
			return;
		snprintf(what, sizeof(what), "fd %d, %s", fd, target);
		snprintf(ev, sizeof(ev), "/proc/%d/fd/%d is %s", (int)pid, fd, target);
		link_holders(c, from, fifo ? "fifo" : "pipe", what, h, k,
			     reads ? "whose write end" : "whose read end", ev, target, pid, in_set);
		return;
	}
	if (sscanf(target, "socket:[%llu]", &ino) != 1)
		return;
	int64_t peer = peers_unix_peer(ino);
	char link[48];
	if (peer > 0) {
		snprintf(link, sizeof(link), "socket:[%lld]", (long long)peer);
		size_t n =
			peers_index_holders(index_of(c), 0, (uint64_t)peer, true, h, ARRAY_SIZE(h));
		snprintf(what, sizeof(what), "fd %d, unix %s", fd, target);
		snprintf(ev, sizeof(ev), "sock_diag: the peer of unix socket %llu is socket %lld",
			 ino, (long long)peer);
		link_holders(c, from, "unix", what, h, n, "whose peer", ev, link, pid, in_set);
		if (!n) {
			struct clink *l = new_link(c, "unix", from, -1);
			snprintf(l->object, sizeof(l->object), "%s", what);
			snprintf(l->says, sizeof(l->says),
				 "whose peer, socket %lld, no process holds any more (or it is in "
				 "another mount of /proc)",
				 (long long)peer);
			snprintf(l->evidence, sizeof(l->evidence), "%s", ev);
		}
		return;
	}
	if (peer == 0)
		return; /* a Unix socket without a peer: listening, unconnected */
	char desc[200];
	uint64_t pino;
	int r = peers_inet_peer(pid, ino, desc, sizeof(desc), &pino);
	if (r < 0)
		return;
	char kind[8];
	snprintf(kind, sizeof(kind), "%.3s", desc);
	snprintf(what, sizeof(what), "fd %d, %s", fd, desc);
	if (r == 0) {
		struct clink *l = new_link(c, kind, from, -1);
		snprintf(l->object, sizeof(l->object), "%s", what);
		snprintf(l->says, sizeof(l->says),
			 "whose peer is not on this host (no socket here has these addresses "
			 "swapped): the chain leaves the host");
		snprintf(l->evidence, sizeof(l->evidence), "/proc/%d/net/%s", (int)pid, kind);
		return;
	}
	snprintf(link, sizeof(link), "socket:[%llu]", (unsigned long long)pino);
	size_t n = peers_index_holders(index_of(c), 0, pino, true, h, ARRAY_SIZE(h));
	snprintf(ev, sizeof(ev),
		 "/proc/%d/net/%s: socket %llu has its addresses swapped (inode %llu)", (int)pid,
		 kind, (unsigned long long)pino, ino);
	link_holders(c, from, kind, what, h, n, "whose peer", ev, link, pid, in_set);
}

/* A lock wait whose owner is not in the process: a process-shared mutex
 * in shared memory holds its owner's tid, which is another process's. */
struct foreign {
	pid_t pid;
	pid_t owner_pid;
};

static pid_t foreign_thread(void *ctx, pid_t tid)
{
	struct foreign *f = ctx;
	char *text = procfs_read_status(tid, tid);
	uint64_t tgid;
	bool ok = text && procfs_parse_status_int(text, "Tgid", &tgid) == 0;
	free(text);
	if (!ok || (pid_t)tgid == f->pid)
		return 0;
	f->owner_pid = (pid_t)tgid;
	return tid;
}

static void link_lock(struct chain *c, size_t from, size_t pi, const struct dump_thread *t)
{
	const struct dump_proc *d = c->procs[pi].d;
	pid_t pid = c->procs[pi].pid;
	const struct profile_object *o = &d->p.objects[t->s->object];
	if (t->waits_for >= 0) {
		struct clink *l = new_link(c, "lock", from, (int)pi);
		l->to_tid = d->th[t->waits_for].s->tid;
		snprintf(l->object, sizeof(l->object), "%s %s",
			 o->lock_kind ? o->lock_kind : "lock", o->name);
		snprintf(l->says, sizeof(l->says), "held by thread %d \"%s\"", (int)l->to_tid,
			 disp(d->th[t->waits_for].name));
		snprintf(l->evidence, sizeof(l->evidence),
			 "the lock word at 0x%llx names thread %d", (unsigned long long)o->address,
			 (int)l->to_tid);
		return;
	}
	/* Only a lock that records its owner (a mutex, not a condition
	 * variable or semaphore), waited for without FUTEX_PRIVATE_FLAG: a
	 * private futex is no other process's. */
	if (!o->address || !t->in_call || t->s->syscall != SYS_futex || !o->lock_kind ||
	    !lock_kind_has_owner(o->lock_kind) || (t->call.args[1] & FUTEX_PRIVATE_FLAG))
		return;
	bool pi_lock = false;
	futex_op_is_wait(t->call.args[1], &pi_lock);
	struct foreign f = {pid, 0};
	pid_t owner = futex_owner(pid, o->address, pi_lock, t->s->tid, foreign_thread, &f);
	struct task_stat ost;
	if (owner <= 0 || !f.owner_pid || f.owner_pid == getpid() ||
	    procfs_read_stat(f.owner_pid, f.owner_pid, &ost) < 0 || ost.ppid == 2 ||
	    f.owner_pid == 2)
		return; /* gone, or a kernel thread: the word was no owner's tid */
	struct clink *l = new_link(c, "shared-lock", from, proc_index(c, f.owner_pid));
	l->to_tid = owner;
	char who[200];
	snprintf(l->object, sizeof(l->object), "%s at 0x%llx", o->lock_kind ? o->lock_kind : "lock",
		 (unsigned long long)o->address);
	snprintf(l->says, sizeof(l->says), "in memory shared with %s, held by its thread %d",
		 proc_text(c, f.owner_pid, who, sizeof(who)), (int)owner);
	snprintf(l->evidence, sizeof(l->evidence),
		 "the lock word at 0x%llx names thread %d, of process %d",
		 (unsigned long long)o->address, (int)owner, (int)f.owner_pid);
}

/* flock, or fcntl F_SETLKW / F_OFD_SETLKW: the holder, from /proc/locks. */
static void link_file_lock(struct chain *c, size_t from, size_t pi, int fd)
{
	pid_t pid = c->procs[pi].pid;
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	if (stat(path, &st) < 0)
		return;
	char *text = read_small_file("/proc/locks", 64 << 20, NULL);
	struct file_lock_wait w;
	bool found = text && peers_parse_locks(text, pid, major(st.st_dev), minor(st.st_dev),
					       (uint64_t)st.st_ino, &w) == 0;
	free(text);
	if (!found)
		return;
	struct pipe_holder h[MAX_FANOUT];
	size_t n = 0;
	char holder[32] = "", target[256] = "?";
	ssize_t len = readlink(path, target, sizeof(target) - 1);
	if (len > 0)
		target[len] = '\0';
	/* The holder /proc/locks names, if it still runs: a zombie's
	 * descriptors are closed, and a child may have the file open. */
	struct task_stat hst;
	bool named =
		w.holder > 0 && procfs_read_stat(w.holder, w.holder, &hst) == 0 && hst.state != 'Z';
	if (named)
		snprintf(holder, sizeof(holder), ", held by %d", (int)w.holder);
	if (named && w.holder == pid) {
		/* Its own process holds it, through another open file
		 * description (flock and OFD locks belong to those). */
		struct clink *l = new_link(c, "file-lock", from, -1);
		snprintf(l->object, sizeof(l->object), "%s lock on %s", w.kind, target);
		snprintf(l->says, sizeof(l->says),
			 "held by its own process through another open file description: the "
			 "chain ends inside it");
		snprintf(l->evidence, sizeof(l->evidence), "/proc/locks: a %s %s request of %d%s",
			 w.write ? "WRITE" : "READ", w.kind, (int)pid, holder);
		return;
	}
	if (named) {
		h[0] = (struct pipe_holder){.pid = w.holder, .fd = -1};
		n = 1;
	} else {
		/* An OFD lock, or a flock whose taker is gone: whoever has
		 * the file open may hold it. */
		n = peers_file_holders(pid, st.st_dev, (uint64_t)st.st_ino, false, false, h,
				       ARRAY_SIZE(h));
	}
	for (size_t i = 0; i < n; i++) {
		char who[200];
		struct clink *l = new_link(c, "file-lock", from, proc_index(c, h[i].pid));
		l->to_fd = h[i].fd;
		snprintf(l->object, sizeof(l->object), "%s lock on %s", w.kind, target);
		if (named)
			snprintf(l->says, sizeof(l->says), "held by %s",
				 proc_text(c, h[i].pid, who, sizeof(who)));
		else
			snprintf(l->says, sizeof(l->says),
				 "which %s, having the file open (fd %d), may hold",
				 proc_text(c, h[i].pid, who, sizeof(who)), h[i].fd);
		snprintf(l->evidence, sizeof(l->evidence),
			 "/proc/locks: a %s %s request of %d on %02x:%02x:%llu%s",
			 w.write ? "WRITE" : "READ", w.kind, (int)pid, major(st.st_dev),
			 minor(st.st_dev), (unsigned long long)st.st_ino, holder);
	}
}

/* wait4 or waitid: the children it may be waiting for. */
static void link_children(struct chain *c, size_t from, size_t pi, const struct dump_thread *t)
{
	const struct cproc *p = &c->procs[pi]; /* until proc_index below */
	pid_t pid = p->pid;
	long nr = t->s->syscall;
	const uint64_t *a = t->call.args;
	pid_t only = 0;
	if (nr == SYS_wait4 && (pid_t)a[0] > 0)
		only = (pid_t)a[0];
	if (nr == SYS_waitid && a[0] == P_PID)
		only = (pid_t)a[1];
	pid_t kids[MAX_FANOUT];
	size_t n = 0;
	if (only) {
		kids[n++] = only;
	} else {
		for (size_t i = 0; i < p->d->n && n < ARRAY_SIZE(kids); i++) {
			pid_t *k;
			size_t m = procfs_read_children(p->pid, p->d->th[i].s->tid, &k);
			for (size_t j = 0; j < m && n < ARRAY_SIZE(kids); j++)
				kids[n++] = k[j];
			free(k);
		}
	}
	for (size_t i = 0; i < n; i++) {
		char who[200];
		struct clink *l = new_link(c, "child", from, proc_index(c, kids[i]));
		snprintf(l->object, sizeof(l->object), only ? "child %d" : "any child (%d of them)",
			 only ? (int)kids[i] : (int)n);
		snprintf(l->says, sizeof(l->says), "for its child %s to end",
			 proc_text(c, kids[i], who, sizeof(who)));
		if (only)
			snprintf(l->evidence, sizeof(l->evidence), "the pid it waits for: %d",
				 (int)only);
		else
			snprintf(l->evidence, sizeof(l->evidence),
				 "/proc/%d/task/*/children: %d is a child of process %d", (int)pid,
				 (int)kids[i], (int)pid);
	}
}

static bool is_file_lock_wait(long nr, const uint64_t *a)
{
	if (nr == SYS_flock)
		return !(a[1] & LOCK_NB);
	return nr == SYS_fcntl && (a[1] == F_SETLKW || a[1] == F_OFD_SETLKW);
}

/* Every link out of the threads of procs[pi], just entered. */
static void find_links(struct chain *c, size_t pi)
{
	/* c->procs moves as links add processes: no pointer into it is
	 * kept across a link (the dump itself stays where it is). */
	const struct dump_proc *d = c->procs[pi].d;
	pid_t pid = c->procs[pi].pid;
	size_t first = c->procs[pi].first_node;
	for (size_t i = 0; i < d->n; i++) {
		const struct dump_thread *t = &d->th[i];
		size_t node = first + i;
		const struct profile *prof = &d->p;
		long nr = t->s->syscall;
		if (t->s->object >= 0 && prof->objects[t->s->object].lock_kind) {
			link_lock(c, node, pi, t);
			continue;
		}
		if (!t->in_call)
			continue;
		if (nr == SYS_wait4 || nr == SYS_waitid) {
			link_children(c, node, pi, t);
		} else if (is_file_lock_wait(nr, t->call.args)) {
			link_file_lock(c, node, pi, (int)t->call.args[0]);
		} else if (waitset_call(nr)) {
			for (size_t k = 0; k < t->n_set; k++)
				if (t->set[k].w.events & 5) /* in, out */
					link_fd(c, node, pid, t->set[k].w.fd,
						t->set[k].w.events & 1, true);
		} else if (syscall_takes_fd(nr)) {
			bool writes = nr == SYS_write || nr == SYS_writev || nr == SYS_sendto ||
				      nr == SYS_sendmsg || nr == SYS_sendmmsg ||
				      nr == SYS_pwrite64 || nr == SYS_pwritev || nr == SYS_pwritev2;
			if (nr != SYS_accept && nr != SYS_accept4)
				link_fd(c, node, pid, (int)t->call.args[0], !writes, false);
		}
	}
}

/* Where each node's links and each link's edges start, and how many. */
static void index_links(struct chain *c)
{
	free(c->link_first);
	free(c->link_count);
	c->link_first = xcalloc(c->n_nodes + 1, sizeof(*c->link_first));
	c->link_count = xcalloc(c->n_nodes + 1, sizeof(*c->link_count));
	for (size_t i = c->n_links; i-- > 0;) {
		c->link_first[c->links[i].from] = i;
		c->link_count[c->links[i].from]++;
	}
}

static void index_edges(struct chain *c)
{
	free(c->edge_first);
	free(c->edge_count);
	c->edge_first = xcalloc(c->n_links + 1, sizeof(*c->edge_first));
	c->edge_count = xcalloc(c->n_links + 1, sizeof(*c->edge_count));
	for (size_t e = c->n_edges; e-- > 0;) {
		c->edge_first[c->edges[e].link] = e;
		c->edge_count[c->edges[e].link]++;
	}
}

static bool thread_has_links(const struct chain *c, size_t node)
{
	return c->link_count[node] > 0;
}

static bool waits_on_fd(const struct dump_thread *t, int fd)
{
	if (!t->in_call || fd < 0)
		return false;
	if (waitset_call(t->s->syscall)) {
		for (size_t k = 0; k < t->n_set; k++)
			if (t->set[k].w.fd == fd)
				return true;
		return false;
	}
	return syscall_takes_fd(t->s->syscall) && (int)t->call.args[0] == fd;
}

static void add_edge(struct chain *c, size_t link, size_t to)
{
	c->edges = xgrow(c->edges, &c->cap_edges, c->n_edges + 1, sizeof(*c->edges));
	c->edges[c->n_edges++] = (struct cedge){link, to};
}

/* The threads of an entered process that a link to it stands for: the
 * thread named, else those blocked on the descriptor it reached, else
 * those waiting on something that leads on, else the busy ones, else the
 * main thread. A pool of threads may all qualify: a few stand for the
 * rest. */
static void resolve(struct chain *c, size_t li)
{
	const struct clink *l = &c->links[li];
	const struct cproc *p = &c->procs[l->to_proc];
	size_t before = c->n_edges;
	for (int rule = 0; rule < 4 && c->n_edges == before; rule++) {
		for (size_t i = 0; i < p->d->n && c->n_edges - before < MAX_STAND_INS; i++) {
			const struct dump_thread *t = &p->d->th[i];
			size_t node = p->first_node + i;
			bool fits = rule == 0	? l->to_tid && t->s->tid == l->to_tid
				    : rule == 1 ? waits_on_fd(t, l->to_fd)
				    : rule == 2 ? thread_has_links(c, node)
						: t->s->state <= ST_RUNNABLE;
			if (fits)
				add_edge(c, li, node);
		}
	}
	if (c->n_edges == before && p->d->n) {
		size_t main = 0;
		for (size_t i = 0; i < p->d->n; i++)
			if (p->d->th[i].s->tid == p->pid)
				main = i;
		add_edge(c, li, p->first_node + main);
	}
}

static void enter(struct chain *c, size_t pi)
{
	struct cproc *p = &c->procs[pi];
	p->tried = true;
	struct dump_proc *d = xcalloc(1, sizeof(*d));
	bool full = c->n_entered >= CHAIN_MAX_PROCS;
	int rc = full ? -1 : procdump_take(p->pid, d, p->why, sizeof(p->why));
	if (rc == 0 && d->n) {
		p->d = d;
		c->n_entered++;
		add_nodes(c, pi);
		find_links(c, pi);
		return;
	}
	if (full)
		snprintf(p->why, sizeof(p->why), "the walk stops at %d processes", CHAIN_MAX_PROCS);
	else if (rc == 0)
		snprintf(p->why, sizeof(p->why), "its threads exited while it was read");
	procdump_release(d);
	free(d);
	struct task_stat st;
	if (procfs_read_stat(p->pid, p->pid, &st) < 0) {
		snprintf(p->why, sizeof(p->why), "it exited during the walk");
		return;
	}
	p->state = st.state;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)p->pid);
	char *w = read_small_file(path, 256, NULL);
	snprintf(p->wchan, sizeof(p->wchan), "%s", w && *w && strcmp(w, "0") ? w : "");
	free(w);
}

struct chain *chain_walk(struct dump_proc *start)
{
	struct chain *c = xcalloc(1, sizeof(*c));
	proc_index(c, start->pid);
	c->procs[0].d = start;
	c->procs[0].tried = true;
	c->n_entered = 1;
	add_nodes(c, 0);
	find_links(c, 0);
	bool *seen = NULL;
	for (;;) {
		index_links(c);
		c->n_edges = 0;
		for (size_t i = 0; i < c->n_links; i++)
			if (c->links[i].to_proc >= 0 && c->procs[c->links[i].to_proc].d)
				resolve(c, i);
		index_edges(c);
		/* What the start's threads reach, and where that leads next. */
		free(seen);
		seen = xcalloc(c->n_nodes + 1, sizeof(*seen));
		size_t *stack = xcalloc(c->n_nodes + 1, sizeof(*stack)), top = 0;
		for (size_t i = 0; i < c->procs[0].d->n; i++) {
			seen[i] = true;
			stack[top++] = i;
		}
		int next = -1;
		while (top && next < 0) {
			size_t n = stack[--top];
			for (size_t i = c->link_first[n]; i < c->link_first[n] + c->link_count[n];
			     i++) {
				const struct clink *l = &c->links[i];
				if (l->to_proc >= 0 && !c->procs[l->to_proc].tried && next < 0)
					next = l->to_proc;
				for (size_t e = c->edge_first[i];
				     e < c->edge_first[i] + c->edge_count[i]; e++) {
					size_t to = c->edges[e].to;
					if (!seen[to]) {
						seen[to] = true;
						stack[top++] = to;
					}
				}
			}
		}
		free(stack);
		if (next < 0)
			break;
		enter(c, (size_t)next);
	}
	free(seen);
	return c;
}

void chain_free(struct chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_procs; i++) {
		if (i && c->procs[i].d) {
			procdump_release(c->procs[i].d);
			free(c->procs[i].d);
		}
		free(c->procs[i].title);
	}
	free(c->procs);
	free(c->node_proc);
	free(c->node_th);
	free(c->links);
	free(c->edges);
	free(c->cycles);
	free(c->cycle_lens);
	free(c->cycle_in_dump);
	free(c->link_first);
	free(c->link_count);
	free(c->edge_first);
	free(c->edge_count);
	peers_index_free(c->index);
	free(c);
}

/* /sys/dev/block/M:m's DEVNAME ("sda1"), else "M:m". */
static void device_name(dev_t dev, char *buf, size_t size)
{
	char path[96];
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	char *text = read_small_file(path, 4096, NULL);
	const char *n = text ? strstr(text, "DEVNAME=") : NULL;
	if (n) {
		n += 8;
		snprintf(buf, size, "/dev/%.*s (%u:%u)", (int)strcspn(n, "\n"), n, major(dev),
			 minor(dev));
	} else {
		snprintf(buf, size, "%u:%u", major(dev), minor(dev));
	}
	free(text);
}

/* Why a thread with no link ends its chain, as the end of a sentence. */
static void end_text(const struct cproc *p, const struct dump_thread *t, char *buf, size_t size)
{
	char comm[16] = "the process";
	procfs_read_comm(p->pid, p->pid, comm, sizeof(comm));
	const char *call = t->s->syscall >= 0 ? syscall_name_or_number(t->s->syscall) : "";
	switch (t->s->state) {
	case ST_ONCPU:
	case ST_RUNNABLE: snprintf(buf, size, "is running: it is busy, not waiting"); return;
	case ST_SLEEP: snprintf(buf, size, "sleeps in %s: it waits for time to pass", call); return;
	case ST_STOPPED:
		snprintf(buf, size, "is stopped (job control): it waits for SIGCONT");
		return;
	case ST_DISK:
		if (t->in_call && syscall_takes_fd(t->s->syscall)) {
			char path[64], dev[128];
			struct stat st;
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)p->pid,
				 (int)t->call.args[0]);
			if (stat(path, &st) == 0) {
				device_name(st.st_dev, dev, sizeof(dev));
				snprintf(buf, size,
					 "is in an uninterruptible wait (D) in %s on a file of "
					 "device %s: it waits for the device",
					 call, dev);
				return;
			}
		}
		snprintf(buf, size,
			 "is in an uninterruptible wait (D)%s%s: it waits for the kernel",
			 *call ? " in " : "", call);
		return;
	case ST_LOCK:
		snprintf(buf, size,
			 "waits on a futex whose owner is not written in it (a condition "
			 "variable, semaphore, or a lock of the program's own): the chain ends "
			 "inside %s",
			 disp(comm));
		return;
	default: break;
	}
	if (t->in_call && waitset_call(t->s->syscall) && !t->set_err && !t->set_total) {
		snprintf(buf, size, "waits in %s on no descriptor: it waits for time to pass",
			 call);
		return;
	}
	for (size_t k = 0; k < t->n_set; k++) {
		const struct waited_fd *f = &t->set[k];
		if (f->described &&
		    (!strcmp(f->desc.kind, "signalfd") || !strcmp(f->desc.kind, "eventfd"))) {
			snprintf(
				buf, size,
				"waits in %s for a signal or event (%s, fd %d) that anyone may "
				"send; who will is kept in its own memory: the chain ends inside %s",
				call, f->desc.kind, f->w.fd, disp(comm));
			return;
		}
	}
	if (t->in_call && waitset_call(t->s->syscall) && t->set_total)
		snprintf(buf, size,
			 "waits in %s for any of its %zu descriptors, none leading to a thread "
			 "that waits in turn (an event loop waiting for work): the chain ends "
			 "inside %s",
			 call, t->set_total, disp(comm));
	else if (*call)
		snprintf(buf, size,
			 "waits in %s on nothing that leads to another thread wallprof can see: "
			 "the chain ends inside %s",
			 call, disp(comm));
	else
		snprintf(buf, size, "is %s", state_name(t->s->state));
}

/* Paths from the start: each a list of edges (or of a link without
 * edges, at its end). */
struct walker {
	const struct chain *c;
	size_t path[MAX_DEPTH]; /* edge indices; a link index | LINK_BIT at the end */
	size_t len;
	size_t n_paths;
	bool *shown; /* node -> its stack printed already */
	bool json;
	json_t *chains;
	struct chain *mc; /* to record cycles */
	size_t steps;
};

#define LINK_BIT ((size_t)1 << 62)

static size_t step_link(const struct walker *w, size_t k)
{
	size_t s = w->path[k];
	return s & LINK_BIT ? s & ~LINK_BIT : w->c->edges[s].link;
}

static void print_node(struct walker *w, size_t node)
{
	const struct chain *c = w->c;
	const struct dump_thread *t = node_thread(c, node);
	if (w->shown[node]) {
		printf("       (thread %d: its stack is shown above)\n", (int)t->s->tid);
		return;
	}
	w->shown[node] = true;
	procdump_print_thread(node_proc(c, node)->d, t, 7);
}

static void thread_text(const struct chain *c, size_t node, char *buf, size_t size)
{
	const struct cproc *p = node_proc(c, node);
	const struct dump_thread *t = node_thread(c, node);
	char title[80];
	title_short(p->title && *p->title ? p->title : "?", title, sizeof(title));
	snprintf(buf, size, "Thread %d \"%s\" of process %d (%s)", (int)t->s->tid, disp(t->name),
		 (int)p->pid, disp(title));
}

static void link_json(const struct chain *c, const struct clink *l, json_t *to, json_t *a)
{
	const struct dump_thread *t = node_thread(c, l->from);
	json_array_append_new(a, json_pack("{s:s, s:{s:i, s:i}, s:o, s:o, s:o, s:o}", "kind",
					   l->kind, "from", "pid", (int)node_proc(c, l->from)->pid,
					   "tid", (int)t->s->tid, "to", to, "object",
					   json_text(l->object), "evidence", json_text(l->evidence),
					   "text", json_text(l->says)));
}

/* A path is done: print it (text) or add it (JSON). cycle_at: the node
 * the last edge returns to on the path, or SIZE_MAX. */
static void emit_path(struct walker *w, size_t cycle_at)
{
	const struct chain *c = w->c;
	/* Chains inside the start process through its locks alone are in
	 * its dump already. */
	bool leaves = false;
	for (size_t k = 0; k < w->len; k++)
		leaves |= strcmp(c->links[step_link(w, k)].kind, "lock") != 0;
	if (!leaves)
		return;
	if (w->n_paths++ >= MAX_PATHS)
		return;
	json_t *links = w->json ? json_array() : NULL;
	if (!w->json)
		printf("\nChain %zu:\n", w->n_paths);
	for (size_t k = 0; k < w->len; k++) {
		size_t li = step_link(w, k);
		const struct clink *l = &c->links[li];
		bool edge = !(w->path[k] & LINK_BIT);
		size_t to = edge ? c->edges[w->path[k]].to : SIZE_MAX;
		const struct dump_thread *t = node_thread(c, l->from);
		char who[400], call[64];
		snprintf(call, sizeof(call), "%s",
			 t->s->syscall >= 0 ? syscall_name_or_number(t->s->syscall) : "a wait");
		if (w->json) {
			json_t *tj = json_null();
			if (edge)
				tj = json_pack("{s:i, s:i}", "pid", (int)node_proc(c, to)->pid,
					       "tid", (int)node_thread(c, to)->s->tid);
			else if (l->to_proc >= 0)
				tj = json_pack("{s:i, s:n}", "pid", (int)c->procs[l->to_proc].pid,
					       "tid");
			link_json(c, l, tj, links);
			continue;
		}
		thread_text(c, l->from, who, sizeof(who));
		printf("  %zu. %s waits in %s on %s, %s.\n", k + 1, who, call, disp(l->object),
		       l->says);
		printf("     evidence: %s\n", disp(l->evidence));
		print_node(w, l->from);
	}
	/* The end: a cycle, a thread with nothing further, or a process
	 * that could not be entered. */
	char end[1024] = "";
	size_t last = w->path[w->len - 1];
	const struct clink *ll = &c->links[step_link(w, w->len - 1)];
	if (cycle_at != SIZE_MAX) {
		char who[400];
		thread_text(c, cycle_at, who, sizeof(who));
		size_t step = 0;
		for (size_t k = 0; k < w->len; k++)
			if (c->links[step_link(w, k)].from == cycle_at) {
				step = k + 1;
				break;
			}
		snprintf(end, sizeof(end),
			 "%s is already on this chain (step %zu): this is a deadlock", who, step);
	} else if (!(last & LINK_BIT)) {
		size_t to = c->edges[last].to;
		char who[400], why[400];
		thread_text(c, to, who, sizeof(who));
		end_text(node_proc(c, to), node_thread(c, to), why, sizeof(why));
		/* Its links all lead back onto the chain through a poll set. */
		for (size_t li = c->link_first[to]; li < c->link_first[to] + c->link_count[to];
		     li++)
			for (size_t e = c->edge_first[li];
			     e < c->edge_first[li] + c->edge_count[li]; e++)
				for (size_t k = 0; k < w->len; k++)
					if (c->links[step_link(w, k)].from == c->edges[e].to)
						snprintf(
							why, sizeof(why),
							"waits on %s, which leads back to step %zu: "
							"a cycle through a wait for any of a set of "
							"descriptors, not a deadlock",
							c->links[li].object, k + 1);
		snprintf(end, sizeof(end), "%s %s.", who, why);
		if (!w->json) {
			printf("  %zu. %s\n", w->len + 1, end);
			print_node(w, to);
		}
	} else if (ll->to_proc >= 0) {
		const struct cproc *p = &c->procs[ll->to_proc];
		char st[128] = "";
		if (p->state != '?')
			snprintf(st, sizeof(st), "; /proc says: state %c%s%s", p->state,
				 *p->wchan ? ", wchan " : "", p->wchan);
		snprintf(end, sizeof(end), "Process %d could not be entered (%s)%s.", (int)p->pid,
			 p->why, st);
	}
	if (w->json) {
		json_t *last_link = json_array_get(links, json_array_size(links) - 1);
		json_object_set_new(last_link, "then", json_text(end));
		json_object_set_new(last_link, "deadlock", json_boolean(cycle_at != SIZE_MAX));
		json_array_append_new(w->chains, links);
	} else if (cycle_at != SIZE_MAX || (last & LINK_BIT)) {
		printf("  %s\n", disp(end));
	}
}

/* A cycle closed at path position from: recorded once, whatever node of
 * it a path entered by. */
static void record_cycle(struct walker *w, size_t from)
{
	struct chain *c = w->mc;
	size_t n = w->len - from, nodes[MAX_DEPTH], min = 0;
	for (size_t k = 0; k < n; k++) {
		nodes[k] = c->links[step_link(w, from + k)].from;
		if (nodes[k] < nodes[min])
			min = k;
	}
	for (size_t i = 0, off = 0; i < c->n_cycles; off += c->cycle_lens[i++]) {
		if (c->cycle_lens[i] != n)
			continue;
		bool same = true;
		for (size_t k = 0; k < n && same; k++)
			same = c->cycles[off + k] == nodes[(min + k) % n];
		if (same)
			return;
	}
	size_t cap = c->n_cycle_nodes + n;
	c->cycles = xrealloc(c->cycles, cap * sizeof(*c->cycles));
	for (size_t k = 0; k < n; k++)
		c->cycles[c->n_cycle_nodes++] = nodes[(min + k) % n];
	c->cycle_lens = xrealloc(c->cycle_lens, (c->n_cycles + 1) * sizeof(*c->cycle_lens));
	c->cycle_in_dump =
		xrealloc(c->cycle_in_dump, (c->n_cycles + 1) * sizeof(*c->cycle_in_dump));
	bool in_dump = true;
	for (size_t k = 0; k < n; k++)
		in_dump &= c->node_proc[nodes[k]] == 0 &&
			   !strcmp(c->links[step_link(w, from + k)].kind, "lock");
	c->cycle_in_dump[c->n_cycles] = in_dump;
	c->cycle_lens[c->n_cycles++] = n;
}

static void walk_from(struct walker *w, size_t node)
{
	const struct chain *c = w->c;
	bool any = false;
	if (++w->steps > MAX_STEPS)
		return; /* fan-out on fan-out: enough has been shown */
	for (size_t li = c->link_first[node]; li < c->link_first[node] + c->link_count[node];
	     li++) {
		size_t edges = 0;
		for (size_t e = c->edge_first[li]; e < c->edge_first[li] + c->edge_count[li]; e++) {
			edges++;
			size_t to = c->edges[e].to, at = to == node ? w->len : SIZE_MAX;
			for (size_t k = 0; k < w->len && at == SIZE_MAX; k++)
				if (c->links[step_link(w, k)].from == to)
					at = k;
			/* A cycle through a poll set (a server's event loop holds
			 * its client's connection too) is no deadlock: that thread
			 * waits for any of its descriptors. Nothing new there. */
			bool through_set = c->links[li].in_set;
			for (size_t k = at; k < w->len && at != SIZE_MAX; k++)
				through_set |= c->links[step_link(w, k)].in_set;
			if (at != SIZE_MAX && through_set)
				continue;
			any = true;
			if (w->len >= MAX_DEPTH)
				continue;
			w->path[w->len++] = e;
			if (at != SIZE_MAX) {
				record_cycle(w, at);
				emit_path(w, to);
			} else {
				walk_from(w, to);
			}
			w->len--;
		}
		if (!edges && w->len < MAX_DEPTH) {
			any = true;
			w->path[w->len++] = li | LINK_BIT;
			emit_path(w, SIZE_MAX);
			w->len--;
		}
	}
	if (!any && w->len)
		emit_path(w, SIZE_MAX);
}

static void walk_all(struct walker *w)
{
	const struct chain *c = w->c;
	w->shown = xcalloc(c->n_nodes + 1, sizeof(*w->shown));
	/* The start's threads are in its own dump, just above. */
	for (size_t i = 0; i < c->procs[0].d->n; i++)
		w->shown[i] = true;
	for (size_t i = 0; i < c->procs[0].d->n; i++)
		walk_from(w, i);
	free(w->shown);
}

/* "thread 12 of process 10 (a) -> thread 13 of process 11 (b) -> back" */
static void print_cycles(const struct chain *c)
{
	size_t shown = 0;
	for (size_t i = 0, off = 0; i < c->n_cycles; off += c->cycle_lens[i++]) {
		if (c->cycle_in_dump[i])
			continue; /* printed with the process's own dump */
		if (!shown++)
			printf("\n");
		bool across = false;
		for (size_t k = 0; k < c->cycle_lens[i]; k++)
			across |= c->node_proc[c->cycles[off + k]] != c->node_proc[c->cycles[off]];
		printf("deadlock%s: ", across ? " across processes" : "");
		for (size_t k = 0; k < c->cycle_lens[i]; k++) {
			char who[400];
			thread_text(c, c->cycles[off + k], who, sizeof(who));
			printf("%s%s", k ? ", which waits for " : "", who);
		}
		printf(", which waits for the first\n");
	}
}

void chain_print_text(const struct chain *c)
{
	size_t entered = 0;
	for (size_t i = 0; i < c->n_procs; i++)
		entered += c->procs[i].d != NULL;
	printf("\nWait chains from process %d (%zu process%s entered):\n", (int)c->procs[0].pid,
	       entered, entered == 1 ? "" : "es");
	struct walker w = {.c = c, .mc = (struct chain *)c};
	walk_all(&w);
	if (!w.n_paths)
		printf("  none: no thread waits on anything that leads out of the process\n");
	if (w.n_paths > MAX_PATHS)
		printf("\n(%zu more chains not shown)\n", w.n_paths - MAX_PATHS);
	print_cycles(c);
	for (size_t i = 1; i < c->n_procs; i++)
		if (c->procs[i].d && c->procs[i].why[0])
			printf("\nnote: while reading process %d: %s\n", (int)c->procs[i].pid,
			       disp(c->procs[i].why));
}

void chain_add_json(const struct chain *c, json_t *root)
{
	struct walker w = {.c = c, .mc = (struct chain *)c, .json = true, .chains = json_array()};
	walk_all(&w);
	json_object_set_new(root, "chains", w.chains);
	json_t *procs = json_array();
	for (size_t i = 1; i < c->n_procs; i++) {
		const struct cproc *p = &c->procs[i];
		if (!p->tried)
			continue; /* named by a link no chain from the start took */
		json_t *j = p->d ? procdump_json(p->d) : json_pack("{s:i}", "pid", (int)p->pid);
		json_object_set_new(j, "title", json_text(p->title ? p->title : ""));
		if (p->d && p->why[0])
			json_object_set_new(j, "warnings", json_text(p->why));
		if (!p->d) {
			char st[2] = {p->state, '\0'};
			json_object_set_new(j, "not_entered", json_text(p->why));
			json_object_set_new(j, "state", json_string(st));
			json_object_set_new(j, "wchan", json_text(p->wchan));
		}
		json_array_append_new(procs, j);
	}
	json_object_set_new(root, "processes", procs);
	json_t *dl = json_object_get(root, "deadlocks");
	for (size_t i = 0, off = 0; i < c->n_cycles; off += c->cycle_lens[i++]) {
		if (c->cycle_in_dump[i])
			continue; /* already there, from the process's own dump */
		json_t *cycle = json_array();
		for (size_t k = 0; k < c->cycle_lens[i]; k++)
			json_array_append_new(
				cycle, json_integer(node_thread(c, c->cycles[off + k])->s->tid));
		json_array_append_new(dl, cycle);
	}
}
