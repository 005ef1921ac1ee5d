/*
 * handoff: three workers idle on a condition variable, 20 ms at a time;
 * each time the wait times out, a worker takes the mutex back while
 * "churn" holds it in 2 ms bursts. So each idle wait comes right after a
 * short wait for the mutex, on another futex word, as in a thread pool's
 * idle workers (MariaDB's tpool). Runs SECS seconds.
 *
 * usage: handoff SECS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_idle = PTHREAD_COND_INITIALIZER;
static volatile int stop;

static void *worker(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker");
	pthread_mutex_lock(&pool_lock);
	while (!stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pool_idle, &pool_lock, &ts);
	}
	pthread_mutex_unlock(&pool_lock);
	return NULL;
}

static void *churn(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "churn");
	while (!stop) {
		pthread_mutex_lock(&pool_lock);
		usleep(2000);
		pthread_mutex_unlock(&pool_lock);
		usleep(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: handoff SECS\n");
		return 2;
	}
	pthread_t w[3], c;
	for (int i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	pthread_create(&c, NULL, churn, NULL);
	usleep((useconds_t)(atof(argv[1]) * 1e6));
	stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	pthread_join(c, NULL);
	printf("handoff: done\n");
	return 0;
}
