/*
 * output.h: the file a recording goes to. Nothing touches it until the
 * target is attached or launched (so a failed start leaves an existing
 * file as it was), and it is written through, never replaced or removed (a
 * symlink, a device, a FIFO stay what they are). Samples stream into it as
 * a JSON profile while recording; for another format they stream into a
 * temporary profile next to it, converted at the end.
 */
#ifndef WALLPROF_OUTPUT_H
#define WALLPROF_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "profile.h"
#include "recorder.h"
#include "views.h"

struct output {
	char *path; /* owned */
	const struct view *view;
	FILE *out;
	char *spill_path; /* the temporary profile, or NULL */
	FILE *spill;
	bool write_failed; /* writing failed while recording: said already */
};

/* May path be written, without touching it? 0, or -1 with errno. */
int output_check(const char *path);

/* Open o->path and stream rec's samples into it (or into the temporary
 * profile); -1 after saying why. */
int output_open(struct output *o, const struct view *view, struct recorder *rec,
		const struct profile_head *head);

/* Complete the profile p (for another format, convert it); says what was
 * written unless quiet. 0, or -1 after saying why. */
int output_write(struct output *o, struct profile *p, bool quiet);

/* Close what is open; a temporary profile goes, the output stays. */
void output_release(struct output *o);

#endif
