/*
 * oddnames: names that are not plain text. A thread named "odd\nname\\x"
 * (a newline and a backslash in its comm) blocks reading a FIFO whose name
 * is given as ARG: the test passes one with bytes that are not UTF-8. The
 * main thread, named with a terminal's set-title escape (ESC ] 0 ; ... BEL)
 * and a C1 control (U+009B, a CSI to some terminals), sleeps. Runs SECS
 * seconds.
 *
 * usage: oddnames FIFO SECS
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static const char *fifo;

static void *reader(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "odd\nname\\x", 0, 0, 0);
	int fd = open(fifo, O_RDWR); /* no writer needed to open it */
	char c;
	if (fd < 0 || read(fd, &c, 1) < 0)
		perror("oddnames");
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	fifo = argv[1];
	prctl(PR_SET_NAME, "\033]0;pwned\a\xc2\x9b", 0, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	sleep((unsigned)atoi(argv[2]));
	return 0;
}
