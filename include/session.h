/*
 * session.h: what record, top and dump share: a tracer with its recorder
 * and sampler, started by launching a command or attaching to processes,
 * the loop that samples at each tick while handling ptrace events and the
 * user's signals, and the end (a launched command runs on to its exit; an
 * attached process is detached untouched). Each command supplies what it
 * does between ticks (struct session_ops) and with the recording after.
 *
 * Signals: SIGCHLD (ptrace events), SIGINT, SIGTERM and SIGHUP (end the
 * recording) are blocked and read through a signalfd; the tracer thread,
 * which makes every ptrace call, runs the loop.
 */
#ifndef WALLPROF_SESSION_H
#define WALLPROF_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "recorder.h"
#include "tracer.h"
#include "util.h"

struct session {
	struct recorder rec;
	struct tracer tr;
	sigset_t orig_mask; /* before session_block_signals; a launched command gets it */
	int sfd; /* signalfd, -1 until session_open_signals */
	int stop_signals; /* Ctrl-C, SIGTERM, SIGHUP received */
	unsigned hz; /* ticks per second */
	mono_ns settle_ns; /* session_finish waits this long at most for repairs in flight */
};

/* What a command does in the loop; any hook may be NULL. */
struct session_ops {
	/* Descriptors to poll besides the signals and the tick, and what to
	 * do when one is readable: false ends the loop. */
	int fds[2];
	size_t n_fds;
	bool (*ready)(struct session *s, int fd, void *ctx);
	/* After each tick's samples: false ends the loop. */
	bool (*ticked)(struct session *s, mono_ns now, void *ctx);
};

/* A timerfd that fires every ns (CLOCK_MONOTONIC, non-blocking); -1. */
int session_timer(mono_ns ns);

/* A recorder, and a tracer whose threads the sampler samples at hz. */
void session_init(struct session *s, unsigned hz);
void session_release(struct session *s);

/* Block the session's signals in the calling thread (and the threads it
 * creates after), keeping the mask before for a launched command. */
void session_block_signals(struct session *s);
/* Read them through a signalfd, in the tracer thread; -1 after saying why. */
int session_open_signals(struct session *s);

/*
 * Launch argv (if not NULL) or attach to each of pids; says why if it
 * cannot. Returns 0, or the exit status to use (2, or 126/127 for a command
 * that cannot be run).
 */
int session_start(struct session *s, char *const argv[], const pid_t *pids, size_t n_pids);

/*
 * Sample at each tick, from now (the first tick at once, before the
 * timer), until the target has ended, a stop signal comes, or a hook says
 * to stop.
 */
void session_run(struct session *s, const struct session_ops *ops, void *ctx);

/*
 * Instead of session_run, for dump: one sample of every thread, the stops
 * waited for timeout_ns at most; a thread whose stop did not come is
 * sampled as /proc shows it (sampler_sample_late). Returns how many were.
 * Then session_finish.
 */
size_t session_snapshot(struct session *s, mono_ns timeout_ns);

/* Recording is over: the stops on their way are taken (as samples of the
 * ticks that asked for them), and nothing more is sampled. */
void session_end(struct session *s);

/*
 * Then: a launched command runs on (its signals delivered as ever) until it
 * exits or a further stop signal comes; an attached process is released
 * from every repair still in flight (its detach is the tracer thread's
 * exit). Returns a launched command's exit status (128 + SIGINT if it
 * still runs), else 0.
 */
int session_finish(struct session *s);

#endif
