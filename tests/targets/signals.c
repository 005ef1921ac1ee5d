/*
 * signals: a target that leans on everything a tracer can get wrong:
 * an interval timer with a handler installed without SA_RESTART, SIGUSR1
 * sent to itself, fork + waitpid, and thread churn. Its output is
 * deterministic, so a run under wallprof must print exactly what a plain
 * run prints and exit with the same status (5).
 *
 * usage: signals [CHURN_THREADS]   (default 300)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, usr1;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void *churn(void *arg)
{
	long *sum = arg;
	long s = 0;
	for (int i = 0; i < 20000; i++)
		s += i % 7;
	/* Live long enough (1 ms) to be sampled now and then. */
	struct timespec ts = {0, 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	*sum = s;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int n_threads = argc > 1 ? atoi(argv[1]) : 300;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: interrupted calls fail with EINTR */
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	struct itimerval it = {{0, 10000}, {0, 10000}};
	setitimer(ITIMER_REAL, &it, NULL);

	/* 1. Ride out at least 50 alarms, sleeping through them. */
	double deadline = now_s() + 5;
	while (alarms < 50 && now_s() < deadline)
		pause();
	it = (struct itimerval){{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	printf("alarms>=50: %s\n", alarms >= 50 ? "yes" : "no");

	/* 2. Ten SIGUSR1, each delivered before kill returns. */
	for (int i = 0; i < 10; i++)
		kill(getpid(), SIGUSR1);
	printf("usr1: %d\n", (int)usr1);

	/* 3. fork, and the child's exit status. */
	pid_t pid = fork();
	if (pid == 0) {
		usleep(100000);
		_exit(7);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* 4. Thread churn: many short-lived threads. */
	long total = 0;
	for (int i = 0; i < n_threads; i++) {
		pthread_t t;
		long sum = 0;
		pthread_create(&t, NULL, churn, &sum);
		pthread_join(t, NULL);
		total += sum;
	}
	printf("churn: %d threads, sum %ld\n", n_threads, total);

	/* 5. A pause that SIGSTOP/SIGCONT from outside may stretch. */
	struct timespec ts = {0, 300000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	printf("done\n");
	return 5;
}
