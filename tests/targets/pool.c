/*
 * pool: a pool of four workers idle on a condition variable (no work ever
 * comes), and two threads contending for one mutex: "holder" takes it and
 * sleeps 40 ms with it, in a loop; "contender" waits for it each time.
 * The lock view must show the contended mutex first and the idle pool
 * apart. Runs SECS seconds.
 *
 * usage: pool SECS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;

static void *worker(void *arg)
{
	char name[16];
	snprintf(name, sizeof(name), "worker-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&queue_lock);
	while (!stop)
		pthread_cond_wait(&work_ready, &queue_lock);
	pthread_mutex_unlock(&queue_lock);
	return NULL;
}

static void *holder(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "holder");
	struct timespec ts = {0, 40 * 1000 * 1000};
	while (!stop) {
		pthread_mutex_lock(&ledger_lock);
		nanosleep(&ts, NULL);
		pthread_mutex_unlock(&ledger_lock);
		sched_yield();
	}
	return NULL;
}

static void *contender(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "contender");
	while (!stop) {
		pthread_mutex_lock(&ledger_lock);
		pthread_mutex_unlock(&ledger_lock);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2;
	pthread_t t[6];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_create(&t[4], NULL, holder, NULL);
	pthread_create(&t[5], NULL, contender, NULL);
	usleep((useconds_t)(secs * 1e6));
	stop = 1;
	pthread_mutex_lock(&queue_lock);
	pthread_cond_broadcast(&work_ready);
	pthread_mutex_unlock(&queue_lock);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	return 0;
}
