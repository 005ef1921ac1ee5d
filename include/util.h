/*
 * util.h: allocation that exits on out-of-memory, one-line error messages,
 * monotonic time, and small growable arrays. Every module uses these.
 */
#ifndef WALLPROF_UTIL_H
#define WALLPROF_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Nanoseconds on CLOCK_MONOTONIC; used for every duration we measure. */
typedef uint64_t mono_ns;

/* Exit codes, documented in --help and wallprof(1). */
enum {
	EXIT_OK = 0,
	EXIT_PARTIAL = 1, /* some threads could not be read */
	EXIT_FAILURE_ = 2, /* nothing useful done: cannot attach, bad file */
	EXIT_USAGE = 64, /* bad command line */
	EXIT_NOEXEC = 126, /* launched command exists but cannot run */
	EXIT_NOTFOUND = 127,
};

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#define NS_PER_SEC 1000000000ULL

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *p (an array of elem-sized items with capacity *cap) to hold need. */
void *xgrow(void *p, size_t *cap, size_t need, size_t elem);
#define GROW(arr, cap, need) ((arr) = xgrow((arr), &(cap), (need), sizeof(*(arr))))

/*
 * Messages for the user: "wallprof: <message>" on stderr, formatted once and
 * written with one write(2). error() returns -1 so callers can
 * `return error(...)`; error_errno() appends strerror(errno).
 */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A second line after an error: what the user can do about it. */
void hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The calling thread's messages go into buf (emptied first; each message
 * appended after "; " while there is room) instead of stderr, until
 * messages_capture(NULL, 0): for a step whose failure is reported as part
 * of something else (a wait chain that cannot enter a process). */
void messages_capture(char *buf, size_t size);
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

mono_ns mono_now(void);
uint64_t realtime_ns(void);

/* Read a whole small file (at most max bytes) into a NUL-terminated buffer. */
char *read_small_file(const char *path, size_t max, size_t *len_out);
/* pread from offset 0 into buf (size-1 bytes at most), NUL-terminate; -errno. */
ssize_t pread_text(int fd, char *buf, size_t size);

/* Parse a positive number; false on garbage or out of range. */
bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
bool parse_seconds(const char *s, double *out);
/* "1ms", "250us", "0.5s", "100ns"; a bare number is milliseconds. */
bool parse_duration_ns(const char *s, uint64_t *out);

/* Human-readable duration into buf ("1.25 s", "340 ms", "12.3 us"). */
const char *fmt_duration(char *buf, size_t size, uint64_t ns);

const char *base_name(const char *path);

/*
 * Bytes that need not be UTF-8 (paths, argv, thread names, symbols), in the
 * profile's JSON strings, which must be: a backslash is written "\\" and
 * a byte outside a valid UTF-8 sequence "\xHH" (docs/profile-format.md).
 * Both return malloc'ed strings; unescape(escape(s)) is s.
 */
char *bytes_escape(const char *s);
char *bytes_unescape(const char *s);
/*
 * s as text output shows it: control characters (a newline in a thread
 * name) and bytes that are not UTF-8 escaped as above, so that one thread
 * is one line. Returns s itself when nothing needs escaping, else buf.
 */
const char *printable(const char *s, char *buf, size_t size);

/* Make s fit a file name, in place: control characters, bytes that are not
 * UTF-8, slashes, spaces and backslashes become '_'. */
void file_name_safe(char *s);

/* printable() into one of eight rotating buffers: for the arguments of one
 * printf. Not for long-lived use. */
const char *disp(const char *s);
/* A process title cut to its first line and 60 bytes (at a character's
 * start), "..." after if cut: for one line of text. Returns buf. */
const char *title_short(const char *title, char *buf, size_t size);
/* A JSON string of bytes that need not be UTF-8, escaped (bytes_escape).
 * A new reference, never NULL. */
struct json_t;
struct json_t *json_text(const char *s);

/*
 * Open a profile: for writing, gzip-compressed when path ends in .gz; for
 * reading, compressed or not (zlib passes plain files through).
 */
FILE *fopen_profile(const char *path, const char *mode);
/* fflush, and for a compressed profile a zlib sync flush, so that what was
 * written survives a SIGKILL. -1 if the output failed (disk full, EIO). */
int fflush_profile(FILE *f);

#endif
