/*
 * peers.c: the holders of a pipe's other end. See peers.h.
 */
#include "peers.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "util.h"

/* Does descriptor fd of pid have the write end (O_WRONLY or O_RDWR)? */
static bool fd_writes(pid_t pid, int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	char *text = read_small_file(path, 4096, NULL);
	uint64_t flags = 0;
	bool ok = text && procfs_parse_fdinfo_flags(text, &flags) == 0;
	free(text);
	return ok && (flags & O_ACCMODE) != O_RDONLY;
}

/* The descriptor of pid holding link (want_writers: the write end if it
 * has one, else any); -1 if none. */
static int holder_fd(pid_t pid, const char *link, bool want_writers, bool *writes)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int found = -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t fd;
		if (!parse_uint(de->d_name, 0, INT32_MAX, &fd))
			continue;
		char fdpath[96], target[64];
		snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%d", (int)pid, (int)fd);
		ssize_t n = readlink(fdpath, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, link))
			continue;
		bool w = fd_writes(pid, (int)fd);
		if (found < 0 || w == want_writers) {
			found = (int)fd;
			*writes = w;
		}
		if (w == want_writers)
			break;
	}
	closedir(d);
	return found;
}

size_t pipe_holders(pid_t self, uint64_t ino, bool want_writers, struct pipe_holder *out,
		    size_t max)
{
	char link[48];
	snprintf(link, sizeof(link), "pipe:[%llu]", (unsigned long long)ino);
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	size_t n = 0, scanned = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max && scanned < PEERS_SCAN_MAX) {
		uint64_t pid;
		if (!parse_uint(de->d_name, 1, INT32_MAX, &pid) || (pid_t)pid == self)
			continue;
		scanned++;
		struct pipe_holder h = {.pid = (pid_t)pid, .state = '?'};
		if ((h.fd = holder_fd(h.pid, link, want_writers, &h.writes)) < 0)
			continue;
		procfs_read_comm(h.pid, h.pid, h.comm, sizeof(h.comm));
		struct task_stat st;
		if (procfs_read_stat(h.pid, h.pid, &st) == 0)
			h.state = st.state;
		out[n++] = h;
	}
	closedir(d);
	return n;
}
