/*
 * snapshot.c: registers and a stack copy to an interned stack and a sample
 * row. See snapshot.h.
 */
#include "snapshot.h"

#include <string.h>

uint32_t snapshot_intern(struct tracer *tr, const struct thread *t, const uint64_t *ips, uint32_t n,
			 bool truncated)
{
	struct proc *proc = t ? t->proc : NULL;
	/* A pc in no known mapping, not unwound (a pc alone), or unwound
	 * when the maps could not be read again: they may have changed (a
	 * program just started maps its libraries), or its process exec'd
	 * and the exec's event is still to come. The maps may not tell that
	 * (read empty while the exec replaced the main thread): the thread's
	 * program does. */
	if (proc && !proc->as.replaced && n && !addrspace_find(&proc->as, ips[0])) {
		unwinder_maybe_refresh(proc_unwinder(proc));
		if (!proc->as.replaced && !addrspace_find(&proc->as, ips[0]))
			addrspace_exec_seen(&proc->as, t->tid);
	}
	/* Then the addresses are the new program's, which this process
	 * never had. */
	if (proc && proc->as.replaced)
		return snapshot_marker(tr, STACK_EXEC_ADDR);
	struct raw_stack s = {proc ? proc->index : 0, ips, n, truncated};
	return raw_stack_intern(&tr->rec->stacks, &s);
}

uint32_t snapshot_marker(struct tracer *tr, uint64_t addr)
{
	uint32_t *id = &tr->marker_stacks[addr < ARRAY_SIZE(tr->marker_stacks) ? addr : 0];
	if (!*id)
		*id = snapshot_intern(tr, NULL, &addr, 1, false) + 1;
	return *id - 1;
}

uint32_t snapshot_unwind(struct tracer *tr, struct thread *t, const struct user_regs_struct *regs,
			 bool full_regs, struct stack_copy *copy)
{
	struct unwind_result res;
	if (copy->len == 0) {
		res.ips[0] = regs->rip;
		res.n = 1;
		res.truncated = true;
	} else {
		unwinder_unwind(proc_unwinder(t->proc), regs, full_regs, copy, &res);
		t->copy_window = stack_copy_window(t->copy_window, res.stack_used, res.overrun);
	}
	return snapshot_intern(tr, t, res.ips, (uint32_t)res.n, res.truncated);
}

void snapshot_record(struct tracer *tr, struct thread *t, uint32_t stack,
		     const struct activity *what, mono_ns when)
{
	if (t->info == INFO_NONE)
		t->info = recorder_thread(tr->rec, t->tid, t->proc ? t->proc->pid : 0, t->comm,
					  when - tr->start);
	recorder_sample(tr->rec, t->info, when - tr->start, t->tid, stack, what->state,
			what->syscall, what->object, what->owner);
}
