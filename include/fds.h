/*
 * fds.h: what a file descriptor of the target is, for attributing blocked
 * time to files and sockets. /proc/PID/fd/N names files by path, pipes and
 * sockets by inode and anonymous inodes by kind; sockets are then looked up
 * by inode in the target's /proc/PID/net tables for their addresses.
 */
#ifndef WALLPROF_FDS_H
#define WALLPROF_FDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hashmap.h"
#include "util.h"

/* What a descriptor is: kind ("file", "pipe", "socket", "eventfd",
 * "timerfd", "signalfd", "epoll", "inotify", "anon") and a name. */
struct fd_desc {
	char kind[16];
	char name[320];
	uint64_t inode; /* a pipe's or socket's inode, else 0 */
	pid_t peer_cred; /* a connected Unix socket: its peer's pid (SO_PEERCRED), else 0 */
};

/* Socket inode -> description, from /proc/PID/net, re-read on a miss. */
struct fd_table {
	pid_t pid;
	struct u64map sockets; /* inode -> index in descs */
	struct fd_desc *descs;
	size_t n_descs, cap_descs;
	mono_ns scanned_at; /* last read of the net tables, 0 = never */
	int pidfd; /* pidfd_open(pid), to look at a socket through a copy */
	bool pidfd_tried;
	/* fd -> profile object id, kept only while every close and dup2 is
	 * seen (exact tracing): then a descriptor's file cannot change
	 * behind our back. */
	struct u64map cache;
	/* pipe or socket inode -> the recorded process at its other end,
	 * plus 1 (1: none), once known (attribute.c); and, until then, how
	 * many lookups found none, and when the last was (peer_tries). */
	struct u64map peers, peer_tries;
};

/* The object id cached for fd, or -1. */
int32_t fd_table_cached(const struct fd_table *t, int fd);
void fd_table_remember(struct fd_table *t, int fd, int32_t object);
/* fd was closed or replaced (close, dup2, dup3); all of them (close_range, exec). */
void fd_table_forget(struct fd_table *t, int fd);
void fd_table_forget_all(struct fd_table *t);

void fd_table_init(struct fd_table *t, pid_t pid);
void fd_table_release(struct fd_table *t);

/* Describe descriptor fd of the process; 0 or -errno (closed, gone). */
int fd_describe(struct fd_table *t, int fd, struct fd_desc *out);

/*
 * Parse the text of a /proc/net/{tcp,tcp6,udp,udp6} table, calling fn for
 * each socket with its inode and description ("tcp 127.0.0.1:5000 ->
 * 127.0.0.1:41234", "tcp listen 0.0.0.0:80"). proto is "tcp" or "udp".
 */
void fds_parse_inet(const char *text, const char *proto, bool v6,
		    void (*fn)(void *ctx, uint64_t inode, const char *desc), void *ctx);
/* The same for /proc/net/unix: "unix /run/x.sock" or "unix (unnamed)". */
void fds_parse_unix(const char *text, void (*fn)(void *ctx, uint64_t inode, const char *desc),
		    void *ctx);

#endif
