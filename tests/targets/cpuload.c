/*
 * cpuload: threads whose CPU use the kernel's own counters tell exactly,
 * for comparing wallprof's on-CPU and runnable shares with schedstat.
 *
 *   SPIN   threads "spin-N" that compute without pause: with more of them
 *          than CPUs, each waits for a CPU part of the time
 *   HALF   threads "half-N" that compute 5 ms, then sleep 5 ms
 *   SLEEP  threads "sleep-N" in clock_nanosleep the whole time
 *
 * Runs SECS seconds. Prints "ready" once every thread has started.
 *
 * usage: cpuload SPIN HALF SLEEP SECS
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double end_s;
static atomic_int started;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long compute_until(double until)
{
	unsigned long x = 1;
	while (now_s() < until)
		for (int i = 0; i < 20000; i++)
			x = x * 6364136223846793005UL + 1;
	return x;
}

struct role {
	char kind;
	int n;
};

static void *thread_main(void *arg)
{
	struct role *r = arg;
	char name[16];
	snprintf(name, sizeof(name), "%s-%d",
		 r->kind == 's'	  ? "spin"
		 : r->kind == 'h' ? "half"
				  : "sleep",
		 r->n);
	pthread_setname_np(pthread_self(), name);
	started++;
	volatile unsigned long sink = 0;
	if (r->kind == 's') {
		sink += compute_until(end_s);
	} else if (r->kind == 'h') {
		struct timespec pause = {0, 5 * 1000 * 1000};
		while (now_s() < end_s) {
			sink += compute_until(now_s() + 0.005);
			clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, NULL);
		}
	} else {
		while (now_s() < end_s) {
			struct timespec ts = {0, 50 * 1000 * 1000};
			clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		}
	}
	(void)sink;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: cpuload SPIN HALF SLEEP SECS\n");
		return 2;
	}
	int counts[3] = {atoi(argv[1]), atoi(argv[2]), atoi(argv[3])};
	const char kinds[3] = {'s', 'h', 'z'};
	end_s = now_s() + atof(argv[4]);
	int total = counts[0] + counts[1] + counts[2];
	pthread_t *t = calloc((size_t)total, sizeof(*t));
	struct role *roles = calloc((size_t)total, sizeof(*roles));
	int k = 0;
	for (int c = 0; c < 3; c++)
		for (int i = 0; i < counts[c]; i++, k++) {
			roles[k] = (struct role){kinds[c], i};
			pthread_create(&t[k], NULL, thread_main, &roles[k]);
		}
	while (started < total)
		usleep(1000);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < total; i++)
		pthread_join(t[i], NULL);
	return 0;
}
