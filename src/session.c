/*
 * session.c: starting, sampling and ending a recording, for record, top
 * and dump. See session.h.
 */
#include "session.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "events.h"
#include "sampler.h"

void session_init(struct session *s, unsigned hz)
{
	memset(s, 0, sizeof(*s));
	s->sfd = -1;
	s->hz = hz;
	s->settle_ns = 5 * NS_PER_SEC;
	recorder_init(&s->rec);
	tracer_init(&s->tr, &s->rec);
	sampler_start(&s->tr);
	s->tr.interval_ns = NS_PER_SEC / hz;
}

void session_release(struct session *s)
{
	tracer_release(&s->tr);
	recorder_release(&s->rec);
	if (s->sfd >= 0)
		close(s->sfd);
	s->sfd = -1;
}

static void session_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void session_block_signals(struct session *s)
{
	sigset_t set;
	session_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, &s->orig_mask);
}

int session_open_signals(struct session *s)
{
	sigset_t set;
	session_signal_set(&set);
	s->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sfd < 0)
		return error_errno("cannot create a signalfd");
	return 0;
}

int session_start(struct session *s, char *const argv[], const pid_t *pids, size_t n_pids)
{
	if (argv)
		return tracer_launch(&s->tr, argv, &s->orig_mask);
	for (size_t i = 0; i < n_pids; i++)
		if (tracer_attach(&s->tr, pids[i]) < 0)
			return EXIT_FAILURE_;
	return 0;
}

/* Read the signals that came; true if one of them ends the recording,
 * *chld if a SIGCHLD says that a tracee has news. */
static bool read_signals(struct session *s, bool *chld)
{
	struct signalfd_siginfo si;
	bool stop = false;
	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			*chld = true;
		} else {
			s->stop_signals++;
			stop = true;
		}
	}
	return stop;
}

int session_timer(mono_ns ns)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct timespec every = {(time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC)};
	struct itimerspec its = {every, every};
	if (fd >= 0)
		timerfd_settime(fd, 0, &its, NULL);
	return fd;
}

/*
 * The ticks: one in each sampling interval, at a random point of it. A
 * program whose own cycle is near the interval (a thread that computes 5 ms
 * and sleeps 5 ms, sampled at 99 Hz), or that falls in step with it, would
 * be seen at the same point of its cycle tick after tick by evenly spaced
 * ticks, and its shares would be far off (seen: 14% on a CPU for 49%). At a
 * random point of each interval every moment is as likely to be sampled,
 * and there is still one tick per interval. A tick that comes late covers
 * every interval it missed (stats.ticks_missed).
 */
struct ticker {
	int fd;
	mono_ns start, interval;
	uint64_t slot; /* the interval of the next tick */
	mono_ns due; /* and its time */
	uint64_t rng;
};

static void ticker_arm(struct ticker *tk)
{
	tk->rng ^= tk->rng << 13; /* xorshift64 */
	tk->rng ^= tk->rng >> 7;
	tk->rng ^= tk->rng << 17;
	mono_ns at = tk->start + tk->slot * tk->interval + tk->rng % tk->interval;
	tk->due = at;
	struct itimerspec its = {{0, 0}, {(time_t)(at / NS_PER_SEC), (long)(at % NS_PER_SEC)}};
	timerfd_settime(tk->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static bool ticker_open(struct ticker *tk, mono_ns interval)
{
	tk->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	tk->start = mono_now();
	tk->interval = interval ? interval : 1;
	tk->slot = 1;
	tk->rng = (uint64_t)tk->start * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid() ^ 1;
	if (tk->fd >= 0)
		ticker_arm(tk);
	return tk->fd >= 0;
}

/* The timer fired: how many intervals this tick stands for (1, or one
 * more for each whole interval it came late); the next tick is armed.
 * *late: how late it came. */
static uint64_t ticker_fired(struct ticker *tk, mono_ns *late)
{
	uint64_t x;
	if (read(tk->fd, &x, sizeof(x)) != (ssize_t)sizeof(x))
		return 0;
	mono_ns now = mono_now();
	*late = now > tk->due ? now - tk->due : 0;
	uint64_t n = 1 + *late / tk->interval;
	tk->slot += n;
	ticker_arm(tk);
	return n;
}

void session_run(struct session *s, const struct session_ops *ops, void *ctx)
{
	struct tracer *tr = &s->tr;
	tr->start = mono_now();
	/* Tick zero, before the timer: the first look at each thread opens
	 * its /proc files and unwinds every blocked stack (a few hundred
	 * milliseconds with a thousand threads); later ticks reuse all that. */
	s->rec.stats.ticks++;
	tracer_drain(tr); /* group-stops of a process stopped when seized */
	sampler_tick(tr);
	tracer_drain(tr);
	struct ticker tk;
	if (!ticker_open(&tk, tr->interval_ns)) {
		error_errno("cannot create a timer");
		return;
	}
	struct pollfd pfd[4] = {{s->sfd, POLLIN, 0}, {tk.fd, POLLIN, 0}};
	size_t n = 2;
	for (size_t i = 0; ops && i < ops->n_fds && n < ARRAY_SIZE(pfd); i++)
		pfd[n++] = (struct pollfd){ops->fds[i], POLLIN, 0};
	bool go = true;
	while (go && !tr->target_exited && !s->stop_signals) {
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		/* waitpid(-1) looks at every tracee (a thousand threads: tens
		 * of microseconds): only when a SIGCHLD says there is news. The
		 * signalfd is read first, so news after the drain wakes us. */
		bool chld = false;
		if (pfd[0].revents && read_signals(s, &chld))
			break;
		if (chld)
			tracer_drain(tr);
		mono_ns late = 0;
		uint64_t expirations = pfd[1].revents ? ticker_fired(&tk, &late) : 0;
		if (expirations) {
			s->rec.stats.tick_late_ns += late;
			s->rec.stats.ticks += expirations;
			s->rec.stats.ticks_missed += expirations - 1;
			if (!tr->target_exited)
				sampler_tick(tr);
			/* The tick's stops each raised a SIGCHLD: take them
			 * before the drain, so they wake nobody after it. */
			read_signals(s, &chld);
			tracer_drain(tr);
			if (ops && ops->ticked)
				go = ops->ticked(s, mono_now(), ctx);
		}
		for (size_t i = 2; go && i < n; i++)
			if (pfd[i].revents)
				go = ops->ready(s, pfd[i].fd, ctx);
	}
	close(tk.fd);
}

size_t session_snapshot(struct session *s, mono_ns timeout_ns)
{
	struct tracer *tr = &s->tr;
	tr->start = mono_now();
	/* A process stopped by job control re-traps at the seize: take that
	 * group-stop first, so its threads are sampled as stopped. */
	tracer_drain(tr);
	sampler_tick(tr);
	tracer_wait_pending(tr, timeout_ns);
	size_t late = sampler_sample_late(tr);
	tr->passive = true;
	sampler_finish(tr);
	return late;
}

void session_end(struct session *s)
{
	struct tracer *tr = &s->tr;
	/* Stops still on their way are samples of ticks already counted. */
	if (!tr->target_exited)
		tracer_wait_pending(tr, 100 * 1000 * 1000ULL);
	if (tr->events)
		events_finish_open(tr); /* calls still open, as unfinished */
	tr->passive = true;
	sampler_finish(tr);
}

int session_finish(struct session *s)
{
	struct tracer *tr = &s->tr;
	if (!tr->launched) {
		tracer_settle(tr, s->settle_ns);
		return 0;
	}
	int seen = s->stop_signals;
	struct pollfd pfd = {s->sfd, POLLIN, 0};
	while (!tr->target_exited) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			break;
		bool chld = false;
		if (pfd.revents && read_signals(s, &chld) && s->stop_signals > seen)
			break;
		tracer_drain(tr);
	}
	return tr->target_exited ? tr->exit_status : 128 + SIGINT;
}
