/*
 * fds.c: file descriptors of the target to files and sockets. Called when a
 * sample or an event finds a thread in a call on a descriptor; the result is
 * interned as an object of the profile, so each distinct file or socket is
 * described once however many samples point at it.
 *
 * Reading /proc/PID/fd/N costs a readlink (a few microseconds) and is done
 * only for samples that are new, never for reused ones. The net tables are
 * read again only when a socket inode is not in them, at most every 100 ms.
 */
#include "fds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NET_RESCAN_NS (100 * 1000 * 1000ULL)
#define NET_TABLE_MAX (16u << 20) /* bytes of one /proc/net table we read at most */

void fd_table_init(struct fd_table *t, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	u64map_init(&t->sockets);
	u64map_init(&t->cache);
}

void fd_table_release(struct fd_table *t)
{
	u64map_release(&t->sockets);
	u64map_release(&t->cache);
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

void fds_parse_inet(const char *text, const char *proto, bool v6,
		    void (*fn)(void *ctx, uint64_t inode, const char *desc), void *ctx)
{
	const char *line = strchr(text, '\n'); /* skip the header */
	while (line && *++line) {
		const char *next = strchr(line, '\n');
		char local[80], remote[80], desc[200];
		unsigned st;
		unsigned long long inode;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, "%*s %79s %79s %x %*s %*s %*s %*s %*s %llu", local, remote, &st,
			   &inode) == 4 &&
		    inode) {
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
	if (sscanf(link, "socket:[%llu]", &inode) == 1) {
		describe_socket(t, inode, out);
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
