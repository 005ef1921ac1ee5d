/*
 * unwind.h: turning a register set and a copy of a thread's stack into
 * return addresses, after the thread has been resumed.
 *
 * While a thread is stopped we only take its registers and one copy of its
 * stack (stack_copy_read). The unwind itself runs on that copy with
 * libunwind and our own accessors: stack reads come from the copy, code and
 * unwind tables from module images cached in the addrspace. libunwind's
 * stock _UPT accessors read one word per ptrace call and re-read maps: they
 * are never used.
 */
#ifndef WALLPROF_UNWIND_H
#define WALLPROF_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "maps.h"
#include "stacks.h"

#define STACK_COPY_MAX (512u * 1024)
#define STACK_COPY_MIN (8u * 1024)
/* Frames kept per stack. A deeper one keeps its MAX_FRAMES / 2 innermost
 * frames, a marker, and its outermost ones: where it started matters as
 * much as where it is. */
#define MAX_FRAMES RAW_STACK_MAX
/* The marker: a non-canonical address whose low 40 bits count the frames
 * left out; the symbolizer names it "[N frames elided]". */
#define STACK_ELIDED_TAG 0xfffff00000000000ULL
#define STACK_ELIDED_COUNT(addr) ((addr)&0xffffffffffULL)
#define STACK_IS_ELIDED(addr) (((addr) & ~0xffffffffffULL) == STACK_ELIDED_TAG)

struct stack_copy {
	uint64_t base; /* target address of data[0] */
	size_t len; /* bytes actually read */
	uint8_t data[STACK_COPY_MAX];
};

/* Copy up to max_bytes of the stack from sp-128 (the red zone) upward, page
 * by page, so that a short stack is read partially rather than not at all.
 * 0 or -errno. */
int stack_copy_read(pid_t pid, uint64_t sp, size_t max_bytes, struct stack_copy *out);

/*
 * How much to copy next time for a thread whose last copy was old bytes (0:
 * the most) and whose unwind used `used` bytes of it (or ran past its end:
 * overrun). Copying only what the unwind needs keeps stops short; an
 * overrun doubles the copy, and it shrinks slowly.
 */
size_t stack_copy_window(size_t old, size_t used, bool overrun);

struct unwinder;

struct unwinder *unwinder_new(struct addrspace *as);
void unwinder_free(struct unwinder *uw);
/* An address was in no known mapping: read the maps again, unless they
 * were read a moment ago and the address space kept its size. */
void unwinder_maybe_refresh(struct unwinder *uw);

struct unwind_result {
	uint64_t ips[MAX_FRAMES]; /* lookup addresses: pc, then return address - 1 */
	int n;
	bool truncated; /* the unwind stopped before the outermost frame */
	size_t stack_used; /* bytes of the stack copy the unwind read */
	bool overrun; /* it needed stack beyond the copy */
};

/*
 * Unwind from regs over the stack copy. With full_regs false only rip and
 * rsp are valid (a thread sampled without a stop, from /proc/TID/syscall).
 * Never fails: a broken unwind yields the frames found so far, truncated.
 */
void unwinder_unwind(struct unwinder *uw, const struct user_regs_struct *regs, bool full_regs,
		     const struct stack_copy *stack, struct unwind_result *out);

#endif
