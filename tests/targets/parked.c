/*
 * parked: many idle threads and one that wakes at a known moment, for the
 * sampler's fast paths (a thread that has not run is not read, and the
 * process CPU clock vouches for all of them at once).
 *
 * usage: parked [THREADS] [MS]
 * Starts THREADS (default 50) threads parked in pthread_cond_wait, each on
 * its own condition variable. After MS ms (default 1000) it wakes thread
 * "sleeper-7", which burns CPU in wake_work() for MS ms and parks again.
 * After another MS ms everything ends. Truth: sleeper-7 is on CPU for MS ms
 * of its 3*MS ms, in wake_work; every other sleeper is never on CPU; main
 * sleeps in nanosleep throughout. Prints "parked: done", exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct slot {
	pthread_t id;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int wake, quit;
};

static long ms_arg = 1000;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long wake_work(double seconds)
{
	unsigned long x = 1;
	double end = now_s() + seconds;
	while (now_s() < end)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

static void *sleeper(void *arg)
{
	struct slot *s = arg;
	unsigned long x = 0;
	pthread_mutex_lock(&s->m);
	for (;;) {
		while (!s->wake && !s->quit)
			pthread_cond_wait(&s->cv, &s->m);
		if (s->quit)
			break;
		s->wake = 0;
		pthread_mutex_unlock(&s->m);
		x += wake_work((double)ms_arg / 1000);
		pthread_mutex_lock(&s->m);
	}
	pthread_mutex_unlock(&s->m);
	return (void *)x;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void poke(struct slot *s, int quit)
{
	pthread_mutex_lock(&s->m);
	if (quit)
		s->quit = 1;
	else
		s->wake = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->m);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;
	if (argc > 2)
		ms_arg = atol(argv[2]);
	if (n < 8)
		n = 8;
	struct slot *slots = calloc((size_t)n, sizeof(*slots));
	for (int i = 0; i < n; i++) {
		char name[16];
		pthread_mutex_init(&slots[i].m, NULL);
		pthread_cond_init(&slots[i].cv, NULL);
		pthread_create(&slots[i].id, NULL, sleeper, &slots[i]);
		snprintf(name, sizeof(name), "sleeper-%d", i % 100000);
		pthread_setname_np(slots[i].id, name);
	}
	sleep_ms(ms_arg);
	poke(&slots[7], 0);
	sleep_ms(2 * ms_arg);
	for (int i = 0; i < n; i++)
		poke(&slots[i], 1);
	for (int i = 0; i < n; i++)
		pthread_join(slots[i].id, NULL);
	printf("parked: done\n");
	free(slots);
	return 0;
}
