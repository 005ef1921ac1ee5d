/*
 * fuzz_procfs: the parsers of /proc text (stat, schedstat, syscall, maps,
 * sched, status fields, fdinfo flags and epoll interest lists, /proc/net
 * tables) on crafted text: a hostile or truncated file must
 * yield an error, never an out-of-bounds read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fds.h"
#include "procfs.h"
#include "waitset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *ctx, uint64_t inode, const char *desc)
{
	(void)ctx;
	(void)inode;
	(void)strlen(desc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct task_stat st;
	struct schedstat ss;
	struct syscall_state sc;
	struct map_entry *maps;
	size_t n;
	uint64_t ns;
	procfs_parse_stat(text, &st);
	procfs_parse_schedstat(text, &ss);
	procfs_parse_syscall(text, &sc);
	if (procfs_parse_maps(text, &maps, &n) == 0)
		procfs_free_maps(maps, n);
	procfs_parse_sched_exec_start(text, &ns);
	procfs_parse_status_hex(text, "SigPnd", &ns);
	procfs_parse_status_int(text, "Tgid", &ns);
	procfs_parse_fdinfo_flags(text, &ns);
	uint64_t ids[8];
	procfs_parse_status_ids(text, "NSpid", ids, 8);
	pid_t kids[16];
	procfs_parse_children(text, kids, 16);
	fds_parse_inet(text, "tcp", false, ignore, NULL);
	fds_parse_inet(text, "udp", true, ignore, NULL);
	fds_parse_unix(text, ignore, NULL);
	struct wait_fd w[4];
	size_t total;
	int got = waitset_parse_epoll(text, w, 4, &total);
	if (got < 0 || got > 4 || (size_t)got > total)
		abort(); /* stored more than it was given room for, or than it counted */
	free(text);
	return 0;
}
