/*
 * procfs.c: parsers for /proc files. The per-tick ones (stat, schedstat,
 * syscall) are hot: no allocation, one pass over a few hundred bytes.
 */
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int procfs_parse_stat(const char *text, struct task_stat *out)
{
	/* "TID (COMM) S ...": COMM may hold spaces and parentheses, so the
	 * state is after the last ')'. */
	const char *open = strchr(text, '(');
	const char *close = strrchr(text, ')');
	if (!open || !close || close < open || close[1] != ' ' || !close[2])
		return -EINVAL;
	size_t n = (size_t)(close - open - 1);
	if (n >= sizeof(out->comm))
		n = sizeof(out->comm) - 1;
	memcpy(out->comm, open + 1, n);
	out->comm[n] = '\0';
	out->state = close[2];
	/* The state is field 3, the parent field 4; "processor" is field 39. */
	out->ppid = (pid_t)strtol(close + 3, NULL, 10);
	out->cpu = -1;
	const char *f = close + 2;
	for (int field = 3; field < 39 && f; field++) {
		f = strchr(f, ' ');
		f = f ? f + 1 : NULL;
	}
	char *end;
	long cpu = f ? strtol(f, &end, 10) : -1;
	if (f && end != f && cpu >= 0 && cpu < 65536)
		out->cpu = (int)cpu;
	return 0;
}

int procfs_parse_schedstat(const char *text, struct schedstat *out)
{
	/* Read several times a tick per thread: strtoull, not sscanf. */
	unsigned long long v[3];
	const char *p = text;
	for (int i = 0; i < 3; i++) {
		char *end;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (end == p || errno || (*end != ' ' && *end != '\n' && *end != '\0'))
			return -EINVAL;
		p = end;
	}
	out->run_ns = v[0];
	out->wait_ns = v[1];
	out->slices = v[2];
	return 0;
}

static const char *next_hex(const char *p, uint64_t *v)
{
	char *end;
	while (*p == ' ')
		p++;
	if (!isxdigit((unsigned char)*p) && *p != '-')
		return NULL;
	errno = 0;
	*v = strtoull(p, &end, 0);
	if (end == p || errno)
		return NULL;
	return end;
}

int procfs_parse_syscall(const char *text, struct syscall_state *out)
{
	memset(out, 0, sizeof(*out));
	if (!strncmp(text, "running", 7)) {
		out->running = true;
		out->nr = -1;
		return 0;
	}
	char *end;
	errno = 0;
	long nr = strtol(text, &end, 10);
	if (end == text || errno || nr < -1 || nr > 4096)
		return -EINVAL;
	out->nr = nr;
	const char *p = end;
	if (nr >= 0) {
		for (int i = 0; i < 6; i++)
			if (!(p = next_hex(p, &out->args[i])))
				return -EINVAL;
	}
	if (!(p = next_hex(p, &out->sp)) || !(p = next_hex(p, &out->pc)))
		return -EINVAL;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int procfs_list_tasks(pid_t pid, pid_t **tids_out, size_t *n_out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	pid_t *tids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t tid;
		if (!parse_uint(de->d_name, 1, INT32_MAX, &tid))
			continue;
		GROW(tids, cap, n + 1);
		tids[n++] = (pid_t)tid;
	}
	closedir(d);
	if (n)
		qsort(tids, n, sizeof(*tids), cmp_pid);
	*tids_out = tids;
	*n_out = n;
	return 0;
}

size_t procfs_parse_children(const char *text, pid_t *out, size_t max)
{
	size_t n = 0;
	for (const char *p = text; p && *p && n < max;) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v <= 0 || v > INT32_MAX)
			break;
		out[n++] = (pid_t)v;
		p = end;
	}
	return n;
}

size_t procfs_read_children(pid_t pid, pid_t tid, pid_t **out)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tid);
	char *text = read_small_file(path, 1 << 20, NULL);
	size_t max = text ? strlen(text) / 2 + 1 : 0; /* each at least a digit and a space */
	*out = xmalloc((max + 1) * sizeof(**out));
	size_t n = text ? procfs_parse_children(text, *out, max) : 0;
	free(text);
	return n;
}

int procfs_read_comm(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = pread_text(fd, buf, size);
	close(fd);
	if (r < 0)
		return (int)r;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int parse_map_line(const char *line, struct map_entry *e)
{
	unsigned long long start, end, off, inode;
	unsigned maj, min;
	char perms[8];
	int pos = 0;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu%n", &start, &end, perms, &off, &maj, &min,
		   &inode, &pos) != 7)
		return -EINVAL;
	if (end < start || strlen(perms) != 4)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->start = start;
	e->end = end;
	e->offset = off;
	e->inode = inode;
	e->dev_major = maj;
	e->dev_minor = min;
	memcpy(e->perms, perms, 5);
	const char *p = line + pos;
	while (*p == ' ')
		p++;
	if (*p)
		e->path = xstrdup(p);
	return 0;
}

int procfs_parse_maps(const char *text, struct map_entry **out, size_t *n_out)
{
	struct map_entry *maps = NULL;
	size_t n = 0, cap = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 0 && len < 8192) {
			char line[8192];
			memcpy(line, p, len);
			line[len] = '\0';
			GROW(maps, cap, n + 1);
			if (parse_map_line(line, &maps[n]) == 0)
				n++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	*out = maps;
	*n_out = n;
	return 0;
}

void procfs_free_maps(struct map_entry *maps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(maps[i].path);
	free(maps);
}

int procfs_parse_sched_exec_start(const char *text, uint64_t *ns)
{
	const char *p = strstr(text, "se.exec_start");
	if (!p || !(p = strchr(p, ':')))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long ms = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EINVAL;
	uint64_t frac = 0, scale = 1000000; /* the fraction of a ms, to ns */
	if (*end == '.') {
		for (const char *q = end + 1; *q >= '0' && *q <= '9' && scale > 1; q++) {
			scale /= 10;
			frac += (uint64_t)(*q - '0') * scale;
		}
	}
	*ns = (uint64_t)ms * 1000000 + frac;
	return 0;
}

/* The value of "Name:" at the start of a line of text, or NULL. */
static const char *line_value(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ':')
			return p + n + 1;
	return NULL;
}

static int parse_number_at(const char *p, int base, uint64_t *out)
{
	while (p && (*p == ' ' || *p == '\t'))
		p++;
	if (!p || !isxdigit((unsigned char)*p))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, base);
	if (errno || end == p || (*end && *end != '\n'))
		return -EINVAL;
	*out = v;
	return 0;
}

int procfs_parse_status_hex(const char *text, const char *name, uint64_t *out)
{
	return parse_number_at(line_value(text, name), 16, out);
}

int procfs_parse_status_int(const char *text, const char *name, uint64_t *out)
{
	return parse_number_at(line_value(text, name), 10, out);
}

int procfs_parse_status_ids(const char *text, const char *name, uint64_t *out, int max)
{
	const char *p = line_value(text, name);
	int n = 0;
	while (p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		char *end;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		if (errno)
			break;
		out[n++] = v;
		p = end;
	}
	return n;
}

char *procfs_read_status(pid_t pid, pid_t tid)
{
	char path[64];
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return read_small_file(path, 1 << 16, NULL);
}

int procfs_read_vm_pages(pid_t pid, uint64_t *pages)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	char *text = read_small_file(path, 256, NULL);
	if (!text)
		return -errno;
	int r = sscanf(text, "%" SCNu64, pages) == 1 ? 0 : -EINVAL;
	free(text);
	return r;
}

int procfs_read_stat(pid_t pid, pid_t tid, struct task_stat *st)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	char *text = read_small_file(path, 4096, NULL);
	int r = text ? procfs_parse_stat(text, st) : -ENOENT;
	free(text);
	return r;
}

int procfs_read_task(pid_t pid, pid_t tid, struct task_stat *st, struct syscall_state *sc)
{
	int r = procfs_read_stat(pid, tid, st);
	*sc = (struct syscall_state){.running = true, .nr = -1};
	/* /proc/TID/syscall of a running thread waits for it to leave its
	 * CPU, and says "running" then anyway. */
	if (r < 0 || st->state == 'R')
		return r;
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	char *text = read_small_file(path, 512, NULL);
	if (!text || procfs_parse_syscall(text, sc) < 0)
		*sc = (struct syscall_state){.running = true, .nr = -1};
	free(text);
	return 0;
}

int procfs_parse_fdinfo_flags(const char *text, uint64_t *out)
{
	return parse_number_at(line_value(text, "flags"), 8, out);
}

/*
 * A process's title as ps shows it, from the len bytes of its
 * /proc/PID/cmdline in text (which must hold len + 1): NULs between
 * arguments become spaces, trailing padding goes. In place.
 */
static void procfs_title(char *text, size_t len)
{
	/* Arguments are NUL-separated; a program that rewrote its title
	 * (setproctitle, PostgreSQL, nginx) leaves padding: NULs or spaces
	 * up to the end of its old arguments. */
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\n'))
		len--;
	text[len] = '\0';
}

char *procfs_read_title(pid_t pid)
{
	char path[64];
	size_t len = 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	char *title = read_small_file(path, 4096, &len);
	if (title)
		procfs_title(title, len);
	if (title && !*title) { /* a kernel thread or a zombie: its comm */
		free(title);
		char comm[64];
		title = procfs_read_comm(pid, pid, comm, sizeof(comm)) == 0
				? xasprintf("[%s]", comm)
				: NULL;
	}
	return title;
}

int procfs_read_argv(pid_t pid, char ***argv_out)
{
	char path[64];
	size_t len = 0, cap = 0;
	int argc = 0;
	char **argv = NULL;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	char *text = read_small_file(path, 1 << 20, &len);
	/* A rewritten title leaves padding after it: NULs (empty arguments)
	 * or spaces up to the end of the old arguments. */
	while (text && len && (text[len - 1] == '\0' || text[len - 1] == ' '))
		len--;
	if (text)
		text[len] = '\0';
	for (size_t i = 0; text && i < len; i += strlen(text + i) + 1) {
		GROW(argv, cap, (size_t)argc + 2);
		argv[argc++] = xstrdup(text + i);
	}
	free(text);
	*argv_out = argv;
	return argc;
}
