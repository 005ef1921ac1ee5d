/*
 * hashmap.h: two small open-addressing maps used off the hot path:
 * 64-bit key -> 32-bit value, and string -> 32-bit value.
 */
#ifndef WALLPROF_HASHMAP_H
#define WALLPROF_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;
	uint32_t *vals; /* value + 1; 0 = empty slot */
	size_t n, n_slots;
};

void u64map_init(struct u64map *m);
void u64map_release(struct u64map *m);
bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *val);
void u64map_put(struct u64map *m, uint64_t key, uint32_t val);

struct strmap {
	char **keys; /* owned copies */
	uint32_t *vals;
	size_t n, n_slots;
};

void strmap_init(struct strmap *m);
void strmap_release(struct strmap *m);
bool strmap_get(const struct strmap *m, const char *key, uint32_t *val);
void strmap_put(struct strmap *m, const char *key, uint32_t val);

/* A list of distinct texts (*list, *n of them, room for *cap) indexed by m:
 * text's id, 1 + its index, appending a copy the first time it is seen. */
uint32_t strmap_intern(struct strmap *m, char ***list, size_t *n, size_t *cap, const char *text);

#endif
