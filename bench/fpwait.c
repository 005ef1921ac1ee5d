/*
 * fpwait: threads for measuring what wallprof's no-stop path costs against
 * the stop it replaces (bench/nostop.sh). Each of N threads runs, in a
 * function built with frame pointers (its CFA is rbp-based, so a sample
 * without a stop must recover rbp from the stack):
 *
 *   wait   epoll_wait with a 2 ms timeout, in a loop: blocked at nearly
 *          every tick, and changed since the last, so read anew each time
 *   spin   a busy loop: running, so stopped at every tick
 *   plain  the same wait in a function without frame pointers
 *
 * usage: fpwait MODE THREADS SECS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static const char *mode;
static double secs;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static unsigned long
fp_work(int ep, double until)
{
	volatile unsigned long x = 1;
	struct epoll_event ev;
	while (now_s() < until) {
		if (mode[0] == 'w')
			epoll_wait(ep, &ev, 1, 2);
		else
			for (int i = 0; i < 100000; i++)
				x = x * 6364136223846793005UL + 1;
	}
	return x;
}

__attribute__((noinline)) static void plain_work(int ep, double until)
{
	struct epoll_event ev;
	while (now_s() < until)
		epoll_wait(ep, &ev, 1, 2);
}

static void *worker(void *arg)
{
	(void)arg;
	int ep = epoll_create1(0);
	double until = now_s() + secs;
	if (mode[0] == 'p')
		plain_work(ep, until);
	else
		fp_work(ep, until);
	close(ep);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: fpwait wait|spin|plain THREADS SECS\n");
		return 2;
	}
	mode = argv[1];
	int n = atoi(argv[2]);
	secs = atof(argv[3]);
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
