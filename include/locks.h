/*
 * locks.h: futex waits as lock waits. A futex call is decoded from its
 * arguments (is it a wait, on which word, PI or not); the owner of a glibc
 * mutex is read from the word next to the futex (the __owner field at +8)
 * and that of a PI futex from the word itself; the kind of wait (mutex,
 * condition variable, join, ...) comes from the functions on the waiter's
 * stack, since the futex op alone is ambiguous (docs/locks.md). With owners known,
 * the waits form a wait-for graph, and a cycle in it is a deadlock.
 */
#ifndef WALLPROF_LOCKS_H
#define WALLPROF_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Is this futex(2) op (args[1]) a wait? Sets *pi for the PI variants. */
bool futex_op_is_wait(uint64_t op, bool *pi);

/*
 * The futex word a thread blocked in syscall nr with args waits on, or 0 if
 * the call is no futex wait. futex_waitv's first waiter is read from the
 * target. *pi is set for PI futexes.
 */
uint64_t futex_wait_address(pid_t pid, long nr, const uint64_t *args, bool *pi);

/*
 * Who the wait at futex word addr waits for: for PI futexes the tid in the
 * word; for pthread_join the joined thread, whose tid is the word itself;
 * for a glibc mutex the __owner field at addr + 8. These are thread ids as
 * the target sees them, in its own PID namespace: to_thread turns one into
 * the id of a thread of the process as wallprof sees it, or 0 if it is none
 * (then the candidate is dropped, as is the waiter itself, self). Returns
 * 0 if none is left. Only meaningful for the kinds lock_kind_has_owner()
 * accepts, which the stack decides later.
 */
pid_t futex_owner(pid_t pid, uint64_t addr, bool pi, pid_t self,
		  pid_t (*to_thread)(void *ctx, pid_t id), void *ctx);

/*
 * The kind of a futex wait from the function names on its stack (innermost
 * first): "mutex", "rwlock", "condvar", "semaphore", "barrier", "join",
 * "rust-mutex", "rust-rwlock", "rust-condvar", "park", or "futex" if none
 * is recognised.
 */
const char *lock_classify(const char *const *functions, size_t n);
/* Does a wait of this kind have an owner (mutex) or awaited thread (join)? */
bool lock_kind_has_owner(const char *kind);
/* Is a wait of this kind idleness (a condition variable, parking, a
 * barrier: waiting for work) rather than contention for a held lock? */
bool lock_kind_is_idle(const char *kind);

/*
 * Cycles in a wait-for graph. waits_for[i] is the index of the thread that
 * thread i waits for, or -1. Writes each cycle once as a run of thread
 * indices into cycles (lengths into lens) and returns the number of cycles.
 * cycles needs room for n entries, lens for n.
 */
size_t locks_find_cycles(const int *waits_for, size_t n, int *cycles, size_t *lens);

#endif
