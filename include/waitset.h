/*
 * waitset.h: the descriptors a thread blocked in poll, ppoll, select,
 * pselect6 or an epoll wait is waiting on, and for what. poll and select
 * sets are read from the thread's memory (the kernel copied them in and
 * leaves the user's copy alone until it returns); an epoll set's interest
 * list comes from /proc/PID/fdinfo/EPFD.
 */
#ifndef WALLPROF_WAITSET_H
#define WALLPROF_WAITSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Event bits are poll's and epoll's (they agree: IN 1, PRI 2, OUT 4). */
struct wait_fd {
	int fd;
	uint32_t events;
};

/* Does call nr wait on a set of descriptors? On an epoll's interest list? */
bool waitset_call(long nr);
bool waitset_epoll(long nr);

/*
 * The set the call waits on, into out (at most max; *total says how many
 * there are). Returns the number stored, or -errno if it cannot be read.
 * With at_least, an epoll's list is read only as far as WAITSET_EPOLL_BYTES
 * (a server's may be megabytes, and a traced wait is read at every call):
 * *at_least then says that *total counts those read, not all.
 */
#define WAITSET_EPOLL_BYTES (64 * 1024)
int waitset_read(pid_t pid, long nr, const uint64_t args[6], struct wait_fd *out, size_t max,
		 size_t *total, bool *at_least);

/* The interest list in the text of /proc/PID/fdinfo/EPFD ("tfd: 5 events:
 * 19 data: ..." lines). Same return as waitset_read. */
int waitset_parse_epoll(const char *text, struct wait_fd *out, size_t max, size_t *total);

/* "in", "in|out", "in|rdhup|et": the events, as short words. */
const char *wait_events_text(uint32_t events, char *buf, size_t size);
/* A set on one line, as a traced call shows it: "fd 3 in, fd 7 in|out, and
 * 40 more" (the n of w, of total in all; "and at least 40 more" if total is
 * a floor); "none" if empty. */
const char *waitset_text(const struct wait_fd *w, size_t n, size_t total, bool at_least, char *buf,
			 size_t size);

#endif
