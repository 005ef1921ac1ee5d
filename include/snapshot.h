/*
 * snapshot.h: from a thread's registers and a copy of its stack to a row of
 * the recording. The unwind runs on the copy, after the thread has been
 * resumed (or, for a thread blocked in a call, without ever stopping it);
 * the addresses found are interned as a raw stack, and a sample row names
 * that stack with the thread's state, call and what it waits on.
 *
 * Below the sampler and exact tracing, which both take snapshots, each
 * with a stack copy of its own; above the tracer, whose thread and process
 * tables it reads.
 */
#ifndef WALLPROF_SNAPSHOT_H
#define WALLPROF_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/user.h>

#include "tracer.h"

/*
 * Intern a raw stack of thread t (NULL: a pseudo-address of no process):
 * its process's index, then the addresses, innermost first. Once its
 * process is known to run another program (maps.h, addrspace_refresh and
 * addrspace_exec_seen), the STACK_EXEC_ADDR marker instead.
 */
uint32_t snapshot_intern(struct tracer *tr, const struct thread *t, const uint64_t *ips, uint32_t n,
			 bool truncated);

/* The stack of a sample whose stop was skipped (--max-overhead), never
 * came (STACK_LATE_ADDR) or found the program its process exec'd
 * (STACK_EXEC_ADDR): one frame at that pseudo-address, which the
 * symbolizer names for what it is. */
uint32_t snapshot_marker(struct tracer *tr, uint64_t addr);

/*
 * Unwind t's stack from regs (full_regs: every register is known, as at a
 * stop; otherwise only sp and pc, as /proc/TID/syscall gives them) over
 * copy, and intern it. An empty copy (a 32-bit thread) gives the pc alone,
 * marked cut short. Adjusts t's copy window to the depth it needed.
 */
uint32_t snapshot_unwind(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs,
			 bool full_regs, struct stack_copy *copy);

/* Record one sample of t at time when: stack, and what it was doing. */
void snapshot_record(struct tracer *tr, struct thread *t, uint32_t stack,
		     const struct activity *what, mono_ns when);

#endif
