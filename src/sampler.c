/*
 * sampler.c: the sampling round. See sampler.h for the three ways a thread
 * is sampled; this file decides which one applies.
 */
#include "sampler.h"

#include "locks.h"
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

struct observation {
	struct task_stat st;
	struct schedstat ss;
	struct syscall_state sc;
	struct activity what;
};

static bool read_schedstat(struct thread *t, struct schedstat *ss)
{
	char buf[128];
	return pread_text(t->fd_schedstat, buf, sizeof(buf)) > 0 &&
	       procfs_parse_schedstat(buf, ss) == 0;
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

enum sample_state sampler_run_state(struct thread *t)
{
	return run_state(&t->run_split);
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
 * The call a thread resumes as restart_syscall: the kernel keeps it in a
 * restart block /proc does not show. But the thread's pc is right after the
 * syscall instruction of the original call, and glibc loads the number
 * just before it ("mov $NR, %eax; syscall"): read it from the code. -1 if
 * the code is not that.
 */
static long restarted_call(struct addrspace *as, uint64_t pc)
{
	uint8_t b[7];
	if (pc < sizeof(b) || !addrspace_read_image(as, pc - sizeof(b), b, sizeof(b)) ||
	    b[0] != 0xb8 || b[5] != 0x0f || b[6] != 0x05)
		return -1;
	uint32_t nr;
	memcpy(&nr, b + 1, sizeof(nr));
	return nr < 1024 && nr != SYS_restart_syscall ? (long)nr : -1;
}

/*
 * A thread in a ptrace stop (state t) is in one of ours: tracees have one
 * tracer. It is not stopped to the program: while a traced call waits for
 * us it is in that call, a group-stop is the user's Ctrl-Z, and any other
 * stop (an event, a signal being delivered) came as it ran.
 */
static void classify_traced(const struct thread *t, struct observation *o)
{
	if (t->group_stopped) {
		o->what.state = ST_STOPPED;
	} else if (t->ev.open) {
		o->what.state = (uint8_t)syscall_wait_state(t->ev.nr, t->ev.args);
		o->what.syscall = t->ev.nr;
	} else {
		o->what.state = ST_ONCPU;
	}
}

static long nr_of(const struct observation *o)
{
	return o->sc.nr;
}

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
	memset(&o->sc, 0, sizeof(o->sc));
	o->sc.running = true;
	o->sc.nr = -1;
	/* Reading /proc/TID/syscall of a running thread waits for it to
	 * leave the CPU; it tells nothing then anyway. */
	if (o->st.state != 'R') {
		if (pread_text(t->fd_syscall, buf, sizeof(buf)) <= 0 ||
		    procfs_parse_syscall(buf, &o->sc) < 0) {
			o->sc.running = true;
			o->sc.nr = -1;
		}
		/* A 32-bit program's numbers are i386's: not to be named with
		 * x86_64's table. Blocked, in a call we do not name. */
		if (t->proc->compat32 && o->sc.nr >= 0)
			o->sc.nr = -1;
	}
	o->what.object = -1;
	o->what.owner = 0;
	if (o->sc.nr == SYS_restart_syscall && t->restarted.syscall < 0) {
		long nr = restarted_call(&t->proc->as, o->sc.pc);
		if (nr >= 0)
			o->sc.nr = nr;
	}
	o->what.state = (uint8_t)sampler_classify(o->st.state, &o->sc, &t->run_split,
						  t->have_last ? &t->last_ss : NULL, &o->ss);
	o->what.syscall = (o->st.state == 'S' || o->st.state == 'D') && o->sc.nr >= 0
				  ? (int16_t)o->sc.nr
				  : -1;
	if (o->st.state == 't')
		classify_traced(t, o);
	if (o->sc.nr == SYS_restart_syscall && t->restarted.syscall >= 0) {
		/* Our stop turned the call into restart_syscall: to the
		 * thread it is still the call it was in. */
		o->what = t->restarted;
	} else if (o->sc.nr >= 0) {
		t->restarted.syscall = -1;
		if (o->what.syscall >= 0)
			tracer_attribute(tr, t, nr_of(o), o->sc.args, &o->what);
	}
	return true;
}

bool sampler_interrupt_is_safe(pid_t pid, char state, const struct syscall_state *sc)
{
	bool fd_check;
	if (state != 'S' || sc->nr < 0 || !syscall_restarts_after_interrupt(sc->nr, &fd_check))
		return false;
	if (!fd_check)
		return true;
	/* read/write restart on pipes and files; on sockets a timeout
	 * (SO_RCVTIMEO) turns the restart into EINTR. */
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%llu", (int)pid, (unsigned long long)sc->args[0]);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strncmp(link, "socket:", 7) != 0;
}

/*
 * Sample a blocked thread without stopping it. Returns true if a sample
 * was recorded; false if the unwind was not complete and a stop may do
 * better (the caller decides whether one is allowed).
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
			if (!observe(tr, t, NULL, o) || o->sc.running || o->sc.nr < 0)
				break;
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
		t->copy_window = stack_copy_window(res.stack_used, res.overrun);
		if (res.truncated && may_stop)
			return false;
		uint32_t id =
			tracer_intern_stack(tr, t->proc, res.ips, (uint32_t)res.n, res.truncated);
		tracer_record_snapshot_id(tr, t, id, &o->what, now);
		tr->rec->stats.nostop++;
		return true;
	}
	/* Nothing better is possible without a stop we may not take: record
	 * the pc alone, marked truncated. */
	uint64_t pc = o->sc.pc;
	uint32_t id = tracer_intern_stack(tr, t->proc, &pc, 1, true);
	tracer_record_snapshot_id(tr, t, id, &o->what, now);
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
	tracer_record_snapshot_id(tr, t, t->last_stack, &t->last, now);
	tr->rec->stats.reused++;
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
	if (!t->budget_t)
		t->budget_t = now;
	t->budget_ns += (int64_t)((double)(now - t->budget_t) * tr->max_overhead);
	t->budget_t = now;
	if (t->budget_ns > 10 * 1000 * 1000)
		t->budget_ns = 10 * 1000 * 1000;
	return t->budget_ns > 0;
}

static bool sample_thread(struct tracer *tr, struct thread *t, const struct schedstat *pre,
			  struct stop_request *stop)
{
	t->quiet = false;
	if (t->want_stop) {
		t->owed++; /* a late stop is still on its way */
		return false;
	}
	struct schedstat ss;
	if (!pre && t->have_last && t->fd_schedstat >= 0 && read_schedstat(t, &ss))
		pre = &ss;
	/* A thread last seen running is never taken as unchanged: the
	 * kernel adds to its on-CPU time only at scheduler ticks and switches,
	 * so a thread running on without either looks as if it had not run. */
	bool was_running = t->last.state == ST_ONCPU || t->last.state == ST_RUNNABLE;
	if (pre && t->have_last && !was_running && pre->run_ns == t->last_ss.run_ns &&
	    pre->slices == t->last_ss.slices) {
		sample_reuse(tr, t, mono_now());
		t->quiet = true;
		return false;
	}
	struct observation o;
	if (!observe(tr, t, pre, &o)) {
		tr->rec->stats.threads_lost++;
		return false;
	}
	t->last_sc = o.sc;
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

	struct schedstat prev = t->last_ss;
	t->last_ss = o.ss;
	if (o.st.state != 'R' && !o.sc.running) {
		/* A thread in disk wait cannot be stopped before its wait ends:
		 * the stop comes late, at the call's return, and disturbs
		 * nothing (the call is not interrupted). */
		bool may_stop = !repair_in_flight(t) &&
				(o.st.state == 'D' ||
				 sampler_interrupt_is_safe(t->proc->pid, o.st.state, &o.sc));
		/* Exact tracing of an attached process: a thread that has not
		 * stopped since the attach runs free of syscall stops. One
		 * that was in no state to be interrupted then is armed at the
		 * first wait where an interrupt is rewound (tracer_arm_syscalls). */
		bool arm = tr->events && tr->events->method == TRACE_PTRACE && !t->syscall_stops &&
			   !repair_in_flight(t) && o.st.state == 'S' &&
			   syscall_waits_forever(o.sc.nr, o.sc.args);
		/* Attached --locks (TRACE_WATCH): a futex wait seen here is
		 * stopped once and followed to its end (events_watch_begin);
		 * the kernel restarts the wait. */
		bool watch = tr->events && tr->events->method == TRACE_WATCH && !tr->passive &&
			     !t->ev.open && !repair_in_flight(t) && o.st.state == 'S' &&
			     o.what.state == ST_LOCK && o.sc.nr == SYS_futex;
		if (watch) {
			t->watch_wait = true;
			t->watch_t0 = now;
		}
		if (!arm && !watch && sample_nostop(tr, t, &o, may_stop, now))
			return false;
		*stop = (struct stop_request){t->tid, o.what, true};
		t->last_ss = prev; /* the stop re-baselines it */
		return true;
	}
	if (o.st.state == 'R') {
		o.what.syscall = -1;
		if (repair_in_flight(t) && t->have_last) {
			/* Inside a write we continued (repair.h): no stop until
			 * it returns, and its stack is the one of that stop. */
			tracer_record_snapshot_id(tr, t, t->last_stack, &o.what, now);
			tr->rec->stats.reused++;
			return false;
		}
		if (!within_budget(tr, t, now)) {
			/* Over --max-overhead: the state is still sampled, exactly;
			 * the stack is not, and the profile says so. */
			tracer_record_snapshot_id(
				tr, t, tracer_marker_stack(tr, STACK_SKIPPED_ADDR), &o.what, now);
			tr->rec->stats.stops_skipped++;
			return false;
		}
		*stop = (struct stop_request){t->tid, o.what, false};
		return true;
	}
	/* Blocked, but its call could not be read: /proc/TID/syscall says
	 * "running" when the thread moved while it was read. It is about to
	 * run or has just run: stop it like a running thread. Stops are
	 * checked for what they did to a call (repair.h). */
	if ((o.st.state == 'S' || o.st.state == 'D') && !repair_in_flight(t) &&
	    within_budget(tr, t, now)) {
		*stop = (struct stop_request){t->tid, o.what, false};
		return true;
	}
	/* Stopped by job control without syscall information: keep the last
	 * stack if there is one, never stop it. */
	if (t->have_last) {
		tracer_record_snapshot_id(tr, t, t->last_stack, &o.what, now);
		tr->rec->stats.reused++;
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
static void group_clock_open(struct proc *pr)
{
	pr->group_clock_state = clock_getcpuclockid(pr->pid, &pr->group_clock) == 0 ? 1 : -1;
	if (pr->group_clock_state < 0)
		return;
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGURG};
	struct itimerspec its = {.it_value = {(time_t)1 << 32, 0}};
	if (timer_create(pr->group_clock, &sev, &pr->group_timer) < 0)
		return;
	pr->group_timer_set = true;
	if (timer_settime(pr->group_timer, 0, &its, NULL) < 0)
		sampler_finish_proc(pr);
}

void sampler_finish_proc(struct proc *pr)
{
	if (pr->group_timer_set)
		timer_delete(pr->group_timer);
	pr->group_timer_set = false;
}

void sampler_finish(struct tracer *tr)
{
	for (size_t i = 0; i < tr->n_procs; i++)
		sampler_finish_proc(tr->procs[i]);
}

static bool group_read(struct proc *pr, uint64_t *ns)
{
	if (pr->group_clock_state == 0)
		group_clock_open(pr);
	struct timespec ts;
	if (pr->group_clock_state < 0 || clock_gettime(pr->group_clock, &ts) < 0)
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
		if (t->quiet != which || t->proc != pr)
			continue;
		t->have_pre = t->fd_schedstat >= 0 && read_schedstat(t, &t->pre_ss);
		if (t->have_pre && t->base_valid && t->pre_ss.run_ns >= t->base_run_ns)
			*grown += t->pre_ss.run_ns - t->base_run_ns;
		else
			all = false;
	}
	return all;
}

/* Take the readings of this tick as the new base, at clock value g. */
static void group_rebase(struct tracer *tr, struct proc *pr, uint64_t g, bool vouched)
{
	pr->group_base_ns = g;
	for (size_t i = 0; i < tr->n_threads; i++) {
		struct thread *t = tr->threads[i];
		if (t->proc != pr)
			continue;
		if (t->have_pre)
			t->base_run_ns = t->pre_ss.run_ns;
		t->base_valid = t->have_pre || (vouched && t->quiet && t->base_valid);
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
	if (have && all && pr->group_base_valid && g >= pr->group_base_ns &&
	    g - pr->group_base_ns == grown) {
		group_rebase(tr, pr, g, true);
		return true;
	}
	pr->group_base_valid = have && group_read(pr, &g);
	read_pre(tr, pr, false, &grown);
	read_pre(tr, pr, true, &grown);
	if (pr->group_base_valid)
		group_rebase(tr, pr, g, false);
	return false;
}

void sampler_read_identity(struct tracer *tr, struct proc *pr, mono_ns now)
{
	if (pr->title_ns && now - pr->title_ns < pr->title_period)
		return;
	pr->title_period = !pr->title_period		   ? 10 * 1000 * 1000ULL
			   : pr->title_period < NS_PER_SEC ? 2 * pr->title_period
							   : NS_PER_SEC;
	pr->title_ns = now;
	char path[64], exe[4096];
	char *title = procfs_read_title(pr->as.pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pr->as.pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	recorder_process(tr->rec, pr->pid, title, exe);
	free(title);
}

void sampler_tick(struct tracer *tr)
{
	static struct stop_request *stops;
	static size_t cap;
	size_t n = 0;
	GROW(stops, cap, tr->n_threads + 1);
	for (size_t i = 0; i < tr->n_threads; i++)
		tr->threads[i]->have_pre = false;
	/* One clock per process: each vouches for its own quiet threads. */
	bool all_vouched = true;
	for (size_t i = 0; i < tr->n_procs; i++) {
		struct proc *pr = tr->procs[i];
		pr->vouched = !pr->gone && group_check(tr, pr);
		all_vouched = all_vouched && (pr->gone || pr->vouched);
	}
	tr->rec->stats.clock_vouched += all_vouched;
	mono_ns now = mono_now();
	for (size_t i = 0; i < tr->n_procs; i++)
		if (!tr->procs[i]->gone)
			sampler_read_identity(tr, tr->procs[i], now);
	/* Observe everyone first, then stop those that need it, each stop
	 * lasting only for its own thread's snapshot. */
	for (size_t i = 0; i < tr->n_threads; i++) {
		struct thread *t = tr->threads[i];
		if (t->foreign)
			continue;
		if (t->quiet && t->proc->vouched)
			sample_reuse(tr, t, now);
		else if (sample_thread(tr, t, t->have_pre ? &t->pre_ss : NULL, &stops[n]))
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
		tracer_stop_and_sample(tr, stops, n, timeout);
}
