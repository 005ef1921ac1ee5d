/*
 * mixed: a target whose wall-clock truth is known.
 *
 *   worker   ROUNDS x (QUANTUM of CPU in burn_cpu(), then QUANTUM blocked
 *            in read() on a pipe): 50% on CPU, 50% blocked in read
 *   feeder   sleeps QUANTUM, then writes one byte: 100% sleep
 *   holder   takes the mutex and sleeps holding it for the whole run
 *   waiter   blocks on that mutex for the whole run: 100% lock wait
 *   main     joins them: 100% lock wait (pthread_join is a futex wait)
 *
 * usage: mixed [SECONDS] [START_DELAY_MS]   (default 3 s, no delay)
 * Prints one line and exits with status 3, so tests can compare both.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUANTUM_MS 100

static int pipefd[2];
static int rounds;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;
static volatile unsigned long sink;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

__attribute__((noinline)) static void burn_cpu(double seconds)
{
	double end = now_s() + seconds;
	unsigned long x = 1;
	while (now_s() < end)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) static void wait_for_data(void)
{
	char c;
	while (read(pipefd[0], &c, 1) < 0)
		;
}

static void *worker(void *arg)
{
	for (int i = 0; i < rounds; i++) {
		burn_cpu(QUANTUM_MS / 1000.0);
		wait_for_data();
	}
	return arg;
}

static void *feeder(void *arg)
{
	/* Offset by one quantum: data arrives when the worker has burnt. */
	for (int i = 0; i < rounds; i++) {
		sleep_ms(2 * QUANTUM_MS);
		if (write(pipefd[1], "x", 1) != 1)
			abort();
	}
	return arg;
}

static void *holder(void *arg)
{
	long ms = (long)(intptr_t)arg;
	pthread_mutex_lock(&lock);
	pthread_barrier_wait(&held);
	sleep_ms(ms);
	pthread_mutex_unlock(&lock);
	return NULL;
}

__attribute__((noinline)) static void take_lock(void)
{
	pthread_mutex_lock(&lock);
	pthread_mutex_unlock(&lock);
}

static void *waiter(void *arg)
{
	pthread_barrier_wait(&held);
	take_lock();
	return arg;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	long delay_ms = argc > 2 ? atol(argv[2]) : 0;
	if (delay_ms)
		sleep_ms(delay_ms);
	rounds = (int)(seconds * 1000 / (2 * QUANTUM_MS));
	if (rounds < 1 || pipe(pipefd) < 0)
		return 1;
	pthread_barrier_init(&held, NULL, 2);

	pthread_t t[4];
	pthread_create(&t[0], NULL, worker, NULL);
	pthread_setname_np(t[0], "worker");
	pthread_create(&t[1], NULL, feeder, NULL);
	pthread_setname_np(t[1], "feeder");
	pthread_create(&t[2], NULL, holder, (void *)(intptr_t)(rounds * 2 * QUANTUM_MS));
	pthread_setname_np(t[2], "holder");
	pthread_create(&t[3], NULL, waiter, NULL);
	pthread_setname_np(t[3], "waiter");
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("mixed: %d rounds done\n", rounds);
	return 3;
}
