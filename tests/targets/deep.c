/*
 * deep: threads blocked where stacks are hard to get right, for comparing
 * wallprof's stacks with eu-stack's on the same live process. Each thread
 * blocks for good (until the process is killed) in a known place:
 *
 *   inline    clock_nanosleep under outer -> level1 -> level2 -> level3 ->
 *             level4, all always_inline: one real frame, five functions
 *   recurse   read on a pipe under recurse() 600 calls deep
 *   fp        epoll_wait with no timeout under fp_outer -> fp_inner, built
 *             with frame pointers: their CFA is rbp-based, which
 *             /proc/TID/syscall (sp and pc only) cannot give, and epoll_wait
 *             is a call wallprof reads without a stop
 *   disk      write + fsync of 64 KiB in a loop on a file in DIR: often in
 *             disk wait (state D)
 *   holder    holds big.lock, a mutex 1 MiB into a .bss object: past the
 *             file-backed part of the mapping, which /proc shows anonymous
 *   bsswait   waits for big.lock
 *   stale     epoll_wait with no timeout under stale_wait, built with frame
 *             pointers, whose locals were never written: they still hold
 *             the frame records (saved rbp, return address) of a deeper
 *             chain of calls made before, which look like its own
 *
 * Prints "ready" once every thread is in place.
 *
 * usage: deep DIR
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static int block_pipe[2];
static atomic_int ready;
static const char *dir;

static void block_forever(void)
{
	char c;
	while (read(block_pipe[0], &c, 1) != 0)
		;
}

/* ---- inline ---- */

static inline __attribute__((always_inline)) void level4(void)
{
	struct timespec ts = {1000, 0};
	for (;;)
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

static inline __attribute__((always_inline)) void level3(void)
{
	level4();
}

static inline __attribute__((always_inline)) void level2(void)
{
	level3();
}

static inline __attribute__((always_inline)) void level1(void)
{
	level2();
}

__attribute__((noinline)) static void outer(void)
{
	ready++;
	level1();
}

static void *inline_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "inline");
	outer();
	return NULL;
}

/* ---- recurse ---- */

__attribute__((noinline)) static int recurse(int depth)
{
	/* A local each frame keeps until the inner call returns: no tail
	 * call, no loop. */
	volatile int here = depth;
	if (depth == 0) {
		ready++;
		block_forever();
		return 0;
	}
	return recurse(depth - 1) + here;
}

static void *recurse_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "recurse");
	return (void *)(long)recurse(600);
}

/* ---- frame pointers ---- */

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static int fp_inner(int x)
{
	volatile int pad[8] = {x};
	int ep = epoll_create1(0);
	struct epoll_event ev;
	ready++;
	for (;;) /* EINTR when a debugger attaches: wait again */
		epoll_wait(ep, &ev, 1, -1);
	return pad[0];
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static int fp_outer(int x)
{
	volatile int pad[8] = {x};
	return fp_inner(pad[0] + 1) + 1;
}

static void *fp_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "fp");
	return (void *)(long)fp_outer(1);
}

/* ---- stale frame records ---- */

__attribute__((noinline, noclone, optimize("no-omit-frame-pointer"))) static int stale_fill(int n)
{
	volatile int pad[4] = {n};
	return n ? stale_fill(n - 1) + pad[0] : pad[0];
}

__attribute__((noinline, noclone, optimize("no-omit-frame-pointer"))) static int stale_wait(void)
{
	char room[1024]; /* never written: holds what stale_fill left */
	__asm__ volatile("" : : "r"(room) : "memory");
	int ep = epoll_create1(0);
	struct epoll_event ev;
	ready++;
	for (;;)
		epoll_wait(ep, &ev, 1, -1);
	return ep;
}

static void *stale_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "stale");
	int r = stale_fill(20);
	r += stale_wait(); /* not a tail call: its frame record is where stale_fill(20)'s was */
	ready += r;
	return NULL;
}

/* ---- a lock in .bss ---- */

struct {
	char pad[1 << 20];
	pthread_mutex_t lock;
} big = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *holder_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "holder");
	pthread_mutex_lock(&big.lock);
	ready++;
	block_forever();
	return NULL;
}

static void *bsswait_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "bsswait");
	while (ready < 5)
		usleep(1000);
	ready++;
	pthread_mutex_lock(&big.lock);
	return NULL;
}

/* ---- disk ---- */

__attribute__((noinline)) static void sync_block(int fd, const char *buf, size_t len)
{
	if (pwrite(fd, buf, len, 0) != (ssize_t)len)
		abort();
	fsync(fd);
}

static void *disk_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "disk");
	char path[4096];
	snprintf(path, sizeof(path), "%s/deep-disk.dat", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0) {
		perror("deep: open");
		exit(2);
	}
	static char buf[65536];
	memset(buf, 'x', sizeof(buf));
	ready++;
	for (unsigned i = 0;; i++) {
		buf[0] = (char)i;
		sync_block(fd, buf, sizeof(buf));
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: deep DIR\n");
		return 2;
	}
	dir = argv[1];
	if (pipe(block_pipe) < 0)
		return 2;
	pthread_t t[7];
	pthread_create(&t[0], NULL, inline_thread, NULL);
	pthread_create(&t[1], NULL, recurse_thread, NULL);
	pthread_create(&t[2], NULL, fp_thread, NULL);
	pthread_create(&t[3], NULL, disk_thread, NULL);
	pthread_create(&t[4], NULL, holder_thread, NULL);
	pthread_create(&t[5], NULL, bsswait_thread, NULL);
	pthread_create(&t[6], NULL, stale_thread, NULL);
	while (ready < 7)
		usleep(1000);
	usleep(20000);
	printf("ready\n");
	fflush(stdout);
	block_forever();
	return 0;
}
