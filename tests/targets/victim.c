/*
 * victim: a program that notices whatever a tracer's interrupts do to it.
 * Each mode runs for SECS seconds, counts what a program would see if a
 * stop of wallprof's leaked into it, prints one line and exits 1 if it saw
 * anything at all:
 *
 *   epoll     a thread in epoll_wait woken every 200 us through an eventfd
 *             (epoll_wait fails with EINTR when a ptrace stop interrupts
 *             it), and a second thread in epoll_wait with a 20 ms timeout
 *             on nothing, whose waits must last 20 ms, not more
 *   sigwait   every signal blocked; one thread collects SIGUSR1 with
 *             sigtimedwait (1 ms timeout), another reads a signalfd; a
 *             third sends the signals (sigtimedwait fails with EINTR when
 *             interrupted)
 *   pipe      1 MiB writes into a pipe that another thread drains: a
 *             blocking write interrupted after moving part of its buffer
 *             returns the part; the data is checked byte for byte
 *   socket    the same over a Unix stream socketpair
 *   count     2000 calls of epoll_wait with a 1 ms timeout on nothing, from
 *             one thread: a traced run must count exactly 2000, however
 *             many of them a stop rewound
 *   uring     io_uring_enter waiting for a completion that never comes,
 *             200 us at a time (IORING_ENTER_EXT_ARG's timeout), from one
 *             thread: interrupted, the wait fails with EINTR. Exits 3 if
 *             io_uring is not available
 *   uringwait a thread in io_uring_enter waiting for a completion with no
 *             timeout, for good (an EINTR returns it and is counted); the
 *             program ends after SECS
 *   signal    the other way round: a thread that must see EINTR. It waits
 *             in epoll_pwait, where alone SIGUSR1 is unblocked, for the
 *             signal another thread sends, and must get EINTR for each one
 *             (a repair that hid the signal's EINTR would leave it waiting
 *             for good: counted as lost after a second)
 *
 * usage: victim MODE SECS
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/io_uring.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1 << 20)

static atomic_int stop;
static atomic_long eintr, shorts, ops, bad, overshoot_us_max;
static double secs;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void name(const char *n)
{
	pthread_setname_np(pthread_self(), n);
}

/* ---- epoll ---- */

static int efd, epfd;

static void *epoll_waker(void *arg)
{
	(void)arg;
	name("waker");
	struct timespec ts = {0, 200 * 1000};
	uint64_t one = 1;
	while (!stop) {
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			bad++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *epoll_server(void *arg)
{
	(void)arg;
	name("server");
	struct epoll_event ev;
	while (!stop) {
		int n = epoll_wait(epfd, &ev, 1, 100);
		if (n < 0) {
			if (errno == EINTR)
				eintr++;
			else
				bad++;
			continue;
		}
		uint64_t v;
		if (n == 1 && read(efd, &v, sizeof(v)) == sizeof(v))
			ops++;
	}
	return NULL;
}

/* This thread's time waiting for a CPU so far (schedstat's second field),
 * in seconds; 0 if it cannot be read. */
static double cpu_wait_s(int fd)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	unsigned long long run, wait;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "%llu %llu", &run, &wait) == 2 ? (double)wait / 1e9 : 0;
}

/* Waits out a 20 ms timeout on an epoll set that never fires. How much
 * longer each took, less the time it then waited for a CPU (a loaded
 * machine's lateness, not the wait's), is its overshoot. */
static void *epoll_idle(void *arg)
{
	(void)arg;
	name("idle");
	int ep = epoll_create1(0);
	int ss = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	struct epoll_event ev;
	while (!stop) {
		double t0 = now_s(), w0 = cpu_wait_s(ss);
		int n = epoll_wait(ep, &ev, 1, 20);
		double over_us = (now_s() - t0 - 0.020 - (cpu_wait_s(ss) - w0)) * 1e6;
		if (n < 0 && errno == EINTR)
			eintr++;
		else if (n != 0)
			bad++;
		if (over_us > overshoot_us_max)
			overshoot_us_max = (long)over_us;
	}
	close(ep);
	close(ss);
	return NULL;
}

static void run_epoll(void)
{
	efd = eventfd(0, EFD_NONBLOCK);
	epfd = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN};
	epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev);
	pthread_t a, b, c;
	pthread_create(&a, NULL, epoll_server, NULL);
	pthread_create(&b, NULL, epoll_waker, NULL);
	pthread_create(&c, NULL, epoll_idle, NULL);
	usleep((useconds_t)(secs * 1e6));
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_join(c, NULL);
}

/* ---- sigwait ---- */

static pid_t waiter_tid, reader_tid;

static void *sig_waiter(void *arg)
{
	(void)arg;
	name("sigtimedwait");
	waiter_tid = (pid_t)syscall(SYS_gettid);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	struct timespec ts = {0, 1000 * 1000};
	while (!stop) {
		int r = sigtimedwait(&set, NULL, &ts);
		if (r == SIGUSR1)
			ops++;
		else if (r < 0 && errno == EINTR)
			eintr++;
		else if (r < 0 && errno != EAGAIN)
			bad++;
	}
	return NULL;
}

static void *sig_reader(void *arg)
{
	(void)arg;
	name("signalfd");
	reader_tid = (pid_t)syscall(SYS_gettid);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	int fd = signalfd(-1, &set, 0);
	struct signalfd_siginfo si;
	while (!stop) {
		ssize_t n = read(fd, &si, sizeof(si));
		if (n == (ssize_t)sizeof(si))
			ops++;
		else if (n < 0 && errno == EINTR)
			eintr++;
		else
			bad++;
	}
	close(fd);
	return NULL;
}

static void run_sigwait(void)
{
	pthread_t a, b;
	pthread_create(&a, NULL, sig_waiter, NULL);
	pthread_create(&b, NULL, sig_reader, NULL);
	while (!waiter_tid || !reader_tid)
		usleep(1000);
	pid_t pid = getpid();
	double end = now_s() + secs;
	struct timespec ts = {0, 300 * 1000};
	while (now_s() < end) {
		syscall(SYS_tgkill, pid, waiter_tid, SIGUSR1);
		syscall(SYS_tgkill, pid, reader_tid, SIGUSR2);
		nanosleep(&ts, NULL);
	}
	stop = 1;
	syscall(SYS_tgkill, pid, reader_tid, SIGUSR2);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
}

static void run_count(void)
{
	int ep = epoll_create1(0);
	struct epoll_event ev;
	for (int i = 0; i < 2000; i++) {
		int n = epoll_wait(ep, &ev, 1, 1);
		if (n < 0 && errno == EINTR)
			eintr++;
		else if (n != 0)
			bad++;
		ops++;
	}
	close(ep);
}

/* ---- signal ---- */

static atomic_long handled, acked;
static pid_t catcher_tid;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *sig_catcher(void *arg)
{
	(void)arg;
	name("catcher");
	catcher_tid = (pid_t)syscall(SYS_gettid);
	int ep = epoll_create1(0);
	sigset_t during;
	pthread_sigmask(SIG_SETMASK, NULL, &during);
	sigdelset(&during, SIGUSR1);
	struct epoll_event ev;
	while (!stop) {
		int n = epoll_pwait(ep, &ev, 1, 50, &during);
		if (n < 0 && errno == EINTR)
			acked++;
		else if (n != 0)
			bad++;
	}
	close(ep);
	return NULL;
}

static void run_signal(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART, and epoll never restarts */
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	pthread_t a;
	pthread_create(&a, NULL, sig_catcher, NULL);
	while (!catcher_tid)
		usleep(1000);
	double end = now_s() + secs;
	long sent = 0;
	while (now_s() < end) {
		syscall(SYS_tgkill, getpid(), catcher_tid, SIGUSR1);
		sent++;
		double give_up = now_s() + 1.0;
		while (acked < sent && now_s() < give_up)
			; /* the next signal comes as the catcher runs */
		if (acked < sent) {
			bad++; /* lost: the EINTR never came */
			acked = sent;
		}
		ops++;
	}
	stop = 1;
	pthread_join(a, NULL);
	if (handled != sent)
		bad++;
}

/* ---- pipe and socket ---- */

static int chan[2];

/* Byte i of the stream is a function of i alone, so any loss, repeat or
 * reordering shows. */
static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

static void *stream_writer(void *arg)
{
	(void)arg;
	name("writer");
	unsigned char *buf = malloc(BLOCK);
	uint64_t off = 0;
	double end = now_s() + secs;
	while (now_s() < end) {
		for (size_t i = 0; i < BLOCK; i++)
			buf[i] = pattern(off + i);
		ssize_t n = write(chan[1], buf, BLOCK);
		if (n < 0) {
			if (errno == EINTR)
				eintr++;
			else
				bad++;
			continue;
		}
		if (n != BLOCK)
			shorts++;
		off += (uint64_t)n;
		/* What was not written is written again from the right offset:
		 * the reader checks the stream, not the blocks. */
		ops++;
	}
	close(chan[1]);
	free(buf);
	return NULL;
}

static void *stream_reader(void *arg)
{
	(void)arg;
	name("reader");
	unsigned char *buf = malloc(65536);
	uint64_t off = 0;
	for (;;) {
		ssize_t n = read(chan[0], buf, 65536);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				eintr++;
			else
				bad++;
			if (errno != EINTR)
				break;
			continue;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(off + (uint64_t)i)) {
				bad++;
				break;
			}
		off += (uint64_t)n;
	}
	free(buf);
	return NULL;
}

static void run_stream(bool socket_pair)
{
	int r = socket_pair ? socketpair(AF_UNIX, SOCK_STREAM, 0, chan) : pipe(chan);
	if (r < 0) {
		perror("victim: channel");
		exit(2);
	}
	pthread_t w, rd;
	pthread_create(&rd, NULL, stream_reader, NULL);
	pthread_create(&w, NULL, stream_writer, NULL);
	pthread_join(w, NULL);
	pthread_join(rd, NULL);
}

/* ---- io_uring ---- */

static void run_uring(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = (int)syscall(SYS_io_uring_setup, 8, &p);
	if (fd < 0) {
		printf("mode=uring unavailable: %s\n", strerror(errno));
		exit(3);
	}
	struct __kernel_timespec ts = {0, 200000};
	struct io_uring_getevents_arg arg;
	memset(&arg, 0, sizeof(arg));
	arg.ts = (uint64_t)(uintptr_t)&ts;
	double end = now_s() + secs;
	while (now_s() < end) {
		long r = syscall(SYS_io_uring_enter, fd, 0, 1,
				 IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
		if (r < 0 && errno == EINTR)
			eintr++;
		else if (r < 0 && errno != ETIME)
			bad++;
		ops++;
	}
	close(fd);
}

static void *uring_waiter(void *arg)
{
	int fd = *(int *)arg;
	name("waiter");
	for (;;) {
		long r = syscall(SYS_io_uring_enter, fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
		if (r < 0 && errno == EINTR)
			eintr++;
		else if (r < 0)
			bad++;
		ops++;
	}
	return NULL;
}

static void run_uringwait(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	static int fd;
	fd = (int)syscall(SYS_io_uring_setup, 8, &p);
	if (fd < 0) {
		printf("mode=uringwait unavailable: %s\n", strerror(errno));
		exit(3);
	}
	pthread_t w;
	pthread_create(&w, NULL, uring_waiter, &fd);
	struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: victim epoll|sigwait|pipe|socket|signal|count|uring|uringwait SECS\n");
		return 2;
	}
	secs = atof(argv[2]);
	const char *mode = argv[1];
	if (!strcmp(mode, "sigwait")) {
		/* Every signal blocked, in every thread. */
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
		run_sigwait();
	} else if (!strcmp(mode, "count")) {
		run_count();
	} else if (!strcmp(mode, "signal")) {
		run_signal();
	} else if (!strcmp(mode, "epoll")) {
		run_epoll();
	} else if (!strcmp(mode, "uring")) {
		run_uring();
	} else if (!strcmp(mode, "uringwait")) {
		run_uringwait();
	} else if (!strcmp(mode, "pipe") || !strcmp(mode, "socket")) {
		run_stream(!strcmp(mode, "socket"));
	} else {
		fprintf(stderr, "victim: unknown mode '%s'\n", mode);
		return 2;
	}
	printf("mode=%s ops=%ld eintr=%ld short=%ld bad=%ld overshoot_us_max=%ld\n", mode,
	       (long)ops, (long)eintr, (long)shorts, (long)bad, (long)overshoot_us_max);
	return eintr || shorts || bad ? 1 : 0;
}
