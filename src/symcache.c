/*
 * symcache.c: the per-build-id symbolization cache (see symcache.h).
 *
 * One text file per binary, rewritten whole (temporary file, then rename)
 * when a run added to it, so a reader never sees half of one:
 *
 *   wallprof-symcache <format> <size of the binary> <size of its debug file, or -1>
 *   binary <has_debuginfo> <unoptimized> <producer>
 *   <offset, hex> <n> then n times: <function> <file> <line> <inlined>
 *
 * fields separated by tabs; tab, newline and backslash escaped in strings.
 */
#include "symcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashmap.h"
#include "util.h"

struct entry {
	uint64_t offset;
	int n;
	struct symcache_frame *frames;
};

struct symcache {
	struct symcache *next; /* in the list of open caches */
	int refs;
	bool on_disk; /* false: WALLPROF_CACHE_DIR=off, memory only */
	char *path; /* the cache file */
	char *header;
	struct u64map index; /* offset -> entries[i] */
	struct entry *entries;
	size_t n, cap;
	struct symcache_binary binary;
	bool dirty;
};

/* The format, and what symbolization puts in it: a file of another format
 * (or made by a symbolizer since fixed) is ignored and rewritten.
 * 2: whole inline chains, lines of frames without a DWARF scope; 3: code
 * without symbols named by the start of its function; 4: and code no
 * unwind table covers by its own address, not by the entry before it; 5: Go
 * functions of stripped binaries named from Go's own table. */
#define SYMCACHE_FORMAT 5

/* Largest cache file read: a few hundred bytes per address seen. */
#define SYMCACHE_MAX_FILE (64u << 20)

static char *cache_dir(void)
{
	const char *d = getenv("WALLPROF_CACHE_DIR");
	if (d)
		return *d && strcmp(d, "off") ? xstrdup(d) : NULL;
	if ((d = getenv("XDG_CACHE_HOME")) && *d == '/')
		return xasprintf("%s/wallprof", d);
	if ((d = getenv("HOME")) && *d == '/')
		return xasprintf("%s/.cache/wallprof", d);
	return NULL;
}

/* mkdir -p, private. */
static bool make_dirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0700);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return false;
	}
	return mkdir(path, 0700) == 0 || errno == EEXIST;
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void put_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\t')
			fputs("\\t", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\\')
			fputs("\\\\", f);
		else
			fputc(*s, f);
	}
}

/* The next tab- or newline-ended field of *p, unescaped in place. */
static char *field(char **p)
{
	char *start = *p, *out = *p, *s = *p;
	for (; *s && *s != '\t' && *s != '\n'; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*out++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
		} else {
			*out++ = *s;
		}
	}
	char end = *s;
	*out = '\0';
	*p = end ? s + 1 : s;
	return start;
}

static void add_entry(struct symcache *c, uint64_t offset, struct symcache_frame *frames, int n)
{
	GROW(c->entries, c->cap, c->n + 1);
	c->entries[c->n] = (struct entry){offset, n, frames};
	u64map_put(&c->index, offset, (uint32_t)c->n++);
}

/* Parse one entry line; false if malformed. */
static bool parse_entry(struct symcache *c, char *line)
{
	char *end;
	uint64_t offset = strtoull(field(&line), &end, 16);
	long n = strtol(field(&line), NULL, 10);
	if (*end || n < 1 || n > 64)
		return false;
	struct symcache_frame *f = xcalloc((size_t)n, sizeof(*f));
	for (long i = 0; i < n; i++) {
		char *fn = field(&line), *file = field(&line), *ln = field(&line);
		char *inl = field(&line);
		if (!*fn) {
			for (long k = 0; k < i; k++) {
				free(f[k].function);
				free(f[k].file);
			}
			free(f);
			return false;
		}
		f[i] = (struct symcache_frame){xstrdup(fn), *file ? xstrdup(file) : NULL, atoi(ln),
					       *inl == '1'};
	}
	add_entry(c, offset, f, (int)n);
	return true;
}

static void load(struct symcache *c)
{
	size_t len;
	char *text = read_small_file(c->path, SYMCACHE_MAX_FILE, &len);
	if (!text)
		return;
	char *line = text, *next;
	for (int k = 0; *line; line = next, k++) {
		next = strchr(line, '\n');
		if (!next)
			break; /* a last line without its newline is cut */
		*next++ = '\0';
		if (k == 0) {
			if (strcmp(line, c->header))
				break; /* another build, or its debug file changed */
		} else if (!strncmp(line, "binary\t", 7)) {
			char *p = line + 7;
			c->binary.has_debuginfo = *field(&p) == '1';
			c->binary.unoptimized = *field(&p) == '1';
			char *prod = field(&p);
			c->binary.producer = *prod ? xstrdup(prod) : NULL;
			c->binary.known = true;
		} else if (!parse_entry(c, line)) {
			break;
		}
	}
	free(text);
}

/*
 * The caches open now. With -f every process has its symbolizer, and most
 * share their libraries: one cache per binary serves them all, so what one
 * looked up in DWARF the others find here.
 */
static struct symcache *open_caches;
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

struct symcache *symcache_open(const char *build_id, const char *path)
{
	if (!build_id || strlen(build_id) < 8 ||
	    strspn(build_id, "0123456789abcdef") != strlen(build_id))
		return NULL;
	/* Without a directory the cache lives in memory only, still shared
	 * by the symbolizers of one run. */
	char *dir = cache_dir();
	char *file = dir ? xasprintf("%s/symbols/%s", dir, build_id)
			 : xasprintf("(memory)/%s", build_id);
	bool on_disk = dir != NULL;
	free(dir);
	char *debug = xasprintf("/usr/lib/debug/.build-id/%.2s/%s.debug", build_id, build_id + 2);
	char *header = xasprintf("wallprof-symcache %d %lld %lld", SYMCACHE_FORMAT, file_size(path),
				 file_size(debug));
	free(debug);
	pthread_mutex_lock(&open_lock);
	struct symcache *c = open_caches;
	while (c && (strcmp(c->path, file) || strcmp(c->header, header)))
		c = c->next;
	if (c) {
		c->refs++;
		free(file);
		free(header);
	} else {
		c = xcalloc(1, sizeof(*c));
		c->path = file;
		c->header = header;
		c->refs = 1;
		c->on_disk = on_disk;
		u64map_init(&c->index);
		if (on_disk)
			load(c);
		c->next = open_caches;
		open_caches = c;
	}
	pthread_mutex_unlock(&open_lock);
	return c;
}

static void save(struct symcache *c)
{
	char *dir = xstrdup(c->path);
	*strrchr(dir, '/') = '\0';
	char *tmp = xasprintf("%s/.%s.%d", dir, base_name(c->path), (int)getpid());
	int fd = make_dirs(dir) ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (fd >= 0 && !f)
		close(fd);
	if (f) {
		fprintf(f, "%s\n", c->header);
		if (c->binary.known) {
			fprintf(f, "binary\t%d\t%d\t", c->binary.has_debuginfo,
				c->binary.unoptimized);
			put_escaped(f, c->binary.producer);
			fputc('\n', f);
		}
		for (size_t i = 0; i < c->n; i++) {
			const struct entry *e = &c->entries[i];
			fprintf(f, "%llx\t%d", (unsigned long long)e->offset, e->n);
			for (int k = 0; k < e->n; k++) {
				fputc('\t', f);
				put_escaped(f, e->frames[k].function);
				fputc('\t', f);
				put_escaped(f, e->frames[k].file);
				fprintf(f, "\t%d\t%d", e->frames[k].line, e->frames[k].inlined);
			}
			fputc('\n', f);
		}
		/* A cache that cannot be written is only a slower next run. */
		if (fclose(f) != 0 || rename(tmp, c->path) != 0)
			unlink(tmp);
	}
	free(tmp);
	free(dir);
}

void symcache_close(struct symcache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&open_lock);
	bool last = --c->refs == 0;
	if (last) {
		struct symcache **p = &open_caches;
		while (*p != c)
			p = &(*p)->next;
		*p = c->next;
	}
	pthread_mutex_unlock(&open_lock);
	if (!last)
		return;
	if (c->dirty && c->on_disk)
		save(c);
	for (size_t i = 0; i < c->n; i++) {
		for (int k = 0; k < c->entries[i].n; k++) {
			free(c->entries[i].frames[k].function);
			free(c->entries[i].frames[k].file);
		}
		free(c->entries[i].frames);
	}
	free(c->entries);
	u64map_release(&c->index);
	free(c->binary.producer);
	free(c->header);
	free(c->path);
	free(c);
}

const struct symcache_frame *symcache_get(const struct symcache *c, uint64_t offset, int *n)
{
	uint32_t i;
	if (!c || !u64map_get(&c->index, offset, &i))
		return NULL;
	*n = c->entries[i].n;
	return c->entries[i].frames;
}

void symcache_put(struct symcache *c, uint64_t offset, const struct symcache_frame *f, int n)
{
	uint32_t i;
	if (!c || n < 1 || n > 64 || u64map_get(&c->index, offset, &i))
		return;
	struct symcache_frame *copy = xcalloc((size_t)n, sizeof(*copy));
	for (int k = 0; k < n; k++)
		copy[k] = (struct symcache_frame){xstrdup(f[k].function),
						  f[k].file ? xstrdup(f[k].file) : NULL, f[k].line,
						  f[k].inlined};
	add_entry(c, offset, copy, n);
	c->dirty = true;
}

const struct symcache_binary *symcache_binary(const struct symcache *c)
{
	return c ? &c->binary : NULL;
}

void symcache_set_binary(struct symcache *c, bool has_debuginfo, bool unoptimized,
			 const char *producer)
{
	if (!c)
		return;
	free(c->binary.producer);
	c->binary = (struct symcache_binary){true, has_debuginfo, unoptimized,
					     producer ? xstrdup(producer) : NULL};
	c->dirty = true;
}
