/*
 * hashmap.c: see hashmap.h. Linear probing, power-of-two sizes, load <= 1/2.
 */
#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

void u64map_init(struct u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void u64map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t u64_slot(const struct u64map *m, uint64_t key)
{
	size_t i = mix64(key) & (m->n_slots - 1);
	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->n_slots - 1);
	return i;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *val)
{
	if (!m->n_slots)
		return false;
	size_t i = u64_slot(m, key);
	if (!m->vals[i])
		return false;
	*val = m->vals[i] - 1;
	return true;
}

void u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->n_slots) {
		struct u64map old = *m;
		m->n_slots = old.n_slots ? old.n_slots * 2 : 256;
		m->keys = xcalloc(m->n_slots, sizeof(*m->keys));
		m->vals = xcalloc(m->n_slots, sizeof(*m->vals));
		m->n = 0;
		for (size_t i = 0; i < old.n_slots; i++)
			if (old.vals[i])
				u64map_put(m, old.keys[i], old.vals[i] - 1);
		free(old.keys);
		free(old.vals);
	}
	size_t i = u64_slot(m, key);
	if (!m->vals[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val + 1;
}

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void strmap_release(struct strmap *m)
{
	for (size_t i = 0; i < m->n_slots; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t str_slot(const struct strmap *m, const char *key)
{
	size_t i = hash_str(key) & (m->n_slots - 1);
	while (m->keys[i] && strcmp(m->keys[i], key))
		i = (i + 1) & (m->n_slots - 1);
	return i;
}

bool strmap_get(const struct strmap *m, const char *key, uint32_t *val)
{
	if (!m->n_slots)
		return false;
	size_t i = str_slot(m, key);
	if (!m->keys[i])
		return false;
	*val = m->vals[i];
	return true;
}

void strmap_put(struct strmap *m, const char *key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->n_slots) {
		struct strmap old = *m;
		m->n_slots = old.n_slots ? old.n_slots * 2 : 256;
		m->keys = xcalloc(m->n_slots, sizeof(*m->keys));
		m->vals = xcalloc(m->n_slots, sizeof(*m->vals));
		m->n = 0;
		for (size_t i = 0; i < old.n_slots; i++)
			if (old.keys[i]) {
				size_t j = str_slot(m, old.keys[i]);
				m->keys[j] = old.keys[i];
				m->vals[j] = old.vals[i];
				m->n++;
			}
		free(old.keys);
		free(old.vals);
	}
	size_t i = str_slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = xstrdup(key);
		m->n++;
	}
	m->vals[i] = val;
}

uint32_t strmap_intern(struct strmap *m, char ***list, size_t *n, size_t *cap, const char *text)
{
	uint32_t id;
	if (strmap_get(m, text, &id))
		return id;
	*list = xgrow(*list, cap, *n + 1, sizeof(**list));
	(*list)[*n] = xstrdup(text);
	id = (uint32_t)++ * n;
	strmap_put(m, text, id);
	return id;
}
