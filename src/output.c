/*
 * output.c: where record writes. See output.h.
 */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/*
 * May path be written, without touching it? A missing file needs a
 * writable directory; an existing one is written through (a symlink, a
 * device, a FIFO), never replaced or removed. Returns 0 or -1 with errno.
 */
int output_check(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		return access(path, W_OK);
	}
	if (errno != ENOENT)
		return -1;
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0';
	int r = access(slash ? dir : ".", W_OK | X_OK);
	free(dir);
	return r;
}

/* A temporary profile for other formats: next to a regular (or new) output
 * file, so that it is on the same disk; in $TMPDIR for a device or FIFO. */
static char *spill_template(const char *out_path)
{
	struct stat st;
	if (stat(out_path, &st) < 0 || S_ISREG(st.st_mode))
		return xasprintf("%s.wallprof-XXXXXX", out_path);
	const char *tmp = getenv("TMPDIR");
	return xasprintf("%s/wallprof-XXXXXX", tmp && *tmp ? tmp : "/tmp");
}

int output_open(struct output *o, const struct view *view, struct recorder *rec,
		const struct profile_head *head)
{
	o->view = view;
	if (view != &view_json) {
		o->spill_path = spill_template(o->path);
		int fd = mkstemp(o->spill_path);
		if (fd < 0 || !(o->spill = fdopen(fd, "w+"))) {
			error_errno("cannot create a temporary file for '%s'", o->path);
			if (fd >= 0) {
				close(fd);
				unlink(o->spill_path);
			}
			free(o->spill_path);
			o->spill_path = NULL;
			return -1;
		}
	}
	if (!(o->out = view == &view_json ? fopen_profile(o->path, "w") : fopen(o->path, "w")))
		return error_errno("cannot write '%s'", o->path);
	FILE *stream = o->spill ? o->spill : o->out;
	static char buf[1 << 20];
	setvbuf(stream, buf, _IOFBF, sizeof(buf));
	recorder_stream(rec, stream, head);
	return 0;
}

int output_write(struct output *o, struct profile *p, bool quiet)
{
	int r;
	if (!o->spill) {
		r = profile_write_json(p, o->out);
	} else {
		r = profile_write_json(p, o->spill);
		if (fclose(o->spill) != 0)
			r = -1;
		o->spill = NULL;
		struct profile q;
		char err[256];
		if (r == 0 && profile_read_json(o->spill_path, &q, err, sizeof(err)) == 0) {
			r = o->view->write(&q, NULL, o->out);
			profile_release(&q);
		} else if (r == 0) {
			r = -1;
			error("cannot read back the recording: %s", err);
		}
		unlink(o->spill_path);
	}
	if (ferror(o->out) || fclose(o->out) != 0)
		r = -1;
	o->out = NULL;
	if (r < 0 && !o->write_failed)
		error_errno("cannot write '%s'", o->path);
	else if (!quiet)
		fprintf(stderr, "wallprof: wrote %zu samples of %zu threads (%.1f s) to %s\n",
			p->n_samples, p->n_threads, (double)p->duration_ns / 1e9, o->path);
	return r;
}

void output_release(struct output *o)
{
	if (o->out) /* opened, but the start failed after: what it holds stays */
		fclose(o->out);
	if (o->spill) {
		fclose(o->spill);
		unlink(o->spill_path);
	}
	free(o->spill_path);
	free(o->path);
	memset(o, 0, sizeof(*o));
}
