/*
 * stopcost: the floor for a sampling stop. Seizes every thread of each PID
 * and, ROUNDS times at HZ, does the bare minimum per thread that a stack
 * sampler must do: PTRACE_INTERRUPT, waitpid, PTRACE_GETREGS, PTRACE_CONT.
 * Prints the p50 and p99 of that round trip in nanoseconds, measured the
 * same way wallprof measures its stops (from before INTERRUPT to after CONT).
 * With "running", a thread is stopped only if /proc says it is in state R,
 * as a sampler that reads blocked threads' stacks without a stop does: the
 * least any ptrace sampler costs a server (bench/servers.sh). SIGINT ends
 * the rounds early, and the figures are printed.
 *
 * usage: stopcost PID[,PID...] [ROUNDS] [HZ] [running]
 * Output: "stopcost p50_ns=N p99_ns=N stops=N"
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = sig;
}

/* Is the thread on a CPU or waiting for one (state R)? */
static int running(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *end = strrchr(buf, ')');
	return end && end[1] == ' ' && end[2] == 'R';
}

/* Resume a tracee from the stop in status: a signal goes on to it, a
 * group-stop (the user's Ctrl-Z or SIGSTOP) stays one (PTRACE_LISTEN). */
static void resume(pid_t tid, int status)
{
	int event = status >> 16, sig = WSTOPSIG(status);
	bool group_stop = event == PTRACE_EVENT_STOP &&
			  (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU);
	if (group_stop)
		ptrace(PTRACE_LISTEN, tid, 0, 0);
	else
		ptrace(PTRACE_CONT, tid, 0, event == 0 ? sig : 0);
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: stopcost PID[,PID...] [ROUNDS] [HZ] [running]\n");
		return 64;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 300;
	int hz = argc > 3 ? atoi(argv[3]) : 100;
	int only_running = argc > 4 && !strcmp(argv[4], "running");
	pid_t tids[1024];
	int n = 0;
	for (char *list = argv[1], *tok; (tok = strtok(list, ",")); list = NULL) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task", atoi(tok));
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d)) && n < 1024)
			if (de->d_name[0] != '.')
				tids[n++] = atoi(de->d_name);
		if (d)
			closedir(d);
	}
	signal(SIGINT, on_sigint);
	/* Children forked meanwhile (a server's new workers or backends) are
	 * seized by the kernel and join the rounds. */
	long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
	for (int i = 0; i < n; i++)
		if (ptrace(PTRACE_SEIZE, tids[i], 0, opts) < 0) {
			perror("PTRACE_SEIZE");
			return 2;
		}
	uint64_t *lat = NULL;
	size_t k = 0, cap = 0;
	struct timespec period = {0, 1000000000L / hz};
	for (int r = 0; r < rounds && !interrupted; r++) {
		for (int i = 0; i < n; i++) {
			struct user_regs_struct regs;
			int status;
			if (tids[i] <= 0 || (only_running && !running(tids[i])))
				continue;
			uint64_t t0 = now_ns();
			if (ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) < 0)
				continue;
			if (waitpid(tids[i], &status, __WALL) != tids[i])
				continue;
			if (WIFEXITED(status) || WIFSIGNALED(status)) {
				tids[i] = 0;
				continue;
			}
			ptrace(PTRACE_GETREGS, tids[i], 0, &regs);
			resume(tids[i], status);
			if (k == cap) {
				cap = cap ? cap * 2 : 4096;
				lat = realloc(lat, cap * sizeof(*lat));
				if (!lat)
					return 2;
			}
			lat[k++] = now_ns() - t0;
		}
		/* Other stops (a fork's event, a new child's first stop, a
		 * signal, an interrupt that came after another stop): resumed,
		 * a signal delivered, a new thread taken in. */
		int status;
		pid_t who;
		while ((who = waitpid(-1, &status, __WALL | WNOHANG)) > 0) {
			int i = 0, free_slot = -1;
			for (; i < n && tids[i] != who; i++)
				if (tids[i] == 0 && free_slot < 0)
					free_slot = i;
			if (WIFEXITED(status) || WIFSIGNALED(status)) {
				if (i < n)
					tids[i] = 0;
				continue;
			}
			/* A new thread or child takes the slot of one gone. */
			if (i == n && free_slot >= 0)
				tids[free_slot] = who;
			else if (i == n && n < 1024)
				tids[n++] = who;
			resume(who, status);
		}
		nanosleep(&period, NULL);
	}
	qsort(lat, k, sizeof(*lat), cmp);
	printf("stopcost p50_ns=%llu p99_ns=%llu stops=%zu\n",
	       k ? (unsigned long long)lat[k / 2] : 0,
	       k ? (unsigned long long)lat[(size_t)((double)(k - 1) * 0.99)] : 0, k);
	return 0;
}
