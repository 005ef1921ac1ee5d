/*
 * leaderless: the main thread starts two workers and calls pthread_exit,
 * leaving a zombie leader (State: Z) while the process runs on. "sleeper"
 * sleeps in clock_nanosleep the whole time; "spinner" computes in
 * spin_loop. After SECS seconds the spinner ends the process with exit(0).
 *
 * usage: leaderless SECS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double secs;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "sleeper");
	for (;;)
		sleep(100);
	return NULL;
}

__attribute__((noinline)) static unsigned long spin_loop(double until)
{
	unsigned long x = 0;
	while (now_s() < until)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005UL + 1;
	return x;
}

static void *spinner(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "spinner");
	unsigned long x = spin_loop(now_s() + secs);
	printf("done %lu\n", x & 1);
	fflush(stdout);
	exit(0);
}

int main(int argc, char **argv)
{
	secs = argc > 1 ? atof(argv[1]) : 3;
	pthread_t a, b;
	pthread_create(&a, NULL, sleeper, NULL);
	pthread_create(&b, NULL, spinner, NULL);
	pthread_exit(NULL);
}
