/*
 * peers.h: who holds the other end of a pipe a thread is blocked on. A
 * reader waits for whoever can write, a writer for whoever can read: the
 * processes that have the same pipe open (by its inode, in each /proc/PID/fd),
 * and with which end (the access mode in /proc/PID/fdinfo/FD). The first
 * link of a wait chain from one process to another.
 */
#ifndef WALLPROF_PEERS_H
#define WALLPROF_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A process holding a pipe open. */
struct pipe_holder {
	pid_t pid;
	int fd; /* one of its descriptors for it */
	bool writes; /* that descriptor is the write end */
	char comm[16];
	char state; /* its main thread's /proc state letter, '?' if unknown */
};

/* How many processes /proc is scanned for at most: a chain is looked up in
 * bounded time on a host with many processes. */
#define PEERS_SCAN_MAX 4096

/*
 * The processes other than self holding pipe ino ("pipe:[ino]") open, each
 * once (its first descriptor for the end the caller waits on, if it has
 * it: want_writers); at most max of them in out. Returns how many.
 */
size_t pipe_holders(pid_t self, uint64_t ino, bool want_writers, struct pipe_holder *out,
		    size_t max);

#endif
