/*
 * procdump.h: one snapshot of every thread of a running process, as
 * `wallprof dump` shows it: state, the call it is blocked in and on what,
 * for how long, its stack, and whom it waits for inside the process (lock
 * owners, deadlock cycles). It is a single sampling tick: the process is
 * seized (which neither stops nor signals it), each thread is sampled the
 * cheapest exact way (blocked threads without any stop), and the tracer
 * thread, one made for the snapshot, exits, which detaches the kernel from
 * every thread without a stop.
 */
#ifndef WALLPROF_PROCDUMP_H
#define WALLPROF_PROCDUMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fds.h"
#include "peers.h"
#include "procfs.h"
#include "profile.h"
#include "waitset.h"

/* A descriptor in a waited-on set: number, events, what it is. */
struct waited_fd {
	struct wait_fd w;
	struct fd_desc desc;
	bool described;
};

/* One thread of the snapshot, with what dump adds to its sample. */
struct dump_thread {
	const struct profile_sample *s;
	const char *name;
	struct syscall_state call; /* the call as observed ... */
	bool in_call; /* ... if it is in one */
	int64_t since_ns; /* time in its blocked state; -1 unknown or running */
	int waits_for; /* index of the thread it waits for, -1 none */
	/* poll, select, epoll: the descriptors waited on, described. */
	struct waited_fd *set;
	size_t n_set, set_total;
	int set_err; /* -errno if the set could not be read, else 0 */
	/* Blocked reading or writing a pipe: the other processes holding it,
	 * preferably by the end it waits on. */
	struct pipe_holder holders[8];
	size_t n_holders;
	bool wants_writers;
};

struct dump_proc {
	pid_t pid;
	struct profile p; /* one sample per thread, sorted by tid */
	struct dump_thread *th; /* by sample */
	size_t n;
	int *cycles; /* thread indices, cycle after cycle */
	size_t *cycle_lens, n_cycles;
	size_t n_threads; /* threads found at the attach */
	size_t late; /* threads whose stop did not come: no stack */
};

/*
 * Snapshot process pid (a thread id means its process) into *out. Returns
 * 0, or the exit status (2) after saying why it could not attach: on
 * stderr, or into why (if not NULL) as one line.
 */
int procdump_take(pid_t pid, struct dump_proc *out, char *why, size_t why_size);
void procdump_release(struct dump_proc *d);

/* Does the thread wait for a lock whose owner is known? */
bool procdump_owned_lock(const struct dump_proc *d, const struct dump_thread *t);

/* The whole snapshot as text on stdout; as a JSON object (pid, command,
 * deadlocks, threads). */
void procdump_print_text(const struct dump_proc *d);
json_t *procdump_json(const struct dump_proc *d);

/* One thread's first line ("Thread 12 "name": sleeping in read for 2 s"),
 * its call and its stack, each line indented by indent spaces. */
void procdump_print_thread(const struct dump_proc *d, const struct dump_thread *t, int indent);
json_t *procdump_thread_json(const struct dump_proc *d, const struct dump_thread *t);

#endif
