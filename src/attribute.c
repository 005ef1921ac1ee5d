/*
 * attribute.c: what a blocked call works on. See attribute.h.
 */
#include "attribute.h"

#include <stdio.h>
#include <stdlib.h>

#include "locks.h"
#include "syscalls.h"

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

int32_t attribute_fd(struct tracer *tr, struct thread *t, int fd)
{
	struct fd_desc d;
	int32_t object;
	/* While tracing, every close and dup2 is seen: the cache holds. */
	bool cache = tr->sees_every_close;
	if (cache && (object = fd_table_cached(&t->proc->fds, fd)) >= 0)
		return object;
	object = fd_describe(&t->proc->fds, fd, &d) == 0
			 ? recorder_object(tr->rec, d.kind, d.name, fd, 0, 0)
			 : -1;
	if (cache)
		fd_table_remember(&t->proc->fds, fd, object);
	return object;
}

void attribute_call(struct tracer *tr, struct thread *t, long nr, const uint64_t *args,
		    struct activity *what)
{
	what->object = -1;
	what->owner = 0;
	if (syscall_takes_fd(nr)) {
		what->object = attribute_fd(tr, t, (int)args[0]);
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
