/*
 * locks.c: futex waits decoded into lock waits, their owners, and
 * deadlocks. See locks.h; the futex layouts are those of glibc 2.36 on
 * x86_64 and Rust's std, as docs/locks.md describes them.
 */
#include "locks.h"

#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "maps.h"
#include "util.h"

#define FUTEX_TID_MASK_ 0x3fffffffu

bool futex_op_is_wait(uint64_t op, bool *pi)
{
	int cmd = (int)(op & FUTEX_CMD_MASK);
	*pi = cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2 || cmd == FUTEX_WAIT_REQUEUE_PI;
	return cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || *pi;
}

uint64_t futex_wait_address(pid_t pid, long nr, const uint64_t *args, bool *pi)
{
	*pi = false;
	if (nr == SYS_futex)
		return futex_op_is_wait(args[1], pi) ? args[0] : 0;
#ifdef SYS_futex_waitv
	if (nr == SYS_futex_waitv && args[1] > 0) {
		/* struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 pad; } */
		uint64_t w[2];
		if (target_read(pid, args[0], w, sizeof(w)) == (ssize_t)sizeof(w))
			return w[1];
	}
#endif
	return 0;
}

pid_t futex_owner(pid_t pid, uint64_t addr, bool pi, pid_t self,
		  pid_t (*to_thread)(void *ctx, pid_t id), void *ctx)
{
	/* int __lock; unsigned __count; int __owner: pthread_mutex_t's head. */
	uint32_t w[3];
	ssize_t n = target_read(pid, addr, w, sizeof(w));
	if (n < (ssize_t)sizeof(w[0]))
		return 0;
	pid_t cand;
	if (pi)
		return to_thread(ctx, (pid_t)(w[0] & FUTEX_TID_MASK_));
	/* pthread_join waits on a word that holds the joined thread's tid;
	 * a mutex word is 0, 1 or 2 and its owner sits at +8. */
	cand = w[0] > 2 ? to_thread(ctx, (pid_t)w[0]) : 0;
	if (cand > 0 && cand != self)
		return cand;
	if (n < (ssize_t)sizeof(w))
		return 0;
	cand = (pid_t)w[2] > 0 ? to_thread(ctx, (pid_t)w[2]) : 0;
	return cand > 0 && cand != self ? cand : 0;
}

/* Function-name fragments that identify a wait, most specific first. */
static const struct {
	const char *fragment, *kind;
} waits[] = {
	{"__pthread_clockjoin_ex", "join"},
	{"pthread_join", "join"},
	{"JoinInner", "join"},
	{"__pthread_cond_wait", "condvar"},
	{"pthread_cond_wait", "condvar"},
	{"pthread_cond_timedwait", "condvar"},
	{"pthread_cond_clockwait", "condvar"},
	{"__pthread_rwlock", "rwlock"},
	{"pthread_rwlock_", "rwlock"},
	{"__new_sem_wait", "semaphore"},
	{"sem_wait", "semaphore"},
	{"sem_timedwait", "semaphore"},
	{"sem_clockwait", "semaphore"},
	{"pthread_barrier_wait", "barrier"},
	{"__lll_lock_wait", "mutex"},
	{"pthread_mutex_lock", "mutex"},
	{"pthread_mutex_timedlock", "mutex"},
	{"pthread_mutex_clocklock", "mutex"},
	{"::condvar::", "rust-condvar"},
	{"Condvar::wait", "rust-condvar"},
	{"::rwlock::", "rust-rwlock"},
	{"RwLock", "rust-rwlock"},
	{"::mutex::", "rust-mutex"},
	{"Mutex<", "rust-mutex"},
	{"Mutex::lock", "rust-mutex"},
	{"thread::park", "park"},
	{"Parker::park", "park"},
};

const char *lock_classify(const char *const *functions, size_t n)
{
	/* The innermost recognised frame decides: a condvar wait re-locks
	 * its mutex, and the wait itself is the inner call. */
	for (size_t i = 0; i < n; i++) {
		if (!functions[i])
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(waits); k++)
			if (strstr(functions[i], waits[k].fragment))
				return waits[k].kind;
	}
	return "futex";
}

bool lock_kind_is_idle(const char *kind)
{
	/* Condition variables, parking and barriers wait for something to do,
	 * not for a lock someone holds: a pool of workers waits there for
	 * work. Their time is idleness, not contention. */
	return kind && (!strcmp(kind, "condvar") || !strcmp(kind, "rust-condvar") ||
			!strcmp(kind, "park") || !strcmp(kind, "barrier"));
}

bool lock_kind_has_owner(const char *kind)
{
	return !strcmp(kind, "mutex") || !strcmp(kind, "join");
}

size_t locks_find_cycles(const int *waits_for, size_t n, int *cycles, size_t *lens)
{
	/* Each node has at most one outgoing edge: follow it, colouring the
	 * path with the walk's number; meeting our own colour is a cycle. */
	int *color = xcalloc(n ? n : 1, sizeof(*color));
	for (size_t i = 0; i < n; i++)
		color[i] = -1;
	size_t n_cycles = 0, used = 0;
	for (size_t start = 0; start < n; start++) {
		int v = (int)start;
		while (v >= 0 && (size_t)v < n && color[v] < 0) {
			color[v] = (int)start;
			v = waits_for[v];
		}
		if (v < 0 || (size_t)v >= n || color[v] != (int)start)
			continue;
		/* v is on a new cycle: list it from v. */
		size_t len = 0;
		int u = v;
		do {
			cycles[used + len++] = u;
			u = waits_for[u];
		} while (u != v);
		lens[n_cycles++] = len;
		used += len;
	}
	free(color);
	return n_cycles;
}
