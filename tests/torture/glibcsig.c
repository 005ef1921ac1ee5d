/*
 * glibcsig: glibc's internal signals. In a process with threads,
 * setresuid() and friends must change every thread's credentials: glibc
 * sends SIGSETXID (signal 33) to each thread and waits until all have run
 * the handler. pthread_cancel() sends SIGCANCEL (signal 32) to a thread
 * blocked in a cancellation point. Under a tracer both arrive as
 * signal-delivery stops and must be passed on, or the caller hangs.
 *
 * usage: glibcsig [ROUNDS]   (default 200)
 * Prints what it did; exits 0 when every round completed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define THREADS 8

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause(); /* a cancellation point: only pthread_cancel ends it */
	return NULL;
}

static void *reader(void *arg)
{
	char c;
	/* read() on an empty pipe: a cancellation point too. */
	if (read(*(int *)arg, &c, 1) < 0)
		perror("read");
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, sleeper, NULL);
	int setxid = 0;
	for (int r = 0; r < rounds; r++) {
		/* Same ids as now: allowed for anyone, and still broadcast. */
		uid_t u = getuid();
		gid_t g = getgid();
		if (setresgid((gid_t)-1, g, (gid_t)-1) == 0 && setresuid((uid_t)-1, u, (uid_t)-1) == 0)
			setxid += 2;
	}
	int cancelled = 0;
	for (int i = 0; i < THREADS; i++) {
		void *res;
		pthread_cancel(t[i]);
		pthread_join(t[i], &res);
		cancelled += res == PTHREAD_CANCELED;
	}
	int p[2];
	if (pipe(p) < 0)
		return 1;
	for (int i = 0; i < rounds / 10; i++) {
		pthread_t rt;
		void *res;
		pthread_create(&rt, NULL, reader, &p[0]);
		usleep(1000);
		pthread_cancel(rt);
		pthread_join(rt, &res);
		cancelled += res == PTHREAD_CANCELED;
	}
	printf("setxid calls: %d of %d\ncancelled: %d of %d\n", setxid, 2 * rounds, cancelled,
	       THREADS + rounds / 10);
	return setxid == 2 * rounds && cancelled == THREADS + rounds / 10 ? 0 : 1;
}
