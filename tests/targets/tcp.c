/*
 * tcp: a client and a server on loopback, whose truth is known.
 *
 * usage: tcp SECONDS
 * "server" listens on 127.0.0.1 (a free port), accepts one connection and
 * answers each 16-byte request after 50 ms of work-free waiting. "client"
 * connects, then sends a request and waits for the answer in recv(), over
 * and over: about 100% of its time blocked in recv on its socket. Prints
 * "tcp: server 127.0.0.1:PORT, client 127.0.0.1:PORT, N requests" and
 * exits 0.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listen_fd;
static struct sockaddr_in server_addr, client_addr;
static volatile int stop;
static int requests;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void *server(void *arg)
{
	int fd = accept(listen_fd, NULL, NULL);
	char buf[16];
	while (recv(fd, buf, sizeof(buf), MSG_WAITALL) == (ssize_t)sizeof(buf)) {
		sleep_ms(50);
		if (send(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			break;
	}
	close(fd);
	return arg;
}

__attribute__((noinline)) static int call_server(int fd)
{
	char buf[16] = "request";
	if (send(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return 0;
	return recv(fd, buf, sizeof(buf), MSG_WAITALL) == (ssize_t)sizeof(buf);
}

static void *client(void *arg)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0)
		return arg;
	socklen_t len = sizeof(client_addr);
	getsockname(fd, (struct sockaddr *)&client_addr, &len);
	while (!stop && call_server(fd))
		requests++;
	close(fd);
	return arg;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listen_fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0 ||
	    listen(listen_fd, 1) < 0)
		return 1;
	socklen_t len = sizeof(server_addr);
	getsockname(listen_fd, (struct sockaddr *)&server_addr, &len);
	pthread_t s, c;
	pthread_create(&s, NULL, server, NULL);
	pthread_setname_np(s, "server");
	pthread_create(&c, NULL, client, NULL);
	pthread_setname_np(c, "client");
	sleep_ms((long)(seconds * 1000));
	stop = 1;
	pthread_join(c, NULL);
	pthread_join(s, NULL);
	printf("tcp: server 127.0.0.1:%d, client 127.0.0.1:%d, %d requests\n",
	       ntohs(server_addr.sin_port), ntohs(client_addr.sin_port), requests);
	return 0;
}
