/*
 * latearm: a thread that is in a timed wait when a tracer attaches, then
 * waits without a timeout for input that comes later. Under exact tracing
 * of an attached process (--syscalls -p), its reads are traced only once it
 * has been stopped (armed) since the attach: a timed wait cannot be
 * interrupted without changing its timeout, an endless one can.
 *
 * usage: latearm FIFO N
 * Waits 700 ms in epoll_wait with a timeout on an empty set, then N times
 * waits in epoll_wait(-1) for FIFO and reads one byte. Prints
 * "latearm: N reads, E eintr"; exits 0 if E == 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int n = atoi(argv[2]), reads = 0, eintr = 0;
	int fd = open(argv[1], O_RDWR | O_CLOEXEC);
	int empty = epoll_create1(EPOLL_CLOEXEC), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (fd < 0 || empty < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return 2;
	while (epoll_wait(empty, &ev, 1, 700) < 0)
		eintr++;
	while (reads < n) {
		char c;
		if (epoll_wait(ep, &ev, 1, -1) < 0) {
			eintr += errno == EINTR;
			continue;
		}
		if (read(fd, &c, 1) == 1)
			reads++;
	}
	printf("latearm: %d reads, %d eintr\n", reads, eintr);
	return eintr != 0;
}
