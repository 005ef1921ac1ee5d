/*
 * peers.h: who is at the other end of what a thread waits on, read from
 * /proc and sock_diag alone (no ptrace): the processes holding a pipe's
 * other end, a Unix socket's peer, the local socket whose addresses are a
 * TCP or UDP socket's own swapped, the holder of a file lock, a process's
 * children. The links of a wait chain from one process to another.
 */
#ifndef WALLPROF_PEERS_H
#define WALLPROF_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A process holding an object (pipe, socket, file) open. */
struct pipe_holder {
	pid_t pid;
	int fd; /* one of its descriptors for it */
	bool writes; /* that descriptor is open for writing */
	char comm[16];
	char state; /* its main thread's /proc state letter, '?' if unknown */
};

/* How many processes /proc is scanned for at most: a chain is looked up in
 * bounded time on a host with many processes. */
#define PEERS_SCAN_MAX 4096
/* Descriptors peers_other_end looks at, at most, for one lookup. */
#define PEERS_LOOKUP_FDS 20000

/* The target of /proc/PID/fd/FD ("pipe:[12]", "socket:[34]", a path);
 * 0 or -errno. */
int peers_fd_link(pid_t pid, int fd, char *buf, size_t size);

/*
 * The processes other than self holding pipe ino ("pipe:[ino]") open for
 * the end wanted (want_writers: open for writing, else read only), each
 * once; at most max in out. Returns how many.
 */
size_t pipe_holders(pid_t self, uint64_t ino, bool want_writers, struct pipe_holder *out,
		    size_t max);

/* The processes other than self with a descriptor for the file dev:ino
 * (each descriptor's stat): with strict, only those open for writing
 * (want_writers) or reading only (a named FIFO's end, as for a pipe). */
size_t peers_file_holders(pid_t self, dev_t dev, uint64_t ino, bool want_writers, bool strict,
			  struct pipe_holder *out, size_t max);

/* The inode of the peer of Unix socket ino, asked of the kernel's
 * sock_diag (in our network namespace): the inode, 0 if it has no peer
 * (unconnected, listening, the peer closed), -errno if it cannot be told. */
int64_t peers_unix_peer(uint64_t ino);

/*
 * A TCP or UDP socket ino of process pid (in its network namespace): its
 * description into desc ("tcp 127.0.0.1:5432 -> 127.0.0.1:40122") and the
 * inode of the socket whose local and remote addresses are its own
 * swapped. Returns 1 with *peer set, 0 if no such socket is on this host
 * (the peer is elsewhere), -1 if ino is not a connected inet socket.
 */
int peers_inet_peer(pid_t pid, uint64_t ino, char *desc, size_t size, uint64_t *peer);

/*
 * The process at the other end of descriptor fd of pid, a pipe or a
 * connected socket (desc: its description, as fds.h gives it), among the
 * n_among processes of among (at most PEERS_SCAN_MAX of them looked at):
 * for a pipe one holding the other end, for a socket the holder of its
 * peer. 0 if none of them.
 */
pid_t peers_other_end(pid_t pid, int fd, const char *desc, const pid_t *among, size_t n_among);

/* The inode of the socket on this host (in our network namespace) at the
 * other end of inet connection desc ("tcp 127.0.0.1:5432 -> 127.0.0.1:4012";
 * for UDP also a server bound to the address, not connected back), asked of
 * sock_diag: the inode, 0 if there is none, -errno if it cannot be told. */
int64_t peers_inet_diag_peer(const char *desc);

/*
 * Every pipe and socket descriptor of every process (PEERS_SCAN_MAX at
 * most), read once, by inode: for a walk that looks up many.
 */
struct peers_index;
struct peers_index *peers_index_build(void);
void peers_index_free(struct peers_index *ix);
/* As pipe_holders, for pipe or socket ino (a socket's descriptors count
 * as open for writing). */
size_t peers_index_holders(const struct peers_index *ix, pid_t self, uint64_t ino,
			   bool want_writers, struct pipe_holder *out, size_t max);

/* "tcp A -> B" to "tcp B -> A"; false if desc is not a connection. */
bool peers_swap_inet(const char *desc, char *out, size_t size);

/* A lock request in /proc/locks that waits: its kind and the process at
 * the root of what blocks it (the holder; -1 for an OFD lock, whose owner
 * is a file description). */
struct file_lock_wait {
	char kind[16]; /* FLOCK, POSIX, OFDLCK, LEASE */
	bool write;
	pid_t holder;
};

/*
 * In the text of /proc/locks, a waiting request of process waiter (or of
 * an OFD lock, whose pid reads -1) on the file major:minor:ino: 0 with
 * *out filled, -1 if there is none.
 */
int peers_parse_locks(const char *text, pid_t waiter, unsigned major, unsigned minor, uint64_t ino,
		      struct file_lock_wait *out);

#endif
