/*
 * epoll: a server thread in an epoll_wait loop, woken every 50 ms by a
 * timerfd. epoll_wait fails with EINTR when a tracer interrupts it
 * (ptrace(2), BUGS), so this counts every EINTR it sees; wallprof must
 * cause none.
 *
 * usage: epoll [SECONDS]   (default 2)
 * Prints "epoll: wakeups=N eintr=E" (N rounded to a multiple of 10 so that
 * runs compare equal) and exits 0 if E == 0, 1 otherwise.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

static int ticks_wanted;
static int wakeups, eintrs;

__attribute__((noinline)) static int wait_events(int ep, struct epoll_event *ev)
{
	int n = epoll_wait(ep, ev, 1, -1);
	/* Keep this frame on the stack: no tail call. */
	__asm__ volatile("" ::: "memory");
	return n;
}

static void *server(void *arg)
{
	int ep = epoll_create1(0);
	int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {{0, 50000000}, {0, 50000000}};
	timerfd_settime(tfd, 0, &its, NULL);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = tfd};
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	while (wakeups < ticks_wanted) {
		int n = wait_events(ep, &ev);
		if (n < 0) {
			if (errno == EINTR)
				eintrs++;
			continue;
		}
		uint64_t expirations;
		if (read(tfd, &expirations, sizeof(expirations)) == sizeof(expirations))
			wakeups += (int)expirations;
	}
	return arg;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	ticks_wanted = (int)(seconds * 20);
	pthread_t t;
	pthread_create(&t, NULL, server, NULL);
	pthread_setname_np(t, "server");
	pthread_join(t, NULL);
	printf("epoll: wakeups=%d eintr=%d\n", wakeups / 10 * 10, eintrs);
	return eintrs != 0;
}
