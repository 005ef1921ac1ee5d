/*
 * stacks.c: stack interning with an open-addressing hash table over a
 * single array of values. See stacks.h.
 */
#include "stacks.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void stack_table_init(struct stack_table *t)
{
	memset(t, 0, sizeof(*t));
}

void stack_table_release(struct stack_table *t)
{
	free(t->values);
	free(t->ents);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static uint32_t hash_stack(const uint64_t *v, uint32_t len, bool truncated)
{
	/* FNV-1a over the values, folded to 32 bits. */
	uint64_t h = 0xcbf29ce484222325ULL ^ truncated;
	for (uint32_t i = 0; i < len; i++) {
		h ^= v[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	h ^= len;
	return (uint32_t)(h ^ (h >> 32));
}

static void rehash(struct stack_table *t)
{
	size_t n = t->n_slots ? t->n_slots * 2 : 1024;
	uint32_t *slots = xcalloc(n, sizeof(*slots));
	for (size_t id = 0; id < t->n; id++) {
		size_t i = t->ents[id].hash & (n - 1);
		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = (uint32_t)id + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = n;
}

uint32_t stack_intern(struct stack_table *t, const uint64_t *values, uint32_t len, bool truncated)
{
	if ((t->n + 1) * 2 > t->n_slots)
		rehash(t);
	uint32_t h = hash_stack(values, len, truncated);
	size_t i = h & (t->n_slots - 1);
	while (t->slots[i]) {
		const struct stack_entry *e = &t->ents[t->slots[i] - 1];
		if (e->hash == h && e->len == len && e->truncated == truncated &&
		    !memcmp(t->values + e->off, values, len * sizeof(*values)))
			return t->slots[i] - 1;
		i = (i + 1) & (t->n_slots - 1);
	}
	GROW(t->values, t->cap_values, t->n_values + len);
	memcpy(t->values + t->n_values, values, len * sizeof(*values));
	GROW(t->ents, t->cap, t->n + 1);
	t->ents[t->n] = (struct stack_entry){t->n_values, len, h, truncated};
	t->n_values += len;
	t->slots[i] = (uint32_t)t->n + 1;
	return (uint32_t)t->n++;
}

const uint64_t *stack_values(const struct stack_table *t, uint32_t id, uint32_t *len,
			     bool *truncated)
{
	const struct stack_entry *e = &t->ents[id];
	*len = e->len;
	if (truncated)
		*truncated = e->truncated;
	return t->values + e->off;
}

uint32_t raw_stack_intern(struct stack_table *t, const struct raw_stack *s)
{
	uint64_t buf[RAW_STACK_MAX + 1];
	uint32_t n = s->n < RAW_STACK_MAX ? s->n : RAW_STACK_MAX;
	buf[0] = s->proc;
	memcpy(buf + 1, s->ips, n * sizeof(*buf));
	return stack_intern(t, buf, n + 1, s->truncated);
}

struct raw_stack raw_stack_get(const struct stack_table *t, uint32_t id)
{
	uint32_t len;
	bool truncated;
	const uint64_t *v = stack_values(t, id, &len, &truncated);
	if (!len)
		return (struct raw_stack){0, v, 0, truncated};
	return (struct raw_stack){(uint32_t)v[0], v + 1, len - 1, truncated};
}
