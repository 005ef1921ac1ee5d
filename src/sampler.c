/*
 * sampler.c: the sampling round. See sampler.h for the three ways a thread
 * is sampled; this file decides which one applies.
 */
#include "sampler.h"

#include "attribute.h"
#include "events.h"
#include "snapshot.h"
#include "symbols.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long one stop may take before we move on and take it late. */
#define STOP_TIMEOUT_NS (1000 * 1000ULL)

/* A thread to stop, and what it was doing as read just before. */
struct stop_request {
	pid_t tid;
	struct activity what;
	bool was_blocked; /* re-read its schedstat after the stop */
};

struct observation {
	struct task_stat st;
	struct schedstat ss;
	struct syscall_state sc;
	struct activity what;
};

static bool read_schedstat(const struct thread *t, struct schedstat *ss)
{
	char buf[128];
	return t->fd_schedstat >= 0 && pread_text(t->fd_schedstat, buf, sizeof(buf)) > 0 &&
	       procfs_parse_schedstat(buf, ss) == 0;
}

/* How a sample was taken: each counts in its own stats field, and the six
 * add up to stats.samples (docs/profile-format.md). */
enum sample_source { AT_STOP, LATE, REUSED, NOSTOP, PC_ONLY, SKIPPED };

/* Record a sample of t; its stack and activity stand for it until it runs. */
static void sample_record(struct tracer *tr, struct thread *t, enum sample_source how,
			  uint32_t stack, const struct activity *what, mono_ns when)
{
	struct profile_stats *st = &tr->rec->stats;
	uint64_t *counter[] = {
		[AT_STOP] = &st->stops, [LATE] = &st->late_samples, [REUSED] = &st->reused,
		[NOSTOP] = &st->nostop, [PC_ONLY] = &st->pc_only,   [SKIPPED] = &st->stops_skipped,
	};
	(*counter[how])++;
	snapshot_record(tr, t, stack, what, when);
	t->smp->last_stack = stack;
	t->smp->last = *what;
	t->smp->have_last = true;
}

/*
 * One more sample of a thread in state R: on a CPU if its on-CPU samples so
 * far fall short of its share of all its R samples, the share being its
 * time on a CPU over its time on a CPU or waiting for one, summed over the
 * whole recording (struct run_split).
 */
static enum sample_state run_state(struct run_split *r)
{
	r->samples++;
	double share =
		r->run_ns + r->wait_ns ? (double)r->run_ns / (double)(r->run_ns + r->wait_ns) : 1.0;
	if ((double)r->oncpu + 0.5 <= share * (double)r->samples) {
		r->oncpu++;
		return ST_ONCPU;
	}
	return ST_RUNNABLE;
}

void run_split_add(struct run_split *r, const struct schedstat *from, const struct schedstat *to)
{
	if (to->run_ns >= from->run_ns && to->wait_ns >= from->wait_ns) {
		r->run_ns += to->run_ns - from->run_ns;
		r->wait_ns += to->wait_ns - from->wait_ns;
	}
}

enum sample_state sampler_classify(char state, const struct syscall_state *sc,
				   struct run_split *split, const struct schedstat *prev,
				   const struct schedstat *now)
{
	if (prev)
		run_split_add(split, prev, now);
	switch (state) {
	case 'R': {
		/* On a CPU or waiting for one. /proc cannot tell which at this
		 * instant, and a stop cannot either: on a busy machine our own
		 * tick takes a CPU from some thread (docs/states.md). schedstat
		 * tells exactly how the thread's time split between the two
		 * over the recording, and its R samples are split the same
		 * way, within one sample, where a vote over the last interval
		 * gave all of them to the larger side. */
		return run_state(split);
	}
	case 'D': return ST_DISK;
	case 'S': return sc->nr >= 0 ? syscall_wait_state(sc->nr, sc->args) : ST_OTHER;
	case 'T': return ST_STOPPED;
	default: return ST_OTHER;
	}
}

/*
 * A thread in a ptrace stop (state t) is in one of ours: tracees have one
 * tracer. It is not stopped to the program: while a traced call waits for
 * us it is in that call, a group-stop is the user's Ctrl-Z, and any other
 * stop (an event, a signal being delivered) came as it ran.
 */
static void classify_traced(const struct thread *t, struct observation *o)
{
	const struct open_event *ev = events_open_call(t);
	if (t->group_stopped) {
		o->what.state = ST_STOPPED;
	} else if (ev) {
		o->what.state = (uint8_t)syscall_wait_state(ev->nr, ev->args);
		o->what.syscall = ev->nr;
	} else {
		o->what.state = ST_ONCPU;
	}
}

/* What is known of a thread's call before /proc/TID/syscall is read, or
 * when it cannot be: nothing, as of a thread on a CPU. */
static const struct syscall_state no_call = {.running = true, .nr = -1};

/* Observe t through /proc; pre, if not NULL, is its schedstat read just now. */
static bool observe(struct tracer *tr, struct thread *t, const struct schedstat *pre,
		    struct observation *o)
{
	char buf[1024];
	if (t->fd_stat < 0 && !thread_open_proc(tr, t))
		return false;
	if (pread_text(t->fd_stat, buf, sizeof(buf)) <= 0 || procfs_parse_stat(buf, &o->st) < 0)
		return false;
	if (pre)
		o->ss = *pre;
	else if (!read_schedstat(t, &o->ss))
		memset(&o->ss, 0, sizeof(o->ss));
	o->sc = no_call;
	/* Reading /proc/TID/syscall of a running thread waits for it to
	 * leave the CPU; it tells nothing then anyway. */
	if (o->st.state != 'R') {
		if (pread_text(t->fd_syscall, buf, sizeof(buf)) <= 0 ||
		    procfs_parse_syscall(buf, &o->sc) < 0)
			o->sc = no_call;
		/* A 32-bit program's numbers are i386's: not to be named with
		 * x86_64's table. Blocked, in a call we do not name. */
		if (t->proc->compat32 && o->sc.nr >= 0)
			o->sc.nr = -1;
	}
	o->what.object = -1;
	o->what.owner = 0;
	if (o->sc.nr == SYS_restart_syscall && t->smp->restarted.syscall < 0) {
		long nr = addrspace_restarted_call(&t->proc->as, o->sc.pc);
		if (nr >= 0)
			o->sc.nr = nr;
	}
	o->what.state =
		(uint8_t)sampler_classify(o->st.state, &o->sc, &t->smp->run_split,
					  t->smp->have_last ? &t->smp->last_ss : NULL, &o->ss);
	o->what.syscall = (o->st.state == 'S' || o->st.state == 'D') && o->sc.nr >= 0
				  ? (int16_t)o->sc.nr
				  : -1;
	if (o->st.state == 't')
		classify_traced(t, o);
	if (o->sc.nr == SYS_restart_syscall && t->smp->restarted.syscall >= 0) {
		/* Our stop turned the call into restart_syscall: to the
		 * thread it is still the call it was in. */
		o->what = t->smp->restarted;
	} else if (o->sc.nr >= 0) {
		t->smp->restarted.syscall = -1;
		if (o->what.syscall >= 0)
			attribute_call(tr, t, o->sc.nr, o->sc.args, &o->what);
	}
	return true;
}

/*
 * Sample a blocked thread without stopping it. Returns true if a sample
 * was recorded; false if the unwind was not complete and a stop may do
 * better (may_stop: one is allowed), or if the thread was found running
 * when looked at again (a stop is then what any running thread gets).
 */
static bool sample_nostop(struct tracer *tr, struct thread *t, struct observation *o, bool may_stop,
			  mono_ns now)
{
	struct user_regs_struct regs;
	memset(&regs, 0, sizeof(regs));
	regs.rsp = o->sc.sp;
	regs.rip = o->sc.pc;
	size_t window = t->copy_window;
	for (int attempt = 0; attempt < 3; attempt++) {
		if (stack_copy_read(t->tid, o->sc.sp, window, tr->stack) < 0)
			break;
		/* Consistent only if the thread did not run during the copy. */
		struct schedstat after;
		if (!read_schedstat(t, &after) || after.run_ns != o->ss.run_ns ||
		    after.slices != o->ss.slices) {
			if (may_stop)
				return false;
			/* Woken meanwhile: look again, it may be blocked anew. */
			if (!observe(tr, t, NULL, o))
				break;
			/* Running now: stopped like any running thread (its
			 * pc alone would be 0). */
			if (o->sc.running || o->sc.nr < 0)
				return false;
			regs.rsp = o->sc.sp;
			regs.rip = o->sc.pc;
			continue;
		}
		struct unwind_result res;
		unwinder_unwind(proc_unwinder(t->proc), &regs, false, tr->stack, &res);
		if (res.overrun && window < STACK_COPY_MAX) {
			/* Nothing is stopped here, so a second, whole copy is free. */
			window = STACK_COPY_MAX;
			continue;
		}
		t->copy_window = stack_copy_window(window, res.stack_used, res.overrun);
		if (res.truncated && may_stop)
			return false;
		uint32_t id = snapshot_intern(tr, t, res.ips, (uint32_t)res.n, res.truncated);
		sample_record(tr, t, NOSTOP, id, &o->what, now);
		return true;
	}
	/* Nothing better is possible without a stop we may not take: record
	 * the pc alone, marked truncated. */
	uint64_t pc = o->sc.pc;
	uint32_t id = snapshot_intern(tr, t, &pc, 1, true);
	sample_record(tr, t, PC_ONLY, id, &o->what, now);
	return true;
}

/*
 * The fast path: a thread that has not run since its last sample (same
 * on-CPU time and timeslice count) cannot have changed its stack, its call
 * or its state: every change of state, name or syscall takes running. Its
 * last sample stands. The one transition that needs no running is a
 * wake-up: a woken thread waiting for a CPU keeps its previous state until
 * it gets one.
 */
static void sample_reuse(struct tracer *tr, struct thread *t, mono_ns now)
{
	/* Unchanged, except that the other end of what it waits on may have
	 * turned up (a server's accept returned). */
	if (t->peer_retry_at && now >= t->peer_retry_at && t->smp->last.syscall >= 0)
		attribute_call(tr, t, t->smp->last_sc.nr, t->smp->last_sc.args, &t->smp->last);
	sample_record(tr, t, REUSED, t->smp->last_stack, &t->smp->last, now);
}

/*
 * Sample one thread that the process clock did not vouch for; pre is its
 * schedstat read this tick, or NULL. Returns true, with *stop filled in, if
 * the thread must be stopped.
 */
/*
 * --max-overhead: each thread may spend at most that share of wall time
 * stopped. A token bucket per thread fills at that share of the time passed
 * (up to 10 ms) and each stop spends its duration; a running thread whose
 * bucket is empty is sampled without a stop (and without a stack).
 */
static bool within_budget(struct tracer *tr, struct thread *t, mono_ns now)
{
	if (tr->max_overhead <= 0)
		return true;
	if (!t->smp->budget_t)
		t->smp->budget_t = now;
	t->smp->budget_ns += (int64_t)((double)(now - t->smp->budget_t) * tr->max_overhead);
	t->smp->budget_t = now;
	if (t->smp->budget_ns > 10 * 1000 * 1000)
		t->smp->budget_ns = 10 * 1000 * 1000;
	return t->smp->budget_ns > 0;
}

static bool sample_thread(struct tracer *tr, struct thread *t, const struct schedstat *pre,
			  struct stop_request *stop)
{
	t->smp->quiet = false;
	if (t->want_stop) {
		t->smp->owed++; /* a late stop is still on its way */
		return false;
	}
	struct schedstat ss;
	if (!pre && t->smp->have_last && t->fd_schedstat >= 0 && read_schedstat(t, &ss))
		pre = &ss;
	/* A thread last seen running is never taken as unchanged: the
	 * kernel adds to its on-CPU time only at scheduler ticks and switches,
	 * so a thread running on without either looks as if it had not run. */
	bool was_running = t->smp->last.state == ST_ONCPU || t->smp->last.state == ST_RUNNABLE;
	if (pre && t->smp->have_last && !was_running && pre->run_ns == t->smp->last_ss.run_ns &&
	    pre->slices == t->smp->last_ss.slices) {
		sample_reuse(tr, t, mono_now());
		t->smp->quiet = true;
		return false;
	}
	struct observation o;
	if (!observe(tr, t, pre, &o)) {
		tr->rec->stats.threads_lost++;
		return false;
	}
	t->smp->last_sc = o.sc;
	if (o.st.state == 'Z' || o.st.state == 'X' || o.st.state == 'x') {
		/* A main thread that called pthread_exit: its /proc files
		 * are empty now, the other threads' are not. */
		if (t->tid == t->proc->as.pid)
			proc_reread_through(tr, t->proc, t);
		return false;
	}
	mono_ns now = mono_now();
	if (strcmp(t->comm, o.st.comm)) {
		snprintf(t->comm, sizeof(t->comm), "%s", o.st.comm);
		if (t->info != UINT32_MAX)
			recorder_thread_rename(tr->rec, t->info, t->comm);
	}

	struct schedstat prev = t->smp->last_ss;
	t->smp->last_ss = o.ss;
	if (o.st.state != 'R' && !o.sc.running) {
		/* A thread in disk wait cannot be stopped before its wait ends:
		 * the stop comes late, at the call's return, and disturbs
		 * nothing (the call is not interrupted). */
		bool may_stop = !repair_in_flight(&t->repair) &&
				(o.st.state == 'D' ||
				 syscall_interrupt_is_safe(t->proc->pid, o.st.state, &o.sc));
		/* Exact tracing of an attached process: a thread that has not
		 * stopped since the attach runs free of syscall stops. One
		 * that was in no state to be interrupted then is armed at the
		 * first wait where an interrupt is rewound (tracer_arm_syscalls). */
		bool arm = tr->events && tr->events->method == TRACE_PTRACE && !t->syscall_stops &&
			   !repair_in_flight(&t->repair) && o.st.state == 'S' &&
			   syscall_waits_forever(o.sc.nr, o.sc.args);
		/* Attached --locks (TRACE_WATCH): a futex wait seen here is
		 * stopped once and followed to its end (events_watch);
		 * the kernel restarts the wait. */
		bool watch = tr->events && tr->events->method == TRACE_WATCH && !tr->passive &&
			     !events_open_call(t) && !repair_in_flight(&t->repair) &&
			     o.st.state == 'S' && o.what.state == ST_LOCK && o.sc.nr == SYS_futex;
		if (watch)
			events_watch(t, now, o.sc.args[0], &o.what);
		if (!arm && !watch && sample_nostop(tr, t, &o, may_stop, now))
			return false;
		t->smp->last_sc = o.sc; /* as the stop is asked for (stop_found_it) */
		*stop = (struct stop_request){t->tid, o.what, true};
		t->smp->last_ss = prev; /* the stop re-baselines it */
		return true;
	}
	if (o.st.state == 'R') {
		o.what.syscall = -1;
		if (repair_in_flight(&t->repair) && t->smp->have_last) {
			/* Inside a write we continued (repair.h): no stop until
			 * it returns, and its stack is the one of that stop. */
			sample_record(tr, t, REUSED, t->smp->last_stack, &o.what, now);
			return false;
		}
		if (!within_budget(tr, t, now)) {
			/* Over --max-overhead: the state is still sampled, exactly;
			 * the stack is not, and the profile says so. */
			sample_record(tr, t, SKIPPED, snapshot_marker(tr, STACK_SKIPPED_ADDR),
				      &o.what, now);
			return false;
		}
		*stop = (struct stop_request){t->tid, o.what, false};
		return true;
	}
	/* Blocked, but its call could not be read: /proc/TID/syscall says
	 * "running" when the thread moved while it was read. It is about to
	 * run or has just run: stop it like a running thread. Stops are
	 * checked for what they did to a call (repair.h). */
	if ((o.st.state == 'S' || o.st.state == 'D') && !repair_in_flight(&t->repair) &&
	    within_budget(tr, t, now)) {
		*stop = (struct stop_request){t->tid, o.what, false};
		return true;
	}
	/* Stopped by job control without syscall information: keep the last
	 * stack if there is one, never stop it. */
	if (t->smp->have_last) {
		sample_record(tr, t, REUSED, t->smp->last_stack, &o.what, now);
	}
	return false;
}

/*
 * One clock read for every quiet thread. The process CPU-time clock
 * (clock_getcpuclockid(3), readable for any process) is the sum of the
 * on-CPU time of all its threads, live and exited: the same counter
 * (sum_exec_runtime) as the first field of each thread's schedstat. If
 * since the last tick it grew by exactly what the threads we read grew by,
 * no other thread ran, and each quiet thread's last sample stands without a
 * single read of its own: 200 parked threads cost one clock read (a few
 * microseconds) instead of 200 preads.
 *
 * This can only err on the safe side. The base is a clock value and, for
 * each thread, a reading taken after it; a check is the readings of this
 * tick and then the clock. Every term only grows, so the clock's growth
 * since the base is at least what the readings grew by, and more if a quiet
 * thread ran, a read thread ran after its reading (now or at the base), or
 * a thread was born or exited unseen. Equality rules all of that out; any
 * difference, or a thread without a reading, costs the per-thread reads.
 * Readings need not be simultaneous: no window where nothing runs is
 * needed, which busy threads on every CPU would seldom leave.
 */
/*
 * Reading the process clock sums every thread in the kernel: 65 us for a
 * thousand threads, most of a tick's cost for them. While some timer runs
 * on that clock, the kernel keeps the sum as it goes (one atomic add where
 * it already accounts the time, as for setitimer(ITIMER_PROF)) and a read
 * is one load. A timer of ours on the target's clock, due after 2^32 s of
 * CPU time, does just that. Nothing in the target sees it, and it ends
 * with sampler_finish or with wallprof. If it cannot be set, reads sum.
 */
static void group_timer_stop(struct sample_proc *sp)
{
	if (sp->group_timer_set)
		timer_delete(sp->group_timer);
	sp->group_timer_set = false;
}

static void group_clock_open(struct proc *pr)
{
	pr->smp->group_clock_state =
		clock_getcpuclockid(pr->pid, &pr->smp->group_clock) == 0 ? 1 : -1;
	if (pr->smp->group_clock_state < 0)
		return;
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGURG};
	struct itimerspec its = {.it_value = {(time_t)1 << 32, 0}};
	if (timer_create(pr->smp->group_clock, &sev, &pr->smp->group_timer) < 0)
		return;
	pr->smp->group_timer_set = true;
	if (timer_settime(pr->smp->group_timer, 0, &its, NULL) < 0)
		group_timer_stop(pr->smp);
}

void sampler_finish(struct tracer *tr)
{
	for (size_t i = 0; i < tr->n_procs; i++)
		if (tr->procs[i]->smp)
			group_timer_stop(tr->procs[i]->smp);
}

static bool group_read(struct proc *pr, uint64_t *ns)
{
	if (pr->smp->group_clock_state == 0)
		group_clock_open(pr);
	struct timespec ts;
	if (pr->smp->group_clock_state < 0 || clock_gettime(pr->smp->group_clock, &ts) < 0)
		return false;
	*ns = (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
	return true;
}

/* Read schedstat of the threads with quiet == which; add their growth since
 * their base to *grown; false if some thread has no base or no reading. */
static bool read_pre(struct tracer *tr, const struct proc *pr, bool which, uint64_t *grown)
{
	bool all = true;
	for (size_t i = 0; i < tr->n_threads; i++) {
		struct thread *t = tr->threads[i];
		if (t->smp->quiet != which || t->proc != pr)
			continue;
		t->smp->have_pre = t->fd_schedstat >= 0 && read_schedstat(t, &t->smp->pre_ss);
		if (t->smp->have_pre && t->smp->base_valid &&
		    t->smp->pre_ss.run_ns >= t->smp->base_run_ns)
			*grown += t->smp->pre_ss.run_ns - t->smp->base_run_ns;
		else
			all = false;
	}
	return all;
}

/* Take the readings of this tick as the new base, at clock value g. */
static void group_rebase(struct tracer *tr, struct proc *pr, uint64_t g, bool vouched)
{
	pr->smp->group_base_ns = g;
	for (size_t i = 0; i < tr->n_threads; i++) {
		struct thread *t = tr->threads[i];
		if (t->proc != pr)
			continue;
		if (t->smp->have_pre)
			t->smp->base_run_ns = t->smp->pre_ss.run_ns;
		t->smp->base_valid =
			t->smp->have_pre || (vouched && t->smp->quiet && t->smp->base_valid);
	}
}

/*
 * Returns whether every quiet thread is vouched for by the clock: one clock
 * read, after the reads of the threads that are not quiet. When that fails,
 * the clock is read first and every thread after it, as the next base.
 */
static bool group_check(struct tracer *tr, struct proc *pr)
{
	uint64_t g, grown = 0;
	bool all = read_pre(tr, pr, false, &grown);
	bool have = group_read(pr, &g);
	if (have && all && pr->smp->group_base_valid && g >= pr->smp->group_base_ns &&
	    g - pr->smp->group_base_ns == grown) {
		group_rebase(tr, pr, g, true);
		return true;
	}
	pr->smp->group_base_valid = have && group_read(pr, &g);
	read_pre(tr, pr, false, &grown);
	read_pre(tr, pr, true, &grown);
	if (pr->smp->group_base_valid)
		group_rebase(tr, pr, g, false);
	return false;
}

/* Read a process's title and executable into the recording, unless it was
 * read less than its title period ago. */
static void read_identity(struct tracer *tr, struct proc *pr, mono_ns now)
{
	if (pr->smp->title_ns && now - pr->smp->title_ns < pr->smp->title_period)
		return;
	pr->smp->title_period = !pr->smp->title_period		     ? 10 * 1000 * 1000ULL
				: pr->smp->title_period < NS_PER_SEC ? 2 * pr->smp->title_period
								     : NS_PER_SEC;
	pr->smp->title_ns = now;
	char path[64], exe[4096];
	char *title = procfs_read_title(pr->as.pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pr->as.pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	recorder_process(tr->rec, pr->pid, title, exe);
	free(title);
}

/*
 * Stop these threads: interrupt them all first, then take each stop as it
 * comes (a thread waiting for a CPU takes a while to stop, and the others
 * need not wait behind it), for timeout_ns at most. Each stop is sampled
 * when it comes (sampler_resumed), late ones too.
 */
static void stop_and_sample(struct tracer *tr, const struct stop_request *req, size_t n,
			    mono_ns timeout_ns)
{
	pid_t *tids = xmalloc((n + 1) * sizeof(*tids));
	size_t asked = 0;
	for (size_t i = 0; i < n; i++) {
		struct thread *t = tracer_find(tr, req[i].tid);
		if (!t || t->want_stop)
			continue;
		struct sample_thread *st = t->smp;
		st->pending = req[i].what;
		st->rebaseline = req[i].was_blocked;
		st->decide_running =
			(req[i].what.state == ST_ONCPU || req[i].what.state == ST_RUNNABLE) &&
			read_schedstat(t, &st->intr_ss);
		if (!tracer_request_stop(tr, t)) {
			tr->rec->stats.threads_lost++;
			continue;
		}
		tids[asked++] = t->tid;
	}
	tr->rec->stats.late_stops += tracer_take_stops(tr, tids, asked, timeout_ns);
	free(tids);
}

void sampler_tick(struct tracer *tr)
{
	static struct stop_request *stops;
	static size_t cap;
	size_t n = 0;
	GROW(stops, cap, tr->n_threads + 1);
	for (size_t i = 0; i < tr->n_threads; i++)
		tr->threads[i]->smp->have_pre = false;
	/* One clock per process: each vouches for its own quiet threads. */
	bool all_vouched = true;
	for (size_t i = 0; i < tr->n_procs; i++) {
		struct proc *pr = tr->procs[i];
		if (pr->gone)
			continue;
		pr->smp->vouched = group_check(tr, pr);
		all_vouched = all_vouched && pr->smp->vouched;
	}
	tr->rec->stats.clock_vouched += all_vouched;
	mono_ns now = mono_now();
	for (size_t i = 0; i < tr->n_procs; i++)
		if (!tr->procs[i]->gone)
			read_identity(tr, tr->procs[i], now);
	/* Observe everyone first, then stop those that need it, each stop
	 * lasting only for its own thread's snapshot. */
	for (size_t i = 0; i < tr->n_threads; i++) {
		struct thread *t = tr->threads[i];
		if (t->foreign)
			continue;
		if (t->smp->quiet && t->proc->smp->vouched)
			sample_reuse(tr, t, now);
		else if (sample_thread(tr, t, t->smp->have_pre ? &t->smp->pre_ss : NULL, &stops[n]))
			n++;
	}
	/* Wait a little for the stops: most come within microseconds. One
	 * still on its way (a thread waiting for a CPU, or in uninterruptible
	 * sleep) is taken when it comes, as the sample of every tick it
	 * missed, and the next tick is never kept waiting. */
	mono_ns timeout = STOP_TIMEOUT_NS;
	if (tr->interval_ns && tr->interval_ns / 4 < timeout)
		timeout = tr->interval_ns / 4;
	if (n)
		stop_and_sample(tr, stops, n, timeout);
}

/* ---- the tracer's events (tracer_client) ---- */

static void sampler_thread_new(struct tracer *tr, struct thread *t)
{
	(void)tr;
	t->smp = xcalloc(1, sizeof(*t->smp));
	t->smp->restarted.syscall = -1;
}

static void sampler_thread_gone(struct tracer *tr, struct thread *t)
{
	(void)tr;
	free(t->smp);
	t->smp = NULL;
}

/* Every process is in the profile with its title, however short its
 * life: read now, and again as it goes on (sampler_tick). */
static void sampler_proc_new(struct tracer *tr, struct proc *pr)
{
	pr->smp = xcalloc(1, sizeof(*pr->smp));
	if (!tr->passive)
		read_identity(tr, pr, mono_now());
}

/* A process exited or exec'd: its clock's timer goes with it. */
static void sampler_proc_gone(struct tracer *tr, struct proc *pr)
{
	(void)tr;
	if (!pr->smp)
		return;
	group_timer_stop(pr->smp);
	free(pr->smp);
	pr->smp = NULL;
}

/* Its last sample was of its old program. */
static void sampler_exec(struct tracer *tr, struct thread *t)
{
	(void)tr;
	t->smp->have_last = false;
	t->smp->quiet = t->smp->base_valid = false;
	t->smp->owed = 0;
	/* Nor is the pc last seen its new program's (sampler_sample_late). */
	t->smp->last_sc = no_call;
}

/*
 * A thread seen running (state R) whose stop came late: it waited for a CPU
 * (or worked in the kernel) through the ticks it missed. Its schedstat
 * just before the interrupt and at the stop (read before it is resumed, so
 * that waiting for a CPU after the stop does not count) is added to its run
 * split, which labels those ticks' samples (sampler.c, docs/states.md).
 */
static void late_run_split(struct thread *t)
{
	struct schedstat now;
	t->smp->decide_running = false;
	if (t->smp->owed && read_schedstat(t, &now)) {
		run_split_add(&t->smp->run_split, &t->smp->intr_ss, &now);
		t->smp->last_ss = now;
	}
}

/*
 * A thread seen blocked, then stopped: between the look and the stop it
 * may have left that call (a disk wait ended, a wait was woken) and gone on
 * to run or to wait elsewhere. The stop's registers tell: in a call the stop
 * cut, orig_rax is that call and rax says it restarts (-ERESTARTSYS to
 * -ERESTART_RESTARTBLOCK); at a call's end, or in user code, the thread
 * ran. The sample is of where the stop found it, whose stack it has.
 */
static void stop_found_it(struct tracer *tr, struct thread *t, const struct user_regs_struct *r)
{
	struct activity *what = &t->smp->pending;
	long nr = (long)r->orig_rax, rax = (long)r->rax;
	if (what->syscall < 0 || nr == SYS_restart_syscall || t->proc->compat32)
		return;
	/* The same call on the same first argument (descriptor, futex word),
	 * cut by the stop, or a disk wait that the stop met at its end: where
	 * it was seen. A futex wait on another word (a condition variable's
	 * after the mutex's) is another wait; a call on the same word that
	 * the stop did not cut (the wake as it let the mutex go) ran. */
	bool cut = nr >= 0 && syscall_result_restarts(rax);
	if (nr == what->syscall && r->rdi == t->smp->last_sc.args[0] &&
	    (cut || what->state == ST_DISK))
		return;
	what->object = -1;
	what->owner = 0;
	if (cut) {
		uint64_t args[6];
		syscall_args_of(r, args);
		what->state = (uint8_t)syscall_wait_state(nr, args);
		what->syscall = (int16_t)nr;
		attribute_call(tr, t, nr, args, what);
	} else {
		what->state = ST_ONCPU;
		what->syscall = -1;
	}
}

static void sampler_captured(struct tracer *tr, struct thread *t,
			     const struct user_regs_struct *regs)
{
	if (t->smp->decide_running)
		late_run_split(t);
	if (t->smp->rebaseline)
		stop_found_it(tr, t, regs);
	/* A restart_syscall seen after this stop stands for the call it cut
	 * (observe), if the sample knows that call: a blocked thread's wait
	 * that the stop found it still in. Any other stop leaves none known,
	 * and the call is then read from the code before the pc, with its
	 * own arguments: a thread caught by the stop for a run in a later
	 * wait (a condition variable's, after a mutex wait a stop had cut)
	 * was otherwise labelled with that earlier wait for its whole sleep. */
	long nr = (long)regs->orig_rax;
	if (t->smp->rebaseline && nr >= 0 &&
	    (nr == t->smp->pending.syscall || nr == SYS_restart_syscall) &&
	    syscall_result_restarts((long)regs->rax))
		t->smp->restarted = t->smp->pending;
	else
		t->smp->restarted.syscall = -1;
}

/* The stop asked for was taken and t runs again: unwind and record. */
static void sampler_resumed(struct tracer *tr, struct thread *t,
			    const struct user_regs_struct *regs)
{
	if (!regs)
		return;
	/* The stop made a blocked thread run a little (and may have turned
	 * its call into restart_syscall): take the baseline after it, or the
	 * next tick would not reuse this stack. At once, before the unwind:
	 * the longer the wait, the likelier that the thread ran on to
	 * somewhere else, which the baseline would then hide. */
	if (t->smp->rebaseline)
		read_schedstat(t, &t->smp->last_ss);

	mono_ns now = mono_now();
	recorder_stop_time(tr->rec, now - t->stop_t0);
	t->smp->budget_ns -= (int64_t)(now - t->stop_t0);
	if (!t->smp->owed) {
		sample_record(tr, t, AT_STOP, snapshot_unwind(tr, t, regs, true, tr->stack),
			      &t->smp->pending, now);
	} else {
		/* A late stop: one sample per tick it was on its way,
		 * each at its tick's time. */
		uint32_t id = snapshot_unwind(tr, t, regs, true, tr->stack);
		for (uint32_t k = 0; k <= t->smp->owed; k++) {
			mono_ns when = t->stop_t0 + k * tr->interval_ns;
			struct activity what = t->smp->pending;
			if (k > 0 && (what.state == ST_ONCPU || what.state == ST_RUNNABLE))
				what.state = (uint8_t)run_state(&t->smp->run_split);
			sample_record(tr, t, k ? LATE : AT_STOP, id, &what,
				      when < now ? when : now);
		}
		t->smp->owed = 0;
	}
}

static const struct tracer_client sampler_client = {
	.thread_new = sampler_thread_new,
	.thread_gone = sampler_thread_gone,
	.proc_new = sampler_proc_new,
	.proc_gone = sampler_proc_gone,
	.exec = sampler_exec,
	.captured = sampler_captured,
	.resumed = sampler_resumed,
};

void sampler_start(struct tracer *tr)
{
	tracer_add_client(tr, &sampler_client);
}

size_t sampler_sample_late(struct tracer *tr)
{
	size_t n = 0;
	mono_ns now = mono_now();
	for (size_t i = 0; i < tr->n_threads; i++) {
		struct thread *t = tr->threads[i];
		if (!t->want_stop || t->foreign)
			continue;
		const struct syscall_state *sc = &t->smp->last_sc;
		uint32_t id;
		if (!sc->running && sc->pc) {
			uint64_t pc = sc->pc;
			id = snapshot_intern(tr, t, &pc, 1, true);
		} else {
			id = snapshot_marker(tr, STACK_LATE_ADDR);
		}
		sample_record(tr, t, LATE, id, &t->smp->pending, now);
		n++;
	}
	return n;
}
