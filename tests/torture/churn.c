/*
 * churn: thousands of short-lived threads, a few at a time, each doing a
 * little work and a little sleep. A tracer sees every clone and every exit.
 *
 * usage: churn [THREADS] [AT_ONCE]   (default 3000, 4)
 * Prints the sum of what the threads computed; exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *work(void *arg)
{
	unsigned long x = (unsigned long)arg;
	for (int i = 0; i < 20000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	struct timespec ts = {0, 100 * 1000};
	nanosleep(&ts, NULL);
	return (void *)(x >> 60);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3000;
	int at_once = argc > 2 ? atoi(argv[2]) : 4;
	unsigned long sum = 0;
	pthread_t t[64];
	if (at_once < 1 || at_once > 64)
		return 2;
	for (int done = 0; done < n; done += at_once) {
		for (int k = 0; k < at_once; k++)
			if (pthread_create(&t[k], NULL, work, (void *)(unsigned long)(done + k)) != 0)
				return 3;
		for (int k = 0; k < at_once; k++) {
			void *r;
			pthread_join(t[k], &r);
			sum += (unsigned long)r;
		}
	}
	printf("threads: %d, sum: %lu\n", n, sum);
	return 0;
}
