/*
 * tally.h: counts by name, for the views that rank functions, waits,
 * programs (report, diff, top). A name is added once and keeps its index;
 * its count grows with each add.
 */
#ifndef WALLPROF_TALLY_H
#define WALLPROF_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"

struct tally {
	struct strmap index;
	char **names; /* copies if own_names, else borrowed (they must outlive the tally) */
	uint64_t *counts;
	size_t n, cap, cap_counts;
	bool own_names;
};

/* Add k to name's count (0 just makes it known); returns its index. */
uint32_t tally_add(struct tally *t, const char *name, uint64_t k);
void tally_release(struct tally *t);

/* The indices of t by count, largest first, ties by name (malloc'ed). */
size_t *tally_sorted(const struct tally *t);

/*
 * Keep the first of each name in v[0..n) (equal pointers or equal
 * strings), in order: a function counts once per stack however often
 * recursion repeats it. Returns how many are left.
 */
size_t unique_names(const char **v, size_t n);

#endif
