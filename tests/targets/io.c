/*
 * io: blocking I/O on named files, whose truth is known.
 *
 * usage: io DIR SECONDS
 * "fifo-reader" blocks reading DIR/feed.fifo, a named FIFO that
 * "fifo-feeder" writes one 8-byte line to every 100 ms. "journal" appends
 * a 4 KiB record to DIR/journal.log and fsyncs it, every 20 ms. After
 * SECONDS everything stops; prints "io: LINES lines, RECORDS records"
 * (each record is one write and one fsync) and exits 0.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char fifo_path[4096], journal_path[4096];
static volatile int stop;
static int lines, records;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void *feeder(void *arg)
{
	int fd = open(fifo_path, O_WRONLY);
	while (!stop) {
		sleep_ms(100);
		if (write(fd, "record\n\n", 8) != 8)
			break;
	}
	close(fd);
	return arg;
}

__attribute__((noinline)) static int read_feed(int fd)
{
	char buf[8];
	return read(fd, buf, sizeof(buf)) == 8;
}

static void *reader(void *arg)
{
	int fd = open(fifo_path, O_RDONLY);
	while (read_feed(fd))
		lines++;
	close(fd);
	return arg;
}

__attribute__((noinline)) static void append_record(int fd, const char *rec, size_t len)
{
	if (write(fd, rec, len) != (ssize_t)len || fsync(fd) < 0)
		perror("journal");
}

static void *journal(void *arg)
{
	static char rec[4096];
	memset(rec, 'j', sizeof(rec));
	int fd = open(journal_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	while (!stop) {
		append_record(fd, rec, sizeof(rec));
		records++;
		sleep_ms(20);
	}
	close(fd);
	return arg;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 64;
	snprintf(fifo_path, sizeof(fifo_path), "%s/feed.fifo", argv[1]);
	snprintf(journal_path, sizeof(journal_path), "%s/journal.log", argv[1]);
	unlink(fifo_path);
	if (mkfifo(fifo_path, 0600) < 0)
		return 1;
	pthread_t f, r, j;
	pthread_create(&r, NULL, reader, NULL);
	pthread_setname_np(r, "fifo-reader");
	pthread_create(&f, NULL, feeder, NULL);
	pthread_setname_np(f, "fifo-feeder");
	pthread_create(&j, NULL, journal, NULL);
	pthread_setname_np(j, "journal");
	sleep_ms((long)(atof(argv[2]) * 1000));
	stop = 1;
	pthread_join(f, NULL);
	pthread_join(r, NULL);
	pthread_join(j, NULL);
	unlink(fifo_path);
	printf("io: %d lines, %d records\n", lines, records);
	return 0;
}
