/*
 * deadlock: an ABBA deadlock whose truth is known. "teller-one" takes
 * lock_a then, 100 ms later, lock_b; "teller-two" takes lock_b then lock_a.
 * After about 100 ms both wait forever, each for the lock the other holds;
 * main waits in pthread_join for teller-one. Prints "deadlock: ready" once
 * both threads hold their first lock, and never exits by itself.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void transfer(pthread_mutex_t *first, pthread_mutex_t *second)
{
	pthread_mutex_lock(first);
	pthread_barrier_wait(&both_hold);
	sleep_ms(100);
	pthread_mutex_lock(second); /* never returns */
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
}

static void *teller_one(void *arg)
{
	transfer(&lock_a, &lock_b);
	return arg;
}

static void *teller_two(void *arg)
{
	transfer(&lock_b, &lock_a);
	return arg;
}

int main(void)
{
	pthread_t one, two;
	pthread_barrier_init(&both_hold, NULL, 3);
	pthread_create(&one, NULL, teller_one, NULL);
	pthread_setname_np(one, "teller-one");
	pthread_create(&two, NULL, teller_two, NULL);
	pthread_setname_np(two, "teller-two");
	pthread_barrier_wait(&both_hold);
	printf("deadlock: ready\n");
	fflush(stdout);
	pthread_join(one, NULL);
	pthread_join(two, NULL);
	return 0;
}
