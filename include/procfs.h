/*
 * procfs.h: parsers for the /proc files the sampler reads on every tick
 * (stat, schedstat, syscall, kept open and re-read with pread) and for the
 * ones read once in a while (task lists, comm, maps).
 *
 * Parsers take text and never trust it: a crafted or truncated file yields
 * an error, never an out-of-bounds read.
 */
#ifndef WALLPROF_PROCFS_H
#define WALLPROF_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* /proc/TID/schedstat: time on CPU, time waiting on a runqueue, slices. */
struct schedstat {
	uint64_t run_ns;
	uint64_t wait_ns;
	uint64_t slices;
};

/*
 * /proc/TID/syscall: "running", or "-1 SP PC" (blocked outside a syscall),
 * or "NR A0..A5 SP PC".
 */
struct syscall_state {
	bool running; /* on a CPU: no syscall information */
	long nr; /* -1 when blocked outside a syscall */
	uint64_t args[6];
	uint64_t sp, pc;
};

/* Fields of /proc/TID/stat: state letter and comm. */
struct task_stat {
	char state;
	char comm[64];
	pid_t ppid; /* its parent process */
	int cpu; /* the CPU it last ran on (field 39), -1 if absent */
};

int procfs_parse_stat(const char *text, struct task_stat *out);
int procfs_parse_schedstat(const char *text, struct schedstat *out);
int procfs_parse_syscall(const char *text, struct syscall_state *out);

/*
 * se.exec_start of /proc/TID/sched (CONFIG_SCHED_DEBUG), in ns of the
 * scheduler clock: when a sleeping thread last ran. 0 or -EINVAL.
 */
int procfs_parse_sched_exec_start(const char *text, uint64_t *ns);

/*
 * A field of /proc/PID/status: "SigPnd:\t0000000000000200" (hex masks) or
 * "Tgid:\t1234" (decimal). 0, or -EINVAL if absent or malformed.
 */
int procfs_parse_status_hex(const char *text, const char *name, uint64_t *out);
int procfs_parse_status_int(const char *text, const char *name, uint64_t *out);
/* Every decimal of a field with several ("Uid:\t0\t0\t0\t0", "NSpid:\t12\t1"),
 * at most max: how many. */
int procfs_parse_status_ids(const char *text, const char *name, uint64_t *out, int max);
/* The text of /proc/PID/status (tid 0) or /proc/PID/task/TID/status,
 * malloc'ed; NULL if it is gone. */
char *procfs_read_status(pid_t pid, pid_t tid);
/* The size of a process's address space in pages (the first field of
 * /proc/PID/statm): 0, or -errno if it cannot be read. */
int procfs_read_vm_pages(pid_t pid, uint64_t *pages);
/* /proc/PID/task/TID/stat, read and parsed: 0, or -errno if it is gone. */
int procfs_read_stat(pid_t pid, pid_t tid, struct task_stat *st);
/*
 * A thread's state and, unless it is running, its call: /proc/PID/task/TID
 * stat and syscall, read once (sc says running, nr -1, if the call cannot
 * be read). 0, or -errno if the thread is gone.
 */
int procfs_read_task(pid_t pid, pid_t tid, struct task_stat *st, struct syscall_state *sc);
/* The open flags of /proc/PID/fdinfo/FD ("flags:\t0100002", octal). */
int procfs_parse_fdinfo_flags(const char *text, uint64_t *out);

/* A process's arguments, without the padding a rewritten title leaves
 * (trailing empty arguments and spaces): argc, and a malloc'ed argv of
 * malloc'ed strings in *argv_out (NULL if none). */
int procfs_read_argv(pid_t pid, char ***argv_out);
/* A live process's title as ps shows it: its arguments, the padding a
 * rewritten title leaves removed (its [comm] if it has none),
 * malloc'ed; NULL if it is gone. */
char *procfs_read_title(pid_t pid);

/* List the tids of /proc/PID/task into a malloc'ed array; -errno on error. */
int procfs_list_tasks(pid_t pid, pid_t **tids_out, size_t *n_out);

/* The pids in the text of /proc/PID/task/TID/children ("12 34 "), at most
 * max: how many. */
size_t procfs_parse_children(const char *text, pid_t *out, size_t max);
/* The children a thread has forked, from that file, into a malloc'ed
 * array (to free even when empty): how many. */
size_t procfs_read_children(pid_t pid, pid_t tid, pid_t **out);

/* /proc/PID/task/TID/comm into buf (newline stripped); -errno. */
int procfs_read_comm(pid_t pid, pid_t tid, char *buf, size_t size);

/* One line of /proc/PID/maps. */
struct map_entry {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	char perms[5];
	char *path; /* owned; NULL for anonymous mappings */
};

/* Parse the text of a maps file; entries are malloc'ed, free with procfs_free_maps. */
int procfs_parse_maps(const char *text, struct map_entry **out, size_t *n_out);
void procfs_free_maps(struct map_entry *maps, size_t n);

#endif
