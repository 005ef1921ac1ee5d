/*
 * fds.c: file descriptors of the target to files and sockets. Called when a
 * sample or an event finds a thread in a call on a descriptor; the result is
 * interned as an object of the profile, so each distinct file or socket is
 * described once however many samples point at it.
 *
 * Reading /proc/PID/fd/N costs a readlink (a few microseconds) and is done
 * only for samples that are new, never for reused ones. A socket is named
 * from a copy of the descriptor (pidfd_getfd, Linux 5.6): its own address
 * and peer, in microseconds. Without it, the net tables are read, and read
 * again only when a socket inode is not in them, at most every 100 ms: a
 * host with tens of thousands of TIME_WAIT sockets makes that a tenth of a
 * second.
 */
#include "fds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define NET_RESCAN_NS (100 * 1000 * 1000ULL)
#define NET_TABLE_MAX (16u << 20) /* bytes of one /proc/net table we read at most */

void fd_table_init(struct fd_table *t, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	u64map_init(&t->sockets);
	u64map_init(&t->cache);
	u64map_init(&t->peers);
	u64map_init(&t->peer_tries);
}

void fd_table_release(struct fd_table *t)
{
	if (t->pidfd_tried && t->pidfd >= 0)
		close(t->pidfd);
	u64map_release(&t->sockets);
	u64map_release(&t->cache);
	u64map_release(&t->peers);
	u64map_release(&t->peer_tries);
	free(t->descs);
	memset(t, 0, sizeof(*t));
}

static void add_socket(void *ctx, uint64_t inode, const char *desc)
{
	struct fd_table *t = ctx;
	uint32_t idx;
	if (!u64map_get(&t->sockets, inode, &idx)) {
		GROW(t->descs, t->cap_descs, t->n_descs + 1);
		idx = (uint32_t)t->n_descs++;
		u64map_put(&t->sockets, inode, idx);
	}
	struct fd_desc *d = &t->descs[idx];
	snprintf(d->kind, sizeof(d->kind), "socket");
	snprintf(d->name, sizeof(d->name), "%s", desc);
}

/* "0100007F:1F90" (IPv4) or 32 hex digits + port (IPv6) to "127.0.0.1:8080". */
static bool format_inet(const char *hex, bool v6, char *out, size_t size)
{
	const char *colon = strchr(hex, ':');
	size_t want = v6 ? 32 : 8;
	if (!colon || (size_t)(colon - hex) != want)
		return false;
	unsigned port;
	if (sscanf(colon + 1, "%4x", &port) != 1)
		return false;
	char addr[INET6_ADDRSTRLEN];
	if (v6) {
		/* Four 32-bit words, each printed in host (little-endian) order. */
		uint32_t w[4];
		for (int i = 0; i < 4; i++) {
			char part[9];
			memcpy(part, hex + 8 * i, 8);
			part[8] = '\0';
			w[i] = (uint32_t)strtoul(part, NULL, 16);
		}
		if (!inet_ntop(AF_INET6, w, addr, sizeof(addr)))
			return false;
		snprintf(out, size, "[%s]:%u", addr, port);
	} else {
		char part[9];
		memcpy(part, hex, 8);
		part[8] = '\0';
		uint32_t a = (uint32_t)strtoul(part, NULL, 16);
		if (!inet_ntop(AF_INET, &a, addr, sizeof(addr)))
			return false;
		snprintf(out, size, "%s:%u", addr, port);
	}
	return true;
}

/* The next space-separated field of a line: *len bytes at the result. */
static const char *field(const char **p, size_t *len)
{
	while (**p == ' ')
		(*p)++;
	const char *start = *p;
	while (**p && **p != ' ' && **p != '\n')
		(*p)++;
	*len = (size_t)(*p - start);
	return start;
}

void fds_parse_inet(const char *text, const char *proto, bool v6,
		    void (*fn)(void *ctx, uint64_t inode, const char *desc), void *ctx)
{
	/* Fields split by hand: a busy host's table holds tens of thousands
	 * of lines, most of them TIME_WAIT sockets with inode 0, skipped
	 * before any formatting. */
	const char *line = strchr(text, '\n'); /* skip the header */
	while (line && *++line) {
		const char *next = strchr(line, '\n');
		const char *p = line, *f[10];
		size_t len[10], k;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		for (k = 0; k < 10; k++) {
			f[k] = field(&p, &len[k]);
			if (!len[k])
				break;
		}
		unsigned long long inode = k == 10 ? strtoull(f[9], NULL, 10) : 0;
		char local[80], remote[80], desc[200];
		if (inode && len[1] < sizeof(local) && len[2] < sizeof(remote) && len[3] <= 2) {
			memcpy(local, f[1], len[1]);
			local[len[1]] = '\0';
			memcpy(remote, f[2], len[2]);
			remote[len[2]] = '\0';
			unsigned st = (unsigned)strtoul(f[3], NULL, 16);
			char l[INET6_ADDRSTRLEN + 8], r[INET6_ADDRSTRLEN + 8];
			if (format_inet(local, v6, l, sizeof(l)) &&
			    format_inet(remote, v6, r, sizeof(r))) {
				bool unconnected = strchr(remote, ':') &&
						   !strcmp(strchr(remote, ':'), ":0000");
				if (!strcmp(proto, "tcp") && st == 0x0A) /* TCP_LISTEN */
					snprintf(desc, sizeof(desc), "tcp listen %s", l);
				else if (unconnected)
					snprintf(desc, sizeof(desc), "%s %s", proto, l);
				else
					snprintf(desc, sizeof(desc), "%s %s -> %s", proto, l, r);
				fn(ctx, inode, desc);
			}
		}
		line = next;
	}
}

void fds_parse_unix(const char *text, void (*fn)(void *ctx, uint64_t inode, const char *desc),
		    void *ctx)
{
	const char *line = strchr(text, '\n');
	while (line && *++line) {
		const char *next = strchr(line, '\n');
		unsigned long long inode;
		int n = 0;
		/* Num RefCount Protocol Flags Type St Inode [Path] */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %llu%n", &inode, &n) == 1 && inode) {
			const char *path = line + n;
			while (*path == ' ')
				path++;
			size_t len = next ? (size_t)(next - path) : strlen(path);
			char desc[200];
			if (len == 0)
				snprintf(desc, sizeof(desc), "unix (unnamed)");
			else
				snprintf(desc, sizeof(desc), "unix %.*s",
					 (int)(len > 180 ? 180 : len), path);
			fn(ctx, inode, desc);
		}
		line = next;
	}
}

static void scan_net(struct fd_table *t)
{
	static const struct {
		const char *file, *proto;
		bool v6;
	} tables[] = {
		{"tcp", "tcp", false}, {"tcp6", "tcp", true}, {"udp", "udp", false},
		{"udp6", "udp", true}, {"unix", NULL, false},
	};
	t->scanned_at = mono_now();
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)t->pid, tables[i].file);
		char *text = read_small_file(path, NET_TABLE_MAX, NULL);
		if (!text)
			continue;
		if (tables[i].proto)
			fds_parse_inet(text, tables[i].proto, tables[i].v6, add_socket, t);
		else
			fds_parse_unix(text, add_socket, t);
		free(text);
	}
}

/* "127.0.0.1:80", "[::1]:80", "/run/x.sock", "@abstract", "" (unnamed). */
static bool format_sockaddr(const struct sockaddr_storage *sa, socklen_t len, char *out,
			    size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		snprintf(out, size, "%s:%u", addr, ntohs(in->sin_port));
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		snprintf(out, size, "[%s]:%u", addr, ntohs(in6->sin6_port));
	} else if (sa->ss_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t n = len > offsetof(struct sockaddr_un, sun_path)
				   ? len - offsetof(struct sockaddr_un, sun_path)
				   : 0;
		if (n && !un->sun_path[0]) /* abstract: a leading NUL, shown as @ */
			snprintf(out, size, "@%.*s", (int)(n - 1), un->sun_path + 1);
		else
			snprintf(out, size, "%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
	} else {
		return false;
	}
	return true;
}

/*
 * Name a socket of the target from a copy of its descriptor, as the net
 * tables would: "tcp listen 0.0.0.0:80", "tcp 10.0.0.1:5000 -> 10.0.0.2:80",
 * "udp 0.0.0.0:53", "unix /run/x.sock", "unix (unnamed)". The copy is ours
 * for a few microseconds: only a close by the target within them would take
 * effect (the FIN sent) when the copy is closed, that much later. False if
 * the copy cannot be had (older kernel, no permission) or is not an inet or
 * unix socket.
 */
static bool describe_by_copy(struct fd_table *t, int fd, struct fd_desc *out)
{
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
	if (!t->pidfd_tried) {
		t->pidfd_tried = true;
		t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	}
	if (t->pidfd < 0)
		return false;
	int s = (int)syscall(SYS_pidfd_getfd, t->pidfd, fd, 0);
	if (s < 0)
		return false;
	struct sockaddr_storage self, peer;
	socklen_t self_len = sizeof(self), peer_len = sizeof(peer), il = sizeof(int);
	int type = 0, listening = 0;
	bool ok = getsockname(s, (struct sockaddr *)&self, &self_len) == 0 &&
		  getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &il) == 0;
	struct ucred cred = {0};
	socklen_t cl = sizeof(cred);
	if (ok && self.ss_family == AF_UNIX &&
	    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.pid > 0)
		out->peer_cred = cred.pid;
	il = sizeof(int);
	if (ok && getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il) < 0)
		listening = 0;
	bool connected = ok && getpeername(s, (struct sockaddr *)&peer, &peer_len) == 0;
	close(s);
	char l[sizeof(out->name)], r[sizeof(out->name)];
	if (!ok || !format_sockaddr(&self, self_len, l, sizeof(l)) ||
	    (connected && !format_sockaddr(&peer, peer_len, r, sizeof(r))))
		return false;
	snprintf(out->kind, sizeof(out->kind), "socket");
	if (self.ss_family == AF_UNIX) {
		/* As /proc/net/unix: the socket's own path, if it has one. */
		snprintf(out->name, sizeof(out->name), "unix %.300s", l[0] ? l : "(unnamed)");
		return true;
	}
	const char *proto = type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : NULL;
	if (!proto)
		return false;
	if (listening)
		snprintf(out->name, sizeof(out->name), "tcp listen %.150s", l);
	else if (connected)
		snprintf(out->name, sizeof(out->name), "%s %.150s -> %.150s", proto, l, r);
	else if (l[strlen(l) - 1] == '0' && l[strlen(l) - 2] == ':')
		snprintf(out->name, sizeof(out->name), "%s (unbound)", proto); /* port 0 */
	else
		snprintf(out->name, sizeof(out->name), "%s %.150s", proto, l);
	return true;
#else
	(void)t, (void)fd, (void)out;
	return false;
#endif
}

static void describe_socket(struct fd_table *t, uint64_t inode, struct fd_desc *out)
{
	uint32_t idx;
	if (!u64map_get(&t->sockets, inode, &idx) &&
	    (!t->scanned_at || mono_now() - t->scanned_at >= NET_RESCAN_NS))
		scan_net(t);
	if (u64map_get(&t->sockets, inode, &idx)) {
		*out = t->descs[idx];
		return;
	}
	snprintf(out->kind, sizeof(out->kind), "socket");
	snprintf(out->name, sizeof(out->name), "socket:[%llu]", (unsigned long long)inode);
}

int fd_describe(struct fd_table *t, int fd, struct fd_desc *out)
{
	char path[64], link[sizeof(out->name)];
	if (fd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)t->pid, fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	unsigned long long inode;
	out->inode = 0;
	out->peer_cred = 0;
	if (sscanf(link, "socket:[%llu]", &inode) == 1) {
		out->inode = inode;
		if (!describe_by_copy(t, fd, out))
			describe_socket(t, inode, out);
		out->inode = inode;
		return 0;
	}
	const char *kind = "file";
	if (!strncmp(link, "pipe:", 5))
		kind = "pipe";
	else if (!strncmp(link, "anon_inode:", 11)) {
		const char *what = link + 11;
		kind = strstr(what, "eventfd")	   ? "eventfd"
		       : strstr(what, "timerfd")   ? "timerfd"
		       : strstr(what, "signalfd")  ? "signalfd"
		       : strstr(what, "eventpoll") ? "epoll"
		       : strstr(what, "inotify")   ? "inotify"
						   : "anon";
	}
	if (sscanf(link, "pipe:[%llu]", &inode) == 1)
		out->inode = inode;
	snprintf(out->kind, sizeof(out->kind), "%s", kind);
	snprintf(out->name, sizeof(out->name), "%s", link);
	return 0;
}

#define FD_FORGOTTEN UINT32_MAX

int32_t fd_table_cached(const struct fd_table *t, int fd)
{
	uint32_t id;
	if (fd < 0 || !u64map_get(&t->cache, (uint64_t)fd, &id) || id == FD_FORGOTTEN)
		return -1;
	return (int32_t)id;
}

void fd_table_remember(struct fd_table *t, int fd, int32_t object)
{
	if (fd >= 0 && object >= 0)
		u64map_put(&t->cache, (uint64_t)fd, (uint32_t)object);
}

void fd_table_forget(struct fd_table *t, int fd)
{
	uint32_t id;
	if (fd >= 0 && u64map_get(&t->cache, (uint64_t)fd, &id))
		u64map_put(&t->cache, (uint64_t)fd, FD_FORGOTTEN);
}

void fd_table_forget_all(struct fd_table *t)
{
	u64map_release(&t->cache);
	u64map_init(&t->cache);
}
