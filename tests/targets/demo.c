/*
 * demo: the program `make demo` profiles. Three threads, three kinds of
 * wall-clock time:
 *
 *   parser    computes checksums: on CPU (40% of its time)
 *             and waits for input in read() on a pipe (60%)
 *   producer  sleeps, then feeds the parser through the pipe
 *   flusher   takes the shared journal lock and sleeps holding it, while
 *   committer waits for that lock: a contended mutex
 *
 * Runs about 2 seconds, prints a summary line, exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 10

static int pipefd[2];
static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long checksum;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

__attribute__((noinline)) static void compute_checksum(double seconds)
{
	double end = now_s() + seconds;
	unsigned long x = checksum + 1;
	while (now_s() < end)
		for (int i = 0; i < 5000; i++)
			x = (x ^ (x >> 7)) * 0x9e3779b97f4a7c15UL;
	checksum = x;
}

__attribute__((noinline)) static int read_record(char *buf, size_t size)
{
	ssize_t n = read(pipefd[0], buf, size);
	__asm__ volatile("" ::: "memory");
	return (int)n;
}

static void *parser(void *arg)
{
	char buf[64];
	for (int i = 0; i < ROUNDS; i++) {
		if (read_record(buf, sizeof(buf)) <= 0)
			break;
		compute_checksum(0.08);
	}
	return arg;
}

static void *producer(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		sleep_ms(200);
		if (write(pipefd[1], "record\n", 7) != 7)
			break;
	}
	return arg;
}

__attribute__((noinline)) static void flush_journal(void)
{
	pthread_mutex_lock(&journal);
	sleep_ms(150);
	pthread_mutex_unlock(&journal);
}

static void *flusher(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		flush_journal();
		sleep_ms(50);
	}
	return arg;
}

__attribute__((noinline)) static void commit_entry(void)
{
	pthread_mutex_lock(&journal);
	pthread_mutex_unlock(&journal);
}

static void *committer(void *arg)
{
	sleep_ms(10);
	for (int i = 0; i < ROUNDS; i++) {
		commit_entry();
		sleep_ms(60);
	}
	return arg;
}

int main(void)
{
	if (pipe(pipefd) < 0)
		return 1;
	void *(*fns[])(void *) = {parser, producer, flusher, committer};
	const char *names[] = {"parser", "producer", "flusher", "committer"};
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		pthread_create(&t[i], NULL, fns[i], NULL);
		pthread_setname_np(t[i], names[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("demo: processed %d records\n", ROUNDS);
	return 0;
}
