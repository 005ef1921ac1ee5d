/*
 * waitset.c: what a thread in poll, select or an epoll wait waits for
 * (waitset.h).
 */
#include "waitset.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "maps.h"
#include "util.h"

/* Sets larger than this are shown in part; select's is at most 1024. */
#define MAX_POLLFDS 4096

bool waitset_epoll(long nr)
{
	return nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2;
}

bool waitset_call(long nr)
{
	return nr == SYS_poll || nr == SYS_ppoll || nr == SYS_select || nr == SYS_pselect6 ||
	       waitset_epoll(nr);
}

static void put(struct wait_fd *out, size_t max, size_t *n, size_t *total, int fd, uint32_t ev)
{
	if (*n < max)
		out[(*n)++] = (struct wait_fd){fd, ev};
	(*total)++;
}

/* "tfd: 5 events: 19 data: ..." at line: the descriptor and events. One
 * pass over the line, whatever follows it (a server's list may have tens of
 * thousands of lines, and sscanf measures all the text left at each). */
static bool parse_tfd_line(const char *line, int *fd, uint32_t *ev)
{
	if (strncmp(line, "tfd:", 4))
		return false;
	const char *num = line + 4;
	while (*num == ' ' || *num == '\t')
		num++;
	char *end;
	long v = isdigit((unsigned char)*num) ? strtol(num, &end, 10) : -1;
	if (v < 0 || v > INT32_MAX)
		return false;
	while (*end == ' ' || *end == '\t')
		end++;
	if (strncmp(end, "events:", 7))
		return false;
	const char *hex = end + 7;
	while (*hex == ' ' || *hex == '\t')
		hex++;
	unsigned long e = isxdigit((unsigned char)*hex) ? strtoul(hex, &end, 16) : ULONG_MAX;
	if (e > UINT32_MAX)
		return false;
	*fd = (int)v;
	*ev = (uint32_t)e;
	return true;
}

int waitset_parse_epoll(const char *text, struct wait_fd *out, size_t max, size_t *total)
{
	size_t n = 0;
	*total = 0;
	for (const char *line = text; line && *line;) {
		int fd;
		uint32_t ev;
		if (parse_tfd_line(line, &fd, &ev))
			put(out, max, &n, total, fd, ev);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return (int)n;
}

static int read_poll(pid_t pid, const uint64_t args[6], struct wait_fd *out, size_t max,
		     size_t *total)
{
	uint64_t nfds = args[1];
	if (nfds > MAX_POLLFDS)
		nfds = MAX_POLLFDS;
	struct pollfd *fds = xcalloc(nfds + 1, sizeof(*fds));
	ssize_t r = nfds ? target_read(pid, args[0], fds, nfds * sizeof(*fds)) : 0;
	if (r != (ssize_t)(nfds * sizeof(*fds))) {
		free(fds);
		return -EFAULT;
	}
	size_t n = 0;
	*total = 0;
	for (uint64_t i = 0; i < nfds; i++)
		if (fds[i].fd >= 0) /* negative: an entry switched off */
			put(out, max, &n, total, fds[i].fd, (uint16_t)fds[i].events);
	free(fds);
	return (int)n;
}

static int read_select(pid_t pid, const uint64_t args[6], struct wait_fd *out, size_t max,
		       size_t *total)
{
	/* readfds, writefds, exceptfds: bit i of each is descriptor i. */
	static const uint32_t as_events[3] = {POLLIN, POLLOUT, POLLPRI};
	uint64_t nfds = args[0] > 1024 ? 1024 : args[0];
	size_t bytes = (nfds + 63) / 64 * 8;
	uint8_t sets[3][128] = {{0}};
	for (int s = 0; s < 3; s++)
		if (args[1 + s] && bytes &&
		    target_read(pid, args[1 + s], sets[s], bytes) != (ssize_t)bytes)
			return -EFAULT;
	size_t n = 0;
	*total = 0;
	for (uint64_t fd = 0; fd < nfds; fd++) {
		uint32_t ev = 0;
		for (int s = 0; s < 3; s++)
			if (sets[s][fd / 8] >> (fd % 8) & 1)
				ev |= as_events[s];
		if (ev)
			put(out, max, &n, total, (int)fd, ev);
	}
	return (int)n;
}

/* The first bytes of a file, NUL-terminated, cut after its last whole line
 * if there was more (*more). NULL with errno on failure. */
static char *read_head(const char *path, size_t max, bool *more)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = xmalloc(max + 1);
	size_t len = 0;
	ssize_t r = 1;
	while (len < max && (r = read(fd, buf + len, max - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			free(buf);
			errno = e;
			return NULL;
		}
		len += (size_t)r;
	}
	*more = len == max && read(fd, &(char){0}, 1) > 0;
	close(fd);
	buf[len] = '\0';
	char *last = *more ? strrchr(buf, '\n') : NULL;
	if (last)
		last[1] = '\0';
	return buf;
}

int waitset_read(pid_t pid, long nr, const uint64_t args[6], struct wait_fd *out, size_t max,
		 size_t *total, bool *at_least)
{
	*total = 0;
	if (at_least)
		*at_least = false;
	if (nr == SYS_poll || nr == SYS_ppoll)
		return read_poll(pid, args, out, max, total);
	if (nr == SYS_select || nr == SYS_pselect6)
		return read_select(pid, args, out, max, total);
	if (!waitset_epoll(nr))
		return -EINVAL;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, (int)args[0]);
	char *text = at_least ? read_head(path, WAITSET_EPOLL_BYTES, at_least)
			      : read_small_file(path, 8 << 20, NULL);
	if (!text)
		return -errno;
	int n = waitset_parse_epoll(text, out, max, total);
	free(text);
	return n;
}

const char *wait_events_text(uint32_t events, char *buf, size_t size)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {
		{EPOLLIN, "in"},
		{EPOLLPRI, "pri"},
		{EPOLLOUT, "out"},
		{EPOLLRDHUP, "rdhup"},
		{EPOLLET, "et"},
		{EPOLLONESHOT, "oneshot"},
		{EPOLLEXCLUSIVE, "exclusive"},
		{EPOLLWAKEUP, "wakeup"},
	};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		if (events & bits[i].bit)
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s",
					      n ? "|" : "", bits[i].name);
	if (!n)
		snprintf(buf, size, "none");
	return buf;
}

const char *waitset_text(const struct wait_fd *w, size_t n, size_t total, bool at_least, char *buf,
			 size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		char ev[96];
		len += (size_t)snprintf(buf + len, size - len, "%sfd %d %s", i ? ", " : "", w[i].fd,
					wait_events_text(w[i].events, ev, sizeof(ev)));
	}
	if (total > n && len < size)
		snprintf(buf + len, size - len, "%sand %s%zu more", n ? ", " : "",
			 at_least ? "at least " : "", total - n);
	else if (!total)
		snprintf(buf, size, "none");
	return buf;
}
