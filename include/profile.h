/*
 * profile.h: the profile, wallprof's one data model. `record` fills it and
 * writes it as versioned JSON (docs/profile-format.md); every view (report,
 * folded, ...) reads it back and needs nothing else, not even the target.
 */
#ifndef WALLPROF_PROFILE_H
#define WALLPROF_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "states.h"

#define PROFILE_FORMAT "wallprof-profile"
#define PROFILE_VERSION 2

/* A process sampled: its title as ps shows it (/proc/PID/cmdline, as the
 * program may have rewritten it) and its executable, as last read. */
struct profile_process {
	int pid;
	char *title; /* owned; "" if never read */
	char *exe; /* owned; "" if unknown */
};

struct profile_thread {
	int tid;
	int pid; /* its process; 0 if not recorded (older profiles) */
	char **names; /* every name the thread had, in order; owned */
	size_t n_names;
	uint64_t first_ns, last_ns; /* relative to the profile start */
	uint64_t samples;
};

struct profile_frame {
	char *function; /* demangled; "module+0xoff" when unknown */
	char *module; /* basename of the binary, or NULL */
	char *file; /* source file, or NULL */
	int line; /* 0 if unknown */
	bool inlined; /* an inlined call inside the next (outer) frame */
	uint64_t address;
};

struct profile_stack {
	uint32_t *frames; /* innermost first; owned */
	uint32_t n;
	bool truncated;
};

struct profile_sample {
	uint64_t t_ns; /* since the profile start */
	int32_t tid;
	uint32_t stack;
	uint8_t state; /* enum sample_state */
	int16_t syscall; /* x86_64 number, -1 if none */
	int32_t object; /* what the call waits on (profile.objects), -1 if none */
	int32_t owner; /* tid holding the lock waited for, 0 if none or unknown */
};

/* A file, pipe, socket or lock that threads waited on. */
struct profile_object {
	char *kind; /* "file", "pipe", "socket", "eventfd", ..., "lock" */
	char *name; /* path, "tcp 127.0.0.1:5000 -> ...", lock symbol or "heap 0x..." */
	int fd; /* the descriptor it was first seen as, -1 for locks */
	uint64_t address; /* lock: the futex word's address; 0 otherwise */
	char *lock_kind; /* lock: "mutex", "condvar", "join", ... (locks.h); else NULL */
	uint64_t bytes_read, bytes_written; /* by traced calls (events) only */
	uint64_t traced_calls, traced_ns; /* traced calls on it and their total time */
	/* A pipe or socket: the recorded process at its other end (holding
	 * the pipe's other end, or the socket's peer) when it was first
	 * seen; 0 if none or not looked for. */
	int32_t peer_pid;
};

/* Exact counts of one traced syscall. */
struct profile_syscall {
	int nr;
	uint64_t count, errors;
	uint64_t total_ns, max_ns, p50_ns, p99_ns;
};

/* One traced call kept individually (longer than the threshold). */
struct profile_event {
	uint64_t t_ns; /* entry, since the profile start */
	uint64_t duration_ns;
	int32_t tid;
	int16_t syscall;
	uint64_t args[6];
	int64_t result; /* return value, or -errno */
	uint32_t stack; /* at the call; UINT32_MAX if none */
	int32_t object; /* -1 if none */
	int32_t owner; /* lock waits: the owner at entry, 0 if unknown */
	bool unfinished; /* still in the call when recording ended */
	/* A poll, select or epoll wait: the descriptors it waited on, as
	 * 1 + an index in profile.wait_sets; 0 if not known. */
	uint32_t wait_set;
};

/* What exact tracing the run did, if any. */
struct profile_tracing {
	bool syscalls, locks;
	char *method; /* "seccomp" or "ptrace" */
	uint64_t threshold_ns;
	char **names; /* traced syscall names; owned */
	size_t n_names;
};

struct profile_binary {
	char *path;
	char *build_id; /* hex or NULL */
	uint64_t start, end;
	bool has_symbols; /* any symbol table at all */
	bool symtab; /* a full one (.symtab, here or in a debug file), not only .dynsym */
	bool unwind_tables; /* .eh_frame found (with or without its header) */
	bool has_debuginfo; /* DWARF found (file:line, inlines) */
	bool unoptimized; /* DW_AT_producer says -O0 */
	char *producer; /* one DW_AT_producer, NULL if none */
};

struct profile_stats {
	uint64_t ticks, ticks_missed;
	/* How late the ticks that ran were, summed: the sampling thread's
	 * wait for a CPU, mostly. States read late lean away from runnable. */
	uint64_t tick_late_ns;
	/* How each sample was taken; these six add up to samples. */
	uint64_t samples;
	uint64_t stops; /* threads actually stopped with ptrace: a sample each */
	uint64_t late_samples; /* ticks a stop was still on its way for */
	uint64_t reused; /* samples that reused the last stack: no stop */
	uint64_t nostop; /* samples unwound from /proc/TID/syscall: no stop */
	uint64_t pc_only; /* blocked threads whose stack could not be copied */
	uint64_t clock_vouched; /* ticks where the process clock vouched for quiet threads */
	uint64_t late_stops;
	uint64_t stops_skipped; /* running threads sampled without a stop (--max-overhead) */
	uint64_t stop_ns_p50, stop_ns_p99, stop_ns_max;
	uint64_t unwind_errors; /* samples whose stack is truncated */
	uint64_t eintr_risk; /* interrupted calls the target saw fail or stop short (0) */
	uint64_t eintr_repaired; /* calls our stops failed with EINTR, run again */
	uint64_t transfers_continued; /* transfers our stops cut short, completed */
	uint64_t threads_lost; /* ticks where a thread could not be read */
	uint64_t symbolize_ns; /* symbolization at the end of recording */
};

struct profile {
	/* metadata */
	char **argv;
	int argc;
	int pid;
	char *mode; /* "launch" or "attach" */
	uint64_t start_unix_ns;
	uint64_t duration_ns;
	unsigned frequency_hz;
	char *host, *kernel, *version;
	int cpus;
	int exit_status; /* launched command's status as wallprof returns it, -1 otherwise */

	struct profile_thread *threads;
	size_t n_threads;
	struct profile_process *processes; /* absent in older profiles: 0 */
	size_t n_processes;
	struct profile_frame *frames;
	size_t n_frames;
	struct profile_stack *stacks;
	size_t n_stacks;
	struct profile_sample *samples;
	size_t n_samples, cap_samples;
	/* The samples are already in the file being written (recorder_stream):
	 * samples is NULL and profile_write_json writes the rest. */
	bool samples_streamed;
	/* Read from a recording cut short (wallprof killed): samples only,
	 * no stacks, names or metadata. */
	bool partial;
	struct profile_binary *binaries;
	size_t n_binaries;
	struct profile_object *objects;
	size_t n_objects;
	struct profile_syscall *syscalls; /* exact counts, when traced */
	size_t n_syscalls;
	struct profile_event *events;
	size_t n_events;
	char **wait_sets; /* the events' wait sets, each text once; owned */
	size_t n_wait_sets;
	struct profile_tracing tracing;
	struct profile_stats stats;
};

void profile_init(struct profile *p);
void profile_release(struct profile *p);

/* Write as JSON. 0 or -1 with errno. */
int profile_write_json(const struct profile *p, FILE *f);
/* For streaming: the document's head up to the open samples array, and one
 * sample row (first: no separator before it). */
/* What the head of a streamed profile says before any sample: enough to
 * read a recording cut short with its true rate and start. */
struct profile_head {
	unsigned frequency_hz;
	uint64_t start_unix_ns;
	int pid;
};
void profile_write_head(FILE *f, const struct profile_head *h);
void profile_write_sample(FILE *f, const struct profile_sample *s, bool first);

/*
 * Read and validate a profile. On failure returns -1 and a one-line reason
 * in err (e.g. "not a wallprof profile", "samples[3]: stack 99 out of range").
 */
int profile_read_json(const char *path, struct profile *p, char *err, size_t err_size);

/* The thread with this tid, or NULL. */
const struct profile_thread *profile_find_thread(const struct profile *p, int tid);
/* The process record of pid, or NULL. */
const struct profile_process *profile_find_process(const struct profile *p, int pid);
/* The thread's display name: its last name, or "?" */
const char *profile_thread_name(const struct profile_thread *t);
/* The descriptors the event's wait waited on ("fd 3 in, fd 7 in|out"), or
 * NULL if it is no such wait or they are not known. */
const char *profile_event_wait_set(const struct profile *p, const struct profile_event *e);

#endif
