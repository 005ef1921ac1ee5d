/*
 * forker: a parent that forks workers and waits for them, for -f.
 *
 * usage: forker [CHILDREN] [MS]   (default 2, 1000)
 * Forks CHILDREN processes at once; each spins in child_work() for MS
 * milliseconds of wall time and exits with its number (1 to 255, cycling).
 * The parent blocks in waitpid() for all of them: its time is all wait4.
 * Prints one line; exits 0 if every child exited with its number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long child_work(double seconds)
{
	unsigned long x = 1;
	double end = now_s() + seconds;
	while (now_s() < end)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2;
	int ms = argc > 2 ? atoi(argv[2]) : 1000;
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0)
			_exit(child_work(ms / 1000.0) ? i % 255 + 1 : 0); /* 1..255 */
	}
	int ok = 0, status;
	for (int i = 0; i < n; i++)
		if (wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) >= 1)
			ok++;
	printf("forker: %d children, %d exited with their number\n", n, ok);
	return ok == n ? 0 : 1;
}
