/*
 * views.h: output formats of a profile, one const table entry each, looked
 * up by name (--format) or by the output file's extension.
 */
#ifndef WALLPROF_VIEWS_H
#define WALLPROF_VIEWS_H

#include <stdio.h>

#include "profile.h"

struct view {
	const char *name;
	const char *const *exts; /* NULL-terminated */
	int (*write)(const struct profile *p, FILE *f);
};

extern const struct view view_json;
extern const struct view view_folded;

const struct view *view_by_name(const char *name);
const struct view *view_by_path(const char *path);
/* "json, folded" for messages. */
const char *view_names(void);

/*
 * The synthetic leaf frame of a sample: "[on-cpu]", "[runnable]",
 * "[blocked: read]", "[disk: fsync]", "[stopped]". Returns buf.
 */
const char *sample_leaf_label(const struct profile_sample *s, char *buf, size_t size);

/* The state as the report words it: "on-CPU", "blocked: read", "lock wait (futex)". */
const char *sample_state_text(const struct profile_sample *s, char *buf, size_t size);

/* What an object is, for people: "/var/lib/x.db", "mutex lock_a", "pipe pipe:[123]". */
const char *object_text(const struct profile *p, int32_t object, char *buf, size_t size);

/* A call decoded: "read(fd 5 = /var/lib/x.db, 4096 bytes)", "futex(mutex lock_a, ...)". */
const char *call_text(const struct profile *p, int nr, const uint64_t args[6], int32_t object,
		      char *buf, size_t size);

/* Folded-stack lines of a profile: "NAME (TID);outer;...;inner;[state] COUNT". */
int folded_write(const struct profile *p, FILE *f);

#endif
