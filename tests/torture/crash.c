/*
 * crash: ends abnormally in a known way, for the torture tests.
 *
 * usage: crash segv|thread-exit [MS]
 * After MS ms (default 500) of a worker thread sleeping and main spinning:
 * "segv" dereferences a null pointer in main (killed by SIGSEGV);
 * "thread-exit" calls exit(7) from the worker thread while main still
 * runs. Prints "crash: ready" first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long ms = 500;
static int thread_exit;

static void sleep_ms(long n)
{
	struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	sleep_ms(ms);
	if (thread_exit)
		exit(7);
	return arg;
}

__attribute__((noinline)) static void fault(volatile int *p)
{
	*p = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 64;
	if (argc > 2)
		ms = atol(argv[2]);
	thread_exit = !strcmp(argv[1], "thread-exit");
	printf("crash: ready\n");
	fflush(stdout);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms + (thread_exit ? 2000 : 0));
	fault(NULL);
	return 0;
}
