/*
 * attribute.c: what a blocked call works on. See attribute.h.
 */
#include "attribute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "locks.h"
#include "peers.h"
#include "syscalls.h"
#include "waitset.h"

struct owner_ctx {
	struct tracer *tr;
	struct proc *pr;
};

/* The thread's id inside its own PID namespace: the last field of NSpid
 * in /proc/TID/status (one per namespace level, ours first). */
static pid_t ns_tid_of(struct thread *t)
{
	if (t->ns_tid)
		return t->ns_tid;
	char *text = procfs_read_status(t->proc->as.pid, t->tid);
	uint64_t ids[32];
	int n = text ? procfs_parse_status_ids(text, "NSpid", ids, 32) : 0;
	t->ns_tid = n > 0 ? (pid_t)ids[n - 1] : 0;
	free(text);
	return t->ns_tid;
}

/*
 * glibc keeps a mutex owner's tid as the target sees it: in a container
 * attached from the host, that is its id in the container's PID namespace.
 * Map it to ours through NSpid.
 */
static pid_t our_thread(void *ctx, pid_t id)
{
	const struct owner_ctx *c = ctx;
	if (!c->pr->other_pidns) {
		const struct thread *t = tracer_find(c->tr, id);
		return t && !t->foreign ? id : 0;
	}
	for (size_t i = 0; i < c->tr->n_threads; i++) {
		struct thread *t = c->tr->threads[i];
		if (t->proc == c->pr && ns_tid_of(t) == id)
			return t->tid;
	}
	return 0;
}

/* Recorded processes looked through at most for the other end of a
 * pipe or TCP connection: each costs a read of its descriptor table. */
#define PEER_SCAN_PROCS 64
#define PEER_TRIES 8
#define PEER_RETRY_MS 100
#define PEER_MS_MASK 0x3fffffffu

/*
 * The recorded process at the other end of a pipe or socket, for the
 * report's share of blocked time spent waiting on other processes: the
 * live recorded process holding the pipe's other end or the socket's
 * peer, looked for among all of them when they are few, else only in the
 * one SO_PEERCRED names for a Unix socket (which is the process that
 * listened, not the one a forking server handed the connection to: hence
 * checked).
 *
 * A lookup that finds none is tried again, up to PEER_TRIES times in all,
 * PEER_RETRY_MS apart: a connection's server side has no descriptor until
 * the server's accept returns, which may be after the client first waits.
 */
static pid_t find_peer(struct tracer *tr, struct thread *t, int fd, const struct fd_desc *d)
{
	uint32_t known, tried;
	struct fd_table *ft = &t->proc->fds;
	if (u64map_get(&ft->peers, d->inode, &known))
		return (pid_t)known - 1;
	uint32_t now_ms = (uint32_t)(mono_now() / 1000000) & PEER_MS_MASK, tries = 0;
	if (u64map_get(&ft->peer_tries, d->inode, &tried)) {
		tries = tried >> 30;
		if (((now_ms - (tried & PEER_MS_MASK)) & PEER_MS_MASK) < PEER_RETRY_MS)
			return 0;
	}
	pid_t peer = 0;
	size_t n = 0;
	bool cred = false;
	pid_t *pids = xcalloc(tr->n_procs + 1, sizeof(*pids));
	for (size_t i = 0; i < tr->n_procs; i++) {
		const struct proc *pr = tr->procs[i];
		if (pr->gone || pr == t->proc)
			continue;
		pids[n++] = pr->pid;
		cred |= d->peer_cred == pr->pid;
	}
	if (n && n <= PEER_SCAN_PROCS)
		peer = peers_other_end(t->proc->pid, fd, d->name, pids, n);
	else if (cred)
		peer = peers_other_end(t->proc->pid, fd, d->name, &d->peer_cred, 1);
	free(pids);
	if (peer || tries + 1 >= PEER_TRIES) {
		u64map_put(&ft->peers, d->inode, (uint32_t)peer + 1);
	} else {
		u64map_put(&ft->peer_tries, d->inode, (tries + 1) << 30 | now_ms);
		t->peer_retry_at = mono_now() + PEER_RETRY_MS * 1000000ULL;
	}
	return peer;
}

static int32_t describe_fd(struct tracer *tr, struct thread *t, int fd, bool cache)
{
	struct fd_desc d;
	int32_t object;
	if (cache && (object = fd_table_cached(&t->proc->fds, fd)) >= 0)
		return object;
	if (fd_describe(&t->proc->fds, fd, &d) < 0)
		object = -1;
	else if (d.inode && tr->n_procs > 1)
		object = recorder_object_peer(tr->rec, d.kind, d.name, fd, 0, 0,
					      find_peer(tr, t, fd, &d));
	else
		object = recorder_object(tr->rec, d.kind, d.name, fd, 0, 0);
	if (cache)
		fd_table_remember(&t->proc->fds, fd, object);
	return object;
}

int32_t attribute_fd(struct tracer *tr, struct thread *t, int fd)
{
	/* While tracing, every close and dup2 is seen: the cache holds. */
	return describe_fd(tr, t, fd, tr->sees_every_close);
}

void attribute_call(struct tracer *tr, struct thread *t, long nr, const uint64_t *args,
		    struct activity *what)
{
	what->object = -1;
	what->owner = 0;
	t->peer_retry_at = 0;
	if (syscall_takes_fd(nr)) {
		/* A close is described after it was let go, when its
		 * descriptor may be gone or already another's: the cache,
		 * emptied at the close's entry, must not learn it again. */
		what->object =
			describe_fd(tr, t, (int)args[0], tr->sees_every_close && nr != SYS_close);
		return;
	}
	/* A poll of one descriptor (a client awaiting its server's answer,
	 * as libpq does) waits on that descriptor. */
	struct wait_fd w;
	size_t total;
	if ((nr == SYS_poll || nr == SYS_ppoll) && args[1] == 1 &&
	    waitset_read(t->proc->as.pid, nr, args, &w, 1, &total, NULL) == 1) {
		what->object = attribute_fd(tr, t, w.fd);
		return;
	}
	bool pi;
	uint64_t addr = futex_wait_address(t->proc->pid, nr, args, &pi);
	if (!addr)
		return;
	char name[32];
	snprintf(name, sizeof(name), "0x%llx", (unsigned long long)addr);
	what->object = recorder_object(tr->rec, "lock", name, -1, addr, t->proc->index);
	struct owner_ctx ctx = {tr, t->proc};
	what->owner = futex_owner(t->proc->as.pid, addr, pi, t->tid, our_thread, &ctx);
}
