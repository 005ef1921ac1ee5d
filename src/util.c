/*
 * util.c: allocation, messages, time and small file helpers shared by every
 * module. Nothing here knows about ptrace or profiles.
 */
#include "util.h"

#include <jansson.h>

#include <zlib.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t size)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), "wallprof: out of memory allocating %zu bytes\n", size);
	if (write(2, msg, (size_t)n) < 0) {
		/* nothing more we can do */
	}
	_exit(EXIT_FAILURE_);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		oom(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		oom(size);
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom(strlen(s));
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom(0);
	va_end(ap);
	return s;
}

void *xgrow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	p = xrealloc(p, n * elem);
	*cap = n;
	return p;
}

/* While set (messages_capture), this thread's messages go here. */
static __thread char *captured;
static __thread size_t captured_size;

void messages_capture(char *buf, size_t size)
{
	captured = buf;
	captured_size = size;
	if (buf && size)
		buf[0] = '\0';
}

static void emit(const char *prefix, const char *fmt, va_list ap, int errnum)
{
	char buf[1024];
	if (captured) {
		/* Without "wallprof: " and the prefix: an error and its
		 * hint then read as one sentence. */
		size_t used = strlen(captured);
		if (used + 2 < captured_size) {
			if (used)
				used += (size_t)snprintf(captured + used, captured_size - used,
							 "; ");
			if (used < captured_size)
				used += (size_t)vsnprintf(captured + used, captured_size - used,
							  fmt, ap);
			if (errnum && used < captured_size)
				snprintf(captured + used, captured_size - used, ": %s",
					 strerror(errnum));
		}
		return;
	}
	size_t n = (size_t)snprintf(buf, sizeof(buf), "wallprof: %s", prefix);
	if (n < sizeof(buf))
		n += (size_t)vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (errnum && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(errnum));
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0) {
		/* stderr is gone; nothing to report to */
	}
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap, 0);
	va_end(ap);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap, e);
	va_end(ap);
	errno = e;
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("warning: ", fmt, ap, 0);
	va_end(ap);
}

void hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("hint: ", fmt, ap, 0);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap, 0);
	va_end(ap);
	exit(code);
}

mono_ns mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (mono_ns)ts.tv_sec * NS_PER_SEC + (mono_ns)ts.tv_nsec;
}

uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

char *read_small_file(const char *path, size_t max, size_t *len_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				close(fd);
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

ssize_t pread_text(int fd, char *buf, size_t size)
{
	ssize_t r = pread(fd, buf, size - 1, 0);
	if (r < 0)
		return -errno;
	buf[r] = '\0';
	return r;
}

/* A plain decimal number: digits, a point, an exponent; no sign, no
 * spaces, no hex, no inf or nan (strtod would take them all). */
static bool plain_decimal(const char *s, bool fraction)
{
	if (!s || !isdigit((unsigned char)*s))
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) &&
		    !(fraction && (*p == '.' || *p == 'e' || *p == 'E' ||
				   ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E')))))
			return false;
	return true;
}

bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!plain_decimal(s, false))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_seconds(const char *s, double *out)
{
	if (!plain_decimal(s, true))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 1e7)
		return false;
	*out = v;
	return true;
}

bool parse_duration_ns(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (s[1] == 'x' || s[1] == 'X')
		return false; /* hex: strtod takes it */
	if (errno || end == s || !isfinite(v) || v < 0)
		return false;
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"", 1e6}, {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(end, units[i].unit)) {
			double ns = v * units[i].ns;
			if (ns > 1e18)
				return false;
			*out = (uint64_t)ns;
			return true;
		}
	return false;
}

const char *fmt_duration(char *buf, size_t size, uint64_t ns)
{
	if (ns >= 9995 * 1000000ULL)
		snprintf(buf, size, "%.1f s", (double)ns / 1e9);
	else if (ns >= 999500000ULL)
		snprintf(buf, size, "%.2f s", (double)ns / 1e9);
	else if (ns >= 999950)
		snprintf(buf, size, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.1f us", (double)ns / 1e3);
	return buf;
}

const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* ---- gzip through stdio (fopencookie over zlib's gzFile) ---- */

static ssize_t gz_cookie_read(void *c, char *buf, size_t size)
{
	int n = gzread((gzFile)c, buf, (unsigned)(size > (1u << 30) ? (1u << 30) : size));
	return n < 0 ? -1 : n;
}

static ssize_t gz_cookie_write(void *c, const char *buf, size_t size)
{
	if (!size)
		return 0;
	int n = gzwrite((gzFile)c, buf, (unsigned)size);
	return n <= 0 ? -1 : n;
}

/* The compressed profiles being written: their stdio stream and zlib
 * handle, for fflush_profile. */
static struct {
	FILE *f;
	gzFile gz;
} gz_open[4];

static int gz_cookie_close(void *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(gz_open); i++)
		if (gz_open[i].gz == (gzFile)c)
			gz_open[i].f = NULL, gz_open[i].gz = NULL;
	return gzclose((gzFile)c) == Z_OK ? 0 : -1;
}

int fflush_profile(FILE *f)
{
	if (fflush(f) != 0 || ferror(f))
		return -1;
	/* zlib keeps what it was given until its block is full: a recording
	 * killed then lost everything since the last block (128 KiB of
	 * compressed data). A sync flush makes all of it decodable now. */
	for (size_t i = 0; i < ARRAY_SIZE(gz_open); i++)
		if (gz_open[i].f == f && gzflush(gz_open[i].gz, Z_SYNC_FLUSH) != Z_OK)
			return -1;
	return 0;
}

/* Does path end in .gz? */
static bool path_is_gz(const char *path)
{
	size_t n = strlen(path);
	return n > 3 && !strcmp(path + n - 3, ".gz");
}

FILE *fopen_profile(const char *path, const char *mode)
{
	bool writing = mode[0] == 'w';
	if (writing && !path_is_gz(path))
		return fopen(path, mode);
	/* Reading: gzread passes plain files through, so both kinds open. Level
	 * 1 for writing: most of the gain, little of the CPU. */
	gzFile gz = gzopen(path, writing ? "wb1" : "rb");
	if (!gz)
		return NULL;
	gzbuffer(gz, 1 << 17);
	cookie_io_functions_t io = {
		.read = writing ? NULL : gz_cookie_read,
		.write = writing ? gz_cookie_write : NULL,
		.seek = NULL,
		.close = gz_cookie_close,
	};
	FILE *f = fopencookie(gz, writing ? "w" : "r", io);
	if (!f) {
		gzclose(gz);
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(gz_open) && writing; i++)
		if (!gz_open[i].f) {
			gz_open[i].f = f, gz_open[i].gz = gz;
			break;
		}
	return f;
}

/* The length of the valid UTF-8 sequence at s, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n = c < 0x80		? 1
		   : (c & 0xe0) == 0xc0 ? 2
		   : (c & 0xf0) == 0xe0 ? 3
		   : (c & 0xf8) == 0xf0 ? 4
					: 0;
	if (!n || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, or a surrogate */
	if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

/* U+0080 to U+009F: some terminals take U+009B as the start of an escape. */
static bool c1_control(const unsigned char *p)
{
	return p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0;
}

/* Escape into a new buffer: backslash always, control characters if
 * controls, and bytes that are not UTF-8 as \xHH; at most limit bytes,
 * cut only between characters and escapes. */
static char *escape(const char *s, bool controls, size_t limit)
{
	size_t cap = strlen(s) * 4 + 1, n = 0;
	char *out = xmalloc(cap);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		char unit[16];
		size_t u = utf8_len(p), step = 1, len;
		if (*p == '\\') {
			len = (size_t)sprintf(unit, "\\\\");
		} else if (controls && c1_control(p)) {
			len = (size_t)sprintf(unit, "\\x%02x\\x%02x", p[0], p[1]);
			step = 2;
		} else if (controls && (*p < 0x20 || *p == 0x7f)) {
			len = (size_t)sprintf(unit,
					      *p == '\n'   ? "\\n"
					      : *p == '\t' ? "\\t"
							   : "\\x%02x",
					      *p);
		} else if (u) {
			memcpy(unit, p, u);
			len = step = u;
		} else {
			len = (size_t)sprintf(unit, "\\x%02x", *p);
		}
		if (n + len > limit)
			break;
		memcpy(out + n, unit, len);
		n += len;
		p += step;
	}
	out[n] = '\0';
	return out;
}

char *bytes_escape(const char *s)
{
	return escape(s, false, SIZE_MAX);
}

char *bytes_unescape(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	for (const char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] == '\\') {
			*o++ = '\\';
			p++;
		} else if (p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
			   isxdigit((unsigned char)p[3])) {
			char hex[3] = {p[2], p[3], '\0'};
			unsigned v = (unsigned)strtoul(hex, NULL, 16);
			*o++ = v ? (char)v : '?'; /* a NUL would end the string */
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

const char *printable(const char *s, char *buf, size_t size)
{
	if (!s)
		return "";
	bool plain = true;
	for (const unsigned char *p = (const unsigned char *)s; *p && plain;) {
		size_t u = utf8_len(p);
		plain = u && *p != '\\' && *p >= 0x20 && *p != 0x7f && !c1_control(p);
		p += u ? u : 1;
	}
	if (plain)
		return s;
	char *e = escape(s, true, size - 1);
	memcpy(buf, e, strlen(e) + 1);
	free(e);
	return buf;
}

void file_name_safe(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p;) {
		size_t u = utf8_len(p);
		if (!u || c1_control(p) || *p < 0x20 || *p == 0x7f || strchr("/ \\", *p)) {
			*p++ = '_';
			continue;
		}
		p += u;
	}
}

const char *title_short(const char *title, char *buf, size_t size)
{
	size_t n = strcspn(title, "\n");
	bool cut = title[n] != '\0';
	if (n > 60) {
		n = 60;
		while (n && ((unsigned char)title[n] & 0xc0) == 0x80)
			n--;
		cut = true;
	}
	snprintf(buf, size, "%.*s%s", (int)n, title, cut ? "..." : "");
	return buf;
}

const char *disp(const char *s)
{
	/* Eight at a time, for the arguments of one printf. */
	static char bufs[8][1024];
	static unsigned next;
	char *buf = bufs[next++ % 8];
	return printable(s, buf, sizeof(bufs[0]));
}

json_t *json_text(const char *s)
{
	char *e = bytes_escape(s ? s : "");
	json_t *j = json_string(e);
	free(e);
	return j ? j : json_string("?");
}
