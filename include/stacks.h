/*
 * stacks.h: interning of stacks. A stack is a sequence of 64-bit values
 * (raw lookup addresses while recording, frame ids once symbolized) plus a
 * truncated flag; equal stacks get the same id, so a profile of millions of
 * samples stores each distinct stack once.
 */
#ifndef WALLPROF_STACKS_H
#define WALLPROF_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stack_entry {
	size_t off; /* into values */
	uint32_t len;
	uint32_t hash;
	bool truncated;
};

struct stack_table {
	uint64_t *values;
	size_t n_values, cap_values;
	struct stack_entry *ents;
	size_t n, cap;
	uint32_t *slots; /* open addressing: id + 1, 0 = empty */
	size_t n_slots;
};

void stack_table_init(struct stack_table *t);
void stack_table_release(struct stack_table *t);
/* The id of this stack, adding it if new. Ids are dense from 0. */
uint32_t stack_intern(struct stack_table *t, const uint64_t *values, uint32_t len, bool truncated);
/* Borrowed pointer into the table: valid until the next stack_intern. */
const uint64_t *stack_values(const struct stack_table *t, uint32_t id, uint32_t *len,
			     bool *truncated);

/*
 * A raw stack, as recording interns it: the index of the process it was
 * taken in (whose address space its addresses belong to), then its lookup
 * addresses, innermost first (the pc, then each return address - 1). Its
 * values in the table are the index, then the addresses.
 */
struct raw_stack {
	uint32_t proc;
	const uint64_t *ips; /* borrowed, as stack_values */
	uint32_t n;
	bool truncated;
};

/* Intern a raw stack: its first RAW_STACK_MAX addresses at most (the
 * unwinder keeps no more, see unwind.h). */
#define RAW_STACK_MAX 2048
uint32_t raw_stack_intern(struct stack_table *t, const struct raw_stack *s);
/* The raw stack of id. */
struct raw_stack raw_stack_get(const struct stack_table *t, uint32_t id);

#endif
