/*
 * peers.c: who is at the other end of a wait, from /proc and sock_diag.
 * See peers.h.
 */
#include "peers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "fds.h"
#include "procfs.h"
#include "util.h"

int peers_fd_link(pid_t pid, int fd, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	ssize_t n = readlink(path, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Is descriptor fd of pid open for writing (O_WRONLY or O_RDWR)? */
static bool fd_writes(pid_t pid, int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	char *text = read_small_file(path, 4096, NULL);
	uint64_t flags = 0;
	bool ok = text && procfs_parse_fdinfo_flags(text, &flags) == 0;
	free(text);
	return ok && (flags & O_ACCMODE) != O_RDONLY;
}

/* What a scan looks for: descriptors with this link target, or (link
 * NULL) for this file. */
struct wanted {
	const char *link;
	dev_t dev;
	uint64_t ino;
	bool writers;
	bool strict; /* only descriptors with the end wanted count */
	size_t *budget; /* descriptors it may still look at; NULL: no bound */
};

static bool fd_matches(pid_t pid, int fd, const struct wanted *w)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	if (w->link) {
		char target[64];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return false;
		target[n] = '\0';
		return !strcmp(target, w->link);
	}
	struct stat st;
	return stat(path, &st) == 0 && st.st_dev == w->dev && (uint64_t)st.st_ino == w->ino;
}

/* The descriptor of pid for what w wants (the end wanted if it has it,
 * else any); -1 if none. */
static int holder_fd(pid_t pid, const struct wanted *w, bool *writes)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int found = -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t fd;
		if (!parse_uint(de->d_name, 0, INT32_MAX, &fd))
			continue;
		if (w->budget && !(*w->budget)--) {
			*w->budget = 0;
			break;
		}
		if (!fd_matches(pid, (int)fd, w))
			continue;
		bool wr = fd_writes(pid, (int)fd);
		if (w->strict && wr != w->writers)
			continue;
		if (found < 0 || wr == w->writers) {
			found = (int)fd;
			*writes = wr;
		}
		if (wr == w->writers)
			break;
	}
	closedir(d);
	return found;
}

/* Does pid hold what w wants? Into *h if so. */
static bool holds(pid_t pid, const struct wanted *w, struct pipe_holder *h)
{
	*h = (struct pipe_holder){.pid = pid, .state = '?'};
	if ((h->fd = holder_fd(pid, w, &h->writes)) < 0)
		return false;
	procfs_read_comm(pid, pid, h->comm, sizeof(h->comm));
	struct task_stat st;
	if (procfs_read_stat(pid, pid, &st) == 0)
		h->state = st.state;
	return true;
}

/* The processes holding it: among pids (n of them), or every process
 * of /proc (pids NULL), self excepted. */
static size_t scan_among(const pid_t *pids, size_t n_pids, pid_t self, const struct wanted *w,
			 struct pipe_holder *out, size_t max)
{
	size_t n = 0;
	if (pids) {
		for (size_t i = 0; i < n_pids && i < PEERS_SCAN_MAX && n < max; i++)
			if (pids[i] != self && holds(pids[i], w, &out[n]))
				n++;
		return n;
	}
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	size_t scanned = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max && scanned < PEERS_SCAN_MAX) {
		uint64_t pid;
		if (!parse_uint(de->d_name, 1, INT32_MAX, &pid) || (pid_t)pid == self)
			continue;
		scanned++;
		if (holds((pid_t)pid, w, &out[n]))
			n++;
	}
	closedir(d);
	return n;
}

static size_t scan(pid_t self, const struct wanted *w, struct pipe_holder *out, size_t max)
{
	return scan_among(NULL, 0, self, w, out, max);
}

/* One sock_diag question and its answer, in our network namespace:
 * the answer's length, or -errno. */
static ssize_t diag_ask(const void *req, size_t len, void *resp, size_t size)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	struct timeval tv = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t n = send(fd, req, len, 0) < 0 ? -1 : recv(fd, resp, size, 0);
	int e = errno;
	close(fd);
	return n < 0 ? -e : n;
}

/* "127.0.0.1:80" or "[::1]:80" into a sock_diag address (4 words, network
 * order) and port; the family, or -1. */
static int parse_endpoint(const char *s, size_t len, uint32_t addr[4], uint16_t *port)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *colon = strrchr(buf, ':');
	uint64_t p;
	if (!colon || !parse_uint(colon + 1, 0, 65535, &p))
		return -1;
	*colon = '\0';
	*port = htons((uint16_t)p);
	memset(addr, 0, 16);
	if (buf[0] == '[' && colon > buf + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		return inet_pton(AF_INET6, buf + 1, addr) == 1 ? AF_INET6 : -1;
	}
	return inet_pton(AF_INET, buf, addr) == 1 ? AF_INET : -1;
}

int64_t peers_inet_diag_peer(const char *desc)
{
	/* "tcp A -> B": ask for the socket the kernel would deliver a packet
	 * from A to B to: the one whose local end is B. */
	const char *sp = strchr(desc, ' '), *arrow = strstr(desc, " -> ");
	if (!sp || !arrow || arrow < sp)
		return -EINVAL;
	bool tcp = !strncmp(desc, "tcp ", 4);
	if (!tcp && strncmp(desc, "udp ", 4))
		return -EINVAL;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST},
		.r = {.sdiag_protocol = tcp ? IPPROTO_TCP : IPPROTO_UDP,
		      .idiag_states = ~0u,
		      .id = {.idiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}}},
	};
	/* TCP's exact lookup takes the socket's own end as "src"; UDP's
	 * takes the packet's source, so the socket found is at "dst". */
	struct inet_diag_sockid *id = &req.r.id;
	int fa = parse_endpoint(sp + 1, (size_t)(arrow - sp - 1),
				tcp ? id->idiag_dst : id->idiag_src,
				tcp ? &id->idiag_dport : &id->idiag_sport);
	int fb = parse_endpoint(arrow + 4, strlen(arrow + 4), tcp ? id->idiag_src : id->idiag_dst,
				tcp ? &id->idiag_sport : &id->idiag_dport);
	if (fa < 0 || fa != fb)
		return -EINVAL;
	req.r.sdiag_family = (uint8_t)fa;
	union {
		struct nlmsghdr h;
		char buf[8192];
	} resp;
	ssize_t len = diag_ask(&req, sizeof(req), &resp, sizeof(resp));
	if (len < 0)
		return len;
	for (struct nlmsghdr *h = &resp.h; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			return e->error == -ENOENT ? 0 : e->error ? e->error : -EIO;
		}
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
			return ((const struct inet_diag_msg *)NLMSG_DATA(h))->idiag_inode;
	}
	return 0;
}

pid_t peers_other_end(pid_t pid, int fd, const char *desc, const pid_t *among, size_t n_among)
{
	char target[64];
	if (peers_fd_link(pid, fd, target, sizeof(target)) < 0)
		return 0;
	unsigned long long ino;
	struct pipe_holder h[4];
	/* Bounded work: it runs in the sampler's path. */
	size_t budget = PEERS_LOOKUP_FDS;
	struct wanted w = {.strict = true, .budget = &budget};
	char link[48];
	if (sscanf(target, "pipe:[%llu]", &ino) == 1) {
		/* Whoever has the end this one has not: a reader's writer. */
		w.link = target;
		w.writers = !fd_writes(pid, fd);
		size_t n = scan_among(among, n_among, pid, &w, h, ARRAY_SIZE(h));
		for (size_t i = 0; i < n; i++)
			if (h[i].writes == w.writers)
				return h[i].pid;
		return 0;
	}
	if (sscanf(target, "socket:[%llu]", &ino) != 1)
		return 0;
	/* Unix, or inet by its description: one netlink question either way
	 * (never the /proc/net tables, which on a busy host are megabytes). */
	int64_t peer =
		!strncmp(desc, "unix", 4) ? peers_unix_peer(ino) : peers_inet_diag_peer(desc);
	if (peer <= 0)
		return 0;
	uint64_t pino = (uint64_t)peer;
	snprintf(link, sizeof(link), "socket:[%llu]", (unsigned long long)pino);
	w.link = link;
	w.writers = true;
	/* A socket pair inside one process is no other process. */
	return scan_among(among, n_among, pid, &w, h, 1) ? h[0].pid : 0;
}

size_t pipe_holders(pid_t self, uint64_t ino, bool want_writers, struct pipe_holder *out,
		    size_t max)
{
	char link[48];
	snprintf(link, sizeof(link), "pipe:[%llu]", (unsigned long long)ino);
	struct wanted w = {.link = link, .writers = want_writers, .strict = true};
	return scan(self, &w, out, max);
}

size_t peers_file_holders(pid_t self, dev_t dev, uint64_t ino, bool want_writers, bool strict,
			  struct pipe_holder *out, size_t max)
{
	struct wanted w = {.dev = dev, .ino = ino, .writers = want_writers, .strict = strict};
	return scan(self, &w, out, max);
}

int64_t peers_unix_peer(uint64_t ino)
{
	if (ino > UINT32_MAX)
		return -EOVERFLOW; /* sock_diag names Unix sockets by 32 bits */
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST},
		.r = {.sdiag_family = AF_UNIX,
		      .udiag_states = ~0u,
		      .udiag_ino = (uint32_t)ino,
		      .udiag_show = UDIAG_SHOW_PEER,
		      .udiag_cookie = {~0u, ~0u}},
	};
	union {
		struct nlmsghdr h;
		char buf[8192];
	} resp;
	int64_t ret = -EIO;
	ssize_t len = diag_ask(&req, sizeof(req), &resp, sizeof(resp));
	if (len < 0)
		return len;
	for (struct nlmsghdr *h = &resp.h; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			return e->error ? e->error : -EIO;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
			continue;
		const struct unix_diag_msg *m = NLMSG_DATA(h);
		ret = 0;
		size_t off = NLMSG_ALIGN(sizeof(*m));
		size_t end = h->nlmsg_len - NLMSG_LENGTH(0);
		while (off + sizeof(struct nlattr) <= end) {
			const struct nlattr *a = (const void *)((const char *)m + off);
			if (a->nla_len < sizeof(*a) || off + a->nla_len > end)
				break;
			if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= NLA_HDRLEN + 4) {
				uint32_t peer;
				memcpy(&peer, (const char *)a + NLA_HDRLEN, 4);
				return peer;
			}
			off += NLA_ALIGN(a->nla_len);
		}
	}
	return ret;
}

bool peers_swap_inet(const char *desc, char *out, size_t size)
{
	const char *sp = strchr(desc, ' '), *arrow = strstr(desc, " -> ");
	if (!sp || !arrow || arrow < sp || strncmp(sp, " listen", 7) == 0)
		return false;
	snprintf(out, size, "%.*s %s -> %.*s", (int)(sp - desc), desc, arrow + 4,
		 (int)(arrow - sp - 1), sp + 1);
	return true;
}

/* Reading the inet tables: the description of one inode, or the inode of
 * one description. */
struct inet_find {
	uint64_t ino; /* wanted by inode: its desc */
	char desc[200];
	const char *want_desc; /* wanted by description: its inode */
	uint64_t found;
};

static void inet_row(void *ctx, uint64_t inode, const char *desc)
{
	struct inet_find *f = ctx;
	if (f->ino && inode == f->ino && !f->desc[0])
		snprintf(f->desc, sizeof(f->desc), "%s", desc);
	if (f->want_desc && !f->found && !strcmp(desc, f->want_desc))
		f->found = inode;
}

static const struct {
	const char *file, *proto;
	bool v6;
} inet_tables[] = {
	{"tcp", "tcp", false}, {"tcp6", "tcp", true}, {"udp", "udp", false}, {"udp6", "udp", true}};

/* Each table's text, read once (a busy host's are megabytes). */
struct inet_texts {
	char *text[ARRAY_SIZE(inet_tables)];
};

static void inet_find_in(const struct inet_texts *t, struct inet_find *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(inet_tables); i++)
		if (t->text[i])
			fds_parse_inet(t->text[i], inet_tables[i].proto, inet_tables[i].v6,
				       inet_row, f);
}

int peers_inet_peer(pid_t pid, uint64_t ino, char *desc, size_t size, uint64_t *peer)
{
	struct inet_texts t;
	for (size_t i = 0; i < ARRAY_SIZE(inet_tables); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, inet_tables[i].file);
		t.text[i] = read_small_file(path, 64 << 20, NULL);
	}
	struct inet_find f = {.ino = ino};
	inet_find_in(&t, &f);
	char swapped[200];
	int ret = -1;
	if (f.desc[0] && peers_swap_inet(f.desc, swapped, sizeof(swapped))) {
		snprintf(desc, size, "%s", f.desc);
		struct inet_find g = {.want_desc = swapped};
		inet_find_in(&t, &g);
		/* UDP: a server's socket is seldom connected back; it is bound
		 * to the address (or to any address, on that port). */
		const char *arrow = strstr(f.desc, " -> "), *colon;
		if (!g.found && !strncmp(f.desc, "udp ", 4) && arrow &&
		    (colon = strrchr(arrow, ':'))) {
			char bound[200];
			for (int k = 0; k < 3 && !g.found; k++) {
				if (k == 0)
					snprintf(bound, sizeof(bound), "udp %s", arrow + 4);
				else
					snprintf(bound, sizeof(bound), "udp %s%s",
						 k == 1 ? "0.0.0.0" : "[::]", colon);
				struct inet_find h = {.want_desc = bound};
				inet_find_in(&t, &h);
				g.found = h.found;
			}
		}
		*peer = g.found;
		ret = g.found ? 1 : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(inet_tables); i++)
		free(t.text[i]);
	return ret;
}

int peers_parse_locks(const char *text, pid_t waiter, unsigned major, unsigned minor, uint64_t ino,
		      struct file_lock_wait *out)
{
	/* "1: POSIX  ADVISORY  WRITE 31329 fe:00:10953034 0 EOF", each waiter
	 * after its blocker as "1: -> POSIX ...", one more space of indent
	 * per level; the holder is the line at level 0 above it. */
	pid_t holder = 0;
	for (const char *line = text; line && *line;) {
		const char *next = strchr(line, '\n');
		const char *p = strchr(line, ':');
		if (!p || (next && p > next))
			goto skip;
		p++;
		while (*p == ' ')
			p++;
		bool waits = !strncmp(p, "-> ", 3);
		if (waits)
			p += 3;
		char kind[16], mode[16], rw[16];
		long pid;
		unsigned maj, min;
		unsigned long long ino_;
		if (sscanf(p, "%15s %15s %15s %ld %x:%x:%llu", kind, mode, rw, &pid, &maj, &min,
			   &ino_) != 7)
			goto skip;
		if (!waits) {
			holder = (pid_t)pid;
			goto skip;
		}
		if (ino_ == ino && maj == major && min == minor &&
		    (pid == waiter || (pid == -1 && !strcmp(kind, "OFDLCK")))) {
			snprintf(out->kind, sizeof(out->kind), "%s", kind);
			out->write = !strcmp(rw, "WRITE");
			out->holder = holder;
			return 0;
		}
	skip:
		line = next ? next + 1 : NULL;
	}
	return -1;
}

struct peers_entry {
	uint64_t ino;
	pid_t pid;
	int fd;
	bool pipe, writes;
};

struct peers_index {
	struct peers_entry *e;
	size_t n, cap;
};

static int by_ino(const void *a, const void *b)
{
	const struct peers_entry *x = a, *y = b;
	if (x->ino != y->ino)
		return (x->ino > y->ino) - (x->ino < y->ino);
	return (x->pid > y->pid) - (x->pid < y->pid);
}

struct peers_index *peers_index_build(void)
{
	struct peers_index *ix = xcalloc(1, sizeof(*ix));
	DIR *d = opendir("/proc");
	if (!d)
		return ix;
	size_t scanned = 0;
	struct dirent *de;
	while ((de = readdir(d)) && scanned < PEERS_SCAN_MAX) {
		uint64_t pid;
		char path[64];
		if (!parse_uint(de->d_name, 1, INT32_MAX, &pid))
			continue;
		scanned++;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		DIR *fds = opendir(path);
		if (!fds)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fds))) {
			uint64_t fd;
			char target[64];
			unsigned long long ino;
			if (!parse_uint(fe->d_name, 0, INT32_MAX, &fd) ||
			    peers_fd_link((pid_t)pid, (int)fd, target, sizeof(target)) < 0)
				continue;
			bool pipe = sscanf(target, "pipe:[%llu]", &ino) == 1;
			if (!pipe && sscanf(target, "socket:[%llu]", &ino) != 1)
				continue;
			ix->e = xgrow(ix->e, &ix->cap, ix->n + 1, sizeof(*ix->e));
			ix->e[ix->n++] = (struct peers_entry){
				.ino = ino,
				.pid = (pid_t)pid,
				.fd = (int)fd,
				.pipe = pipe,
				.writes = !pipe || fd_writes((pid_t)pid, (int)fd),
			};
		}
		closedir(fds);
	}
	closedir(d);
	if (ix->n)
		qsort(ix->e, ix->n, sizeof(*ix->e), by_ino);
	return ix;
}

void peers_index_free(struct peers_index *ix)
{
	if (!ix)
		return;
	free(ix->e);
	free(ix);
}

size_t peers_index_holders(const struct peers_index *ix, pid_t self, uint64_t ino,
			   bool want_writers, struct pipe_holder *out, size_t max)
{
	/* The first entry of ino, by bisection; then each process once. */
	size_t lo = 0, hi = ix->n, n = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->e[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < ix->n && ix->e[i].ino == ino && n < max; i++) {
		const struct peers_entry *e = &ix->e[i];
		if (e->pid == self || e->writes != want_writers || (n && out[n - 1].pid == e->pid))
			continue;
		struct pipe_holder *h = &out[n++];
		*h = (struct pipe_holder){
			.pid = e->pid, .fd = e->fd, .writes = e->writes, .state = '?'};
		procfs_read_comm(e->pid, e->pid, h->comm, sizeof(h->comm));
		struct task_stat st;
		if (procfs_read_stat(e->pid, e->pid, &st) == 0)
			h->state = st.state;
	}
	return n;
}
