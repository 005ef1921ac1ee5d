/*
 * symcache.h: what symbolization found, kept on disk per binary.
 *
 * Looking an address up in DWARF means opening the binary's debug info,
 * and distributions ship it compressed: for glibc, inflating it is most of
 * a dump's time. The answer for an address of a given build is always the
 * same, so it is kept in a file named by the binary's build-id, with the
 * facts it depends on (the size of the binary and of its debug file under
 * /usr/lib/debug/.build-id): if either changes, the file is ignored and
 * rewritten. Only addresses seen in some stack are kept. Symbolizers of
 * several processes (record -f) share one open cache per binary.
 *
 * The directory is $WALLPROF_CACHE_DIR, else $XDG_CACHE_HOME/wallprof,
 * else ~/.cache/wallprof; WALLPROF_CACHE_DIR=off keeps it in memory only,
 * for the symbolizers of one run.
 */
#ifndef WALLPROF_SYMCACHE_H
#define WALLPROF_SYMCACHE_H

#include <stdbool.h>
#include <stdint.h>

/* One frame of an address's chain, innermost first. */
struct symcache_frame {
	char *function;
	char *file; /* NULL if unknown */
	int line;
	bool inlined;
};

/* What the report says of the binary itself. */
struct symcache_binary {
	bool known; /* false until set */
	bool has_debuginfo, unoptimized;
	char *producer; /* NULL if none */
};

struct symcache;

/* The cache of the binary at path with this build-id (hex), loaded if it
 * holds; NULL if the binary has no build-id. */
struct symcache *symcache_open(const char *build_id, const char *path);
/* Write what was added, if anything, and free. */
void symcache_close(struct symcache *c);

/* The chain of frames at offset (address minus load bias): a borrowed
 * array of *n frames, or NULL if not cached. */
const struct symcache_frame *symcache_get(const struct symcache *c, uint64_t offset, int *n);
/* Remember a chain (copied). */
void symcache_put(struct symcache *c, uint64_t offset, const struct symcache_frame *f, int n);

/* What is known of the binary; known is false if nothing yet. */
const struct symcache_binary *symcache_binary(const struct symcache *c);
void symcache_set_binary(struct symcache *c, bool has_debuginfo, bool unoptimized,
			 const char *producer);

#endif
