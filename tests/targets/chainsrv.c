/*
 * chainsrv: a server whose request handler blocks on a mutex that another
 * thread holds while it sleeps, for wait chains across processes.
 *
 *   chainsrv unix PATH | chainsrv tcp PORT
 *
 * Thread "holder" takes the mutex and sleeps 60 s. The main thread listens
 * (a Unix socket at PATH, or TCP on 127.0.0.1:PORT), prints "ready" and
 * accepts; each connection gets a thread "handler" that reads a request,
 * then takes the mutex (and waits there) before it answers. A client that
 * sent a request thus waits on its socket for the handler, which waits
 * for the holder, which sleeps: the chain the test expects.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;

static void *holder(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "holder");
	pthread_mutex_lock(&table);
	pthread_barrier_wait(&held);
	sleep(60);
	pthread_mutex_unlock(&table);
	return NULL;
}

static void *handler(void *arg)
{
	int fd = (int)(long)arg;
	char buf[64];
	prctl(PR_SET_NAME, "handler");
	if (read(fd, buf, sizeof(buf)) > 0) {
		pthread_mutex_lock(&table);
		if (write(fd, "ok\n", 3) < 0)
			perror("write");
		pthread_mutex_unlock(&table);
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "unix") && strcmp(argv[1], "tcp"))) {
		fprintf(stderr, "usage: chainsrv unix PATH | chainsrv tcp PORT\n");
		return 64;
	}
	int s;
	if (!strcmp(argv[1], "unix")) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return perror("bind"), 1;
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)atoi(argv[2]))};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return perror("bind"), 1;
	}
	if (listen(s, 8) < 0)
		return perror("listen"), 1;
	pthread_t t;
	pthread_barrier_init(&held, NULL, 2);
	pthread_create(&t, NULL, holder, NULL);
	pthread_barrier_wait(&held);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		pthread_create(&t, NULL, handler, (void *)(long)c);
		pthread_detach(t);
	}
}
