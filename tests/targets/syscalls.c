/*
 * syscalls: a syscall-heavy workload whose counts are known exactly.
 *
 * usage: syscalls [N]   (default 2000)
 * Main thread: N read()s of 512 bytes from /dev/zero, N write()s of 512
 * bytes to /dev/null, N/100 fsync()s of a small temporary file and N/100
 * nanosleep()s of 1 ms. A second thread ("reader") does N pread64()s on
 * the same file. On top, the C runtime makes its own few calls at start-up
 * (the loader reads each library's header). Prints "syscalls: done N",
 * exits 0. With SYSCALLS_TIME set, also prints the main loop's duration
 * ("work_ns=N") on stderr, for benchmarks that time the work alone.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int n = 2000;
static int file_fd;

static void *reader(void *arg)
{
	char buf[64];
	for (int i = 0; i < n; i++)
		if (pread(file_fd, buf, sizeof(buf), 0) < 0)
			perror("pread");
	return arg;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		n = atoi(argv[1]);
	char path[] = "/tmp/wallprof-syscalls-XXXXXX";
	file_fd = mkstemp(path);
	if (file_fd < 0)
		return 1;
	unlink(path);
	static char buf[512];
	if (write(file_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		if (read(zero, buf, sizeof(buf)) < 0 || write(null, buf, sizeof(buf)) < 0)
			return 1;
		if (i % 100 == 0) {
			struct timespec ts = {0, 1000000};
			fsync(file_fd);
			nanosleep(&ts, NULL);
		}
	}
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (getenv("SYSCALLS_TIME"))
		fprintf(stderr, "work_ns=%lld\n",
			(long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	printf("syscalls: done %d\n", n);
	return 0;
}
