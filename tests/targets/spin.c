/*
 * spin: CPU-bound work of a fixed amount, for overhead benchmarks.
 *
 * usage: spin [ITERATIONS_MILLIONS] [PARKED_THREADS] [BUSY_THREADS]
 * Runs ITERATIONS million rounds of an LCG in spin_work() on the main
 * thread (default 2000) while PARKED_THREADS threads (default 0) sleep in
 * pthread_cond_wait and BUSY_THREADS more (default 0) spin in busy_loop()
 * until the main thread is done. Prints the checksum; exits 0. With SPIN_TIME set, it
 * also prints the time spin_work took ("work_ns=N") on stderr, so that a
 * benchmark measures the target's own slowdown and nothing of the tools
 * around it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;
static volatile int busy_stop;

__attribute__((noinline)) static void *busy_loop(void *arg)
{
	unsigned long x = (unsigned long)arg | 1;
	while (!busy_stop)
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	return (void *)x;
}

static void *parked(void *arg)
{
	pthread_mutex_lock(&m);
	while (!done)
		pthread_cond_wait(&cv, &m);
	pthread_mutex_unlock(&m);
	return arg;
}

__attribute__((noinline)) static unsigned long spin_work(unsigned long n)
{
	unsigned long x = 1;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

int main(int argc, char **argv)
{
	unsigned long millions = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	int n = argc > 2 ? atoi(argv[2]) : 0;
	int busy = argc > 3 ? atoi(argv[3]) : 0;
	pthread_t *t = calloc((size_t)n + 1, sizeof(*t));
	pthread_t *busy_threads = calloc((size_t)busy + 1, sizeof(*busy_threads));
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, parked, NULL);
	for (int i = 0; i < busy; i++)
		pthread_create(&busy_threads[i], NULL, busy_loop, NULL);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	unsigned long x = spin_work(millions * 1000000UL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (getenv("SPIN_TIME"))
		fprintf(stderr, "work_ns=%lld\n",
			(long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	busy_stop = 1;
	for (int i = 0; i < busy; i++)
		pthread_join(busy_threads[i], NULL);
	free(busy_threads);
	pthread_mutex_lock(&m);
	done = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&m);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("spin: %lx\n", x);
	free(t);
	return 0;
}
