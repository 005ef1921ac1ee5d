/*
 * stopcost: the floor for a sampling stop. Seizes every thread of PID and,
 * ROUNDS times at HZ, does the bare minimum per thread that a stack sampler
 * must do: PTRACE_INTERRUPT, waitpid, PTRACE_GETREGS, PTRACE_CONT. Prints the
 * p50 and p99 of that round trip in nanoseconds, measured the same way
 * wallprof measures its stops (from before INTERRUPT to after CONT).
 *
 * usage: stopcost PID [ROUNDS] [HZ]
 * Output: "stopcost p50_ns=N p99_ns=N stops=N"
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: stopcost PID [ROUNDS] [HZ]\n");
		return 64;
	}
	pid_t pid = atoi(argv[1]);
	int rounds = argc > 2 ? atoi(argv[2]) : 300;
	int hz = argc > 3 ? atoi(argv[3]) : 100;
	pid_t tids[1024];
	int n = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d)) && n < 1024)
		if (de->d_name[0] != '.')
			tids[n++] = atoi(de->d_name);
	if (d)
		closedir(d);
	for (int i = 0; i < n; i++)
		if (ptrace(PTRACE_SEIZE, tids[i], 0, 0) < 0) {
			perror("PTRACE_SEIZE");
			return 2;
		}
	uint64_t *lat = calloc((size_t)rounds * (size_t)n, sizeof(*lat));
	size_t k = 0;
	struct timespec period = {0, 1000000000L / hz};
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < n; i++) {
			struct user_regs_struct regs;
			int status;
			uint64_t t0 = now_ns();
			if (ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) < 0)
				continue;
			if (waitpid(tids[i], &status, __WALL) != tids[i])
				continue;
			ptrace(PTRACE_GETREGS, tids[i], 0, &regs);
			int sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
			ptrace(PTRACE_CONT, tids[i], 0, sig);
			lat[k++] = now_ns() - t0;
		}
		nanosleep(&period, NULL);
	}
	qsort(lat, k, sizeof(*lat), cmp);
	printf("stopcost p50_ns=%llu p99_ns=%llu stops=%zu\n", k ? (unsigned long long)lat[k / 2] : 0,
	       k ? (unsigned long long)lat[(size_t)((double)(k - 1) * 0.99)] : 0, k);
	return 0;
}
