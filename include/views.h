/*
 * views.h: output formats of a profile, one const table entry each, looked
 * up by name (--format) or by the output file's extension.
 */
#ifndef WALLPROF_VIEWS_H
#define WALLPROF_VIEWS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"

/* What a view shows; all zero means everything, merged across threads. */
struct view_opts {
	bool per_thread; /* one root per thread (flame graphs) */
	uint32_t state_mask; /* 1 << enum sample_state of the samples shown; 0 = all */
	const struct profile *base; /* diff: the base profile, or NULL */
};

struct view {
	const char *name;
	const char *const *exts; /* NULL-terminated */
	int (*write)(const struct profile *p, const struct view_opts *o, FILE *f);
};

extern const struct view view_json;
extern const struct view view_folded;
extern const struct view view_speedscope;
extern const struct view view_trace;
extern const struct view view_svg;
extern const struct view view_pprof;

const struct view *view_by_name(const char *name);
/* The view whose extension is the longest suffix of path, or NULL. */
const struct view *view_by_path(const char *path);
/* "json, folded, ..." for messages. */
const char *view_names(void);

/* Is sample s shown under o (its state filter)? */
bool view_sample_selected(const struct view_opts *o, const struct profile_sample *s);
/*
 * Parse a --state filter: comma-separated state names (on-cpu, runnable,
 * syscall, lock, sleep, disk, stopped, other) and groups (off-cpu: all but
 * on-cpu and runnable; io: syscall and disk). 0, or -1 on an unknown name.
 */
int view_parse_states(const char *list, uint32_t *mask);

/*
 * The synthetic leaf frame of a sample: "[on-cpu]", "[runnable]",
 * "[blocked: read]", "[disk: fsync]", "[stopped]". Returns buf.
 */
/*
 * The process a thread belongs to, for views of a recording of several
 * processes: its title (postgres: checkpointer), else its executable's
 * name; NULL when the recording has one process. Borrowed from p.
 */
const char *process_label(const struct profile *p, int tid);
const char *sample_leaf_label(const struct profile_sample *s, char *buf, size_t size);

/* The state as the report words it: "on-CPU", "blocked: read", "lock wait (futex)". */
const char *sample_state_text(const struct profile_sample *s, char *buf, size_t size);

/* What an object is, for people: "/var/lib/x.db", "mutex lock_a", "pipe pipe:[123]". */
const char *object_text(const struct profile *p, int32_t object, char *buf, size_t size);

/* A call decoded: "read(fd 5 = /var/lib/x.db, 4096 bytes)", "futex(mutex lock_a, ...)";
 * set: what a poll, select or epoll wait waited on (profile_event_wait_set),
 * or NULL. */
const char *call_text(const struct profile *p, int nr, const uint64_t args[6], int32_t object,
		      const char *set, char *buf, size_t size);

/* Folded-stack lines of a profile: "NAME (TID);outer;...;inner;[state] COUNT". */
int folded_write(const struct profile *p, const struct view_opts *o, FILE *f);

#endif
