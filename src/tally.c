/*
 * tally.c: counts by name. See tally.h.
 */
#include "tally.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

uint32_t tally_add(struct tally *t, const char *name, uint64_t k)
{
	uint32_t at;
	if (!strmap_get(&t->index, name, &at)) {
		GROW(t->names, t->cap, t->n + 1);
		GROW(t->counts, t->cap_counts, t->n + 1);
		t->names[t->n] = t->own_names ? xstrdup(name) : (char *)name;
		t->counts[t->n] = 0;
		at = (uint32_t)t->n++;
		strmap_put(&t->index, t->names[at], at);
	}
	t->counts[at] += k;
	return at;
}

void tally_release(struct tally *t)
{
	if (t->own_names)
		for (size_t i = 0; i < t->n; i++)
			free(t->names[i]);
	free(t->names);
	free(t->counts);
	strmap_release(&t->index);
	memset(t, 0, sizeof(*t));
}

static int by_count(const void *a, const void *b, void *ctx)
{
	const struct tally *t = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (t->counts[x] != t->counts[y])
		return t->counts[x] < t->counts[y] ? 1 : -1;
	return strcmp(t->names[x], t->names[y]);
}

size_t *tally_sorted(const struct tally *t)
{
	size_t *idx = xmalloc((t->n + 1) * sizeof(*idx));
	for (size_t i = 0; i < t->n; i++)
		idx[i] = i;
	qsort_r(idx, t->n, sizeof(*idx), by_count, (void *)t);
	return idx;
}

size_t unique_names(const char **v, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t q = 0; q < kept && !dup; q++)
			dup = v[q] == v[i] || !strcmp(v[q], v[i]);
		if (!dup)
			v[kept++] = v[i];
	}
	return kept;
}
