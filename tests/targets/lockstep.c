/*
 * lockstep: lock waits of known number and length. Each round "holder"
 * takes a mutex, lets "waiter" go, and holds it HOLD_MS while the waiter
 * blocks on it; then both meet and rest GAP_MS apart from it.
 *
 * usage: lockstep ROUNDS HOLD_MS GAP_MS [START_MS]
 * Starts after START_MS (default 0), time for a tracer to attach. The
 * waiter waits ROUNDS times on the mutex, each about HOLD_MS (a little
 * less: it starts waiting just after the holder took it; less again, or not
 * at all, when it gets a CPU late after the barrier). Prints
 * "lockstep: N waits, M ms waited" measured by the waiter itself, then
 * "each: W1 W2 ..." (each wait in ms); exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t ledger = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t taken, done;
static int rounds, hold_ms, gap_ms;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void *holder(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "holder");
	for (int i = 0; i < rounds; i++) {
		pthread_mutex_lock(&ledger);
		pthread_barrier_wait(&taken);
		sleep_ms(hold_ms);
		pthread_mutex_unlock(&ledger);
		pthread_barrier_wait(&done);
		sleep_ms(gap_ms);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5)
		return 2;
	rounds = atoi(argv[1]), hold_ms = atoi(argv[2]), gap_ms = atoi(argv[3]);
	if (argc == 5)
		sleep_ms(atoi(argv[4]));
	pthread_barrier_init(&taken, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	pthread_t h;
	pthread_create(&h, NULL, holder, NULL);
	pthread_setname_np(pthread_self(), "waiter");
	double waited = 0, *each = calloc((size_t)rounds, sizeof(*each));
	if (!each)
		return 1;
	for (int i = 0; i < rounds; i++) {
		pthread_barrier_wait(&taken);
		double t0 = now_ms();
		pthread_mutex_lock(&ledger);
		each[i] = now_ms() - t0;
		waited += each[i];
		pthread_mutex_unlock(&ledger);
		pthread_barrier_wait(&done);
		sleep_ms(gap_ms);
	}
	pthread_join(h, NULL);
	printf("lockstep: %d waits, %.0f ms waited\neach:", rounds, waited);
	for (int i = 0; i < rounds; i++)
		printf(" %.2f", each[i]);
	printf("\n");
	free(each);
	return 0;
}
