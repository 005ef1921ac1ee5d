/*
 * selftrace: a target that is itself a tracer, as a debugger or strace
 * would be: it forks a child that asks to be traced (PTRACE_TRACEME), then
 * follows it from syscall stop to syscall stop and counts them. Profiling
 * the parent must not take the child away from it.
 *
 * usage: selftrace [WRITES]   (default 100)
 * Prints the count; exits 0 if the child was traced to its end.
 *
 * usage: selftrace self SECS
 * After SECS seconds asks to be traced itself (PTRACE_TRACEME, as a program
 * checking for a debugger does) and prints whether it could; exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "self")) {
		usleep((useconds_t)(atof(argv[2]) * 1e6));
		long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
		printf("PTRACE_TRACEME: %s\n", r < 0 ? strerror(errno) : "traced by my parent");
		return 0;
	}
	int writes = argc > 1 ? atoi(argv[1]) : 100;
	fflush(stdout);
	pid_t child = fork();
	if (child < 0)
		return 2;
	if (child == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
			perror("selftrace: PTRACE_TRACEME");
			_exit(3);
		}
		raise(SIGSTOP);
		for (int i = 0; i < writes; i++)
			if (write(STDERR_FILENO, "", 0) < 0)
				_exit(4);
		_exit(0);
	}
	int status;
	long stops = 0;
	if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status))
		return 5;
	ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESYSGOOD);
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, child, 0, 0) < 0)
			return 6;
		if (waitpid(child, &status, 0) != child)
			return 7;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
			stops++;
	}
	/* Each write is an entry and an exit stop; exit_group only an entry. */
	printf("syscall stops: %ld (child exit %d)\n", stops, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
