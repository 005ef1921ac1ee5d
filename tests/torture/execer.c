/*
 * execer: exec and vfork in awkward places, for the torture tests.
 *
 * usage: execer thread-exec | vfork N
 * thread-exec: three threads sleep; after 300 ms one of them (not main)
 * calls execv("/bin/echo", "echo", "exec from a thread"). The kernel ends
 * the others; the process goes on as echo and exits 0.
 * vfork N: vfork()s and execs /bin/true N times, waiting for each, then
 * prints "execer: N children" and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void *sleeper(void *arg)
{
	sleep_ms(10000);
	return arg;
}

static void *execer(void *arg)
{
	sleep_ms(300);
	char *const argv[] = {"echo", "exec from a thread", NULL};
	execv("/bin/echo", argv);
	perror("execv");
	exit(1);
	return arg;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 64;
	if (!strcmp(argv[1], "thread-exec")) {
		pthread_t t[3];
		pthread_create(&t[0], NULL, sleeper, NULL);
		pthread_create(&t[1], NULL, sleeper, NULL);
		pthread_create(&t[2], NULL, execer, NULL);
		pthread_join(t[0], NULL);
		return 1; /* not reached: exec replaces the process */
	}
	int n = argc > 2 ? atoi(argv[2]) : 10;
	for (int i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int status;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			return 1;
	}
	printf("execer: %d children\n", n);
	return 0;
}
