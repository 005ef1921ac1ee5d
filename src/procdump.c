/*
 * procdump.c: one snapshot of every thread of a process. See procdump.h.
 */
#include "procdump.h"

#include <pthread.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"
#include "hashmap.h"
#include "locks.h"
#include "peers.h"
#include "procfs.h"
#include "profile.h"
#include "recorder.h"
#include "sampler.h"
#include "session.h"
#include "syscalls.h"
#include "tracer.h"
#include "util.h"
#include "views.h"
#include "waitset.h"

/* How many of a set dump describes; the rest are counted. */
#define MAX_SET_SHOWN 64

/* When the thread last ran, from /proc/PID/task/TID/sched; 0 if unknown. */
static uint64_t last_ran_ns(pid_t pid, pid_t tid)
{
	char path[96];
	uint64_t ns;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/sched", (int)pid, (int)tid);
	char *text = read_small_file(path, 1 << 16, NULL);
	bool ok = text && procfs_parse_sched_exec_start(text, &ns) == 0;
	free(text);
	return ok ? ns : 0;
}

static bool owned_lock(const struct profile *p, const struct profile_sample *s)
{
	return s->object >= 0 && s->owner && p->objects[s->object].lock_kind &&
	       lock_kind_has_owner(p->objects[s->object].lock_kind);
}

static void read_set(struct dump_thread *d, const struct thread *t)
{
	struct wait_fd w[MAX_SET_SHOWN];
	int n = waitset_read(t->proc->as.pid, d->s->syscall, d->call.args, w, ARRAY_SIZE(w),
			     &d->set_total, NULL);
	if (n < 0) {
		d->set_err = n;
		return;
	}
	d->set = xcalloc((size_t)n + 1, sizeof(*d->set));
	for (int i = 0; i < n; i++) {
		d->set[i].w = w[i];
		d->set[i].described = fd_describe(&t->proc->fds, w[i].fd, &d->set[i].desc) == 0;
	}
	d->n_set = (size_t)n;
}

/* A read or write blocked on a pipe: who holds its other end. */
static void find_holders(struct dump_thread *d, const struct profile *p, pid_t self)
{
	long nr = d->s->syscall;
	bool reads = nr == SYS_read || nr == SYS_readv,
	     writes = nr == SYS_write || nr == SYS_writev;
	unsigned long long ino;
	if ((!reads && !writes) || d->s->object < 0 ||
	    strcmp(p->objects[d->s->object].kind, "pipe") ||
	    sscanf(p->objects[d->s->object].name, "pipe:[%llu]", &ino) != 1)
		return;
	d->wants_writers = reads;
	d->n_holders = pipe_holders(self, ino, reads, d->holders, ARRAY_SIZE(d->holders));
}

static void print_holders_text(const struct dump_thread *d, int ind)
{
	if (!d->n_holders)
		return;
	printf("%*sthe pipe's %s end: ", ind, "", d->wants_writers ? "write" : "read");
	size_t shown = 0;
	for (size_t i = 0; i < d->n_holders; i++) {
		const struct pipe_holder *h = &d->holders[i];
		if (h->writes != d->wants_writers)
			continue;
		printf("%sprocess %d \"%s\" (state %c, fd %d)", shown++ ? ", " : "", (int)h->pid,
		       disp(h->comm), h->state, h->fd);
	}
	if (!shown)
		printf("held by no other process");
	printf("\n");
}

static json_t *holders_json(const struct dump_thread *d)
{
	if (!d->n_holders)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; i < d->n_holders; i++) {
		const struct pipe_holder *h = &d->holders[i];
		char state[2] = {h->state, '\0'};
		json_array_append_new(a, json_pack("{s:i, s:o, s:i, s:s, s:s}", "pid", h->pid,
						   "comm", json_text(h->comm), "fd", h->fd, "end",
						   h->writes ? "write" : "read", "state", state));
	}
	return a;
}

/*
 * When each thread last ran, read once the process is attached and before
 * any thread is sampled: a stop of ours (a blocked thread whose stack could
 * not be copied without one) makes the thread run, and it would then seem
 * to have been waiting only since.
 *
 * se.exec_start is in the clock of the run queue of the CPU the thread last
 * ran on, and the CPUs' clocks differ (by the interrupt time each has had;
 * seen: half a second): each thread's is compared with its own CPU's clock
 * now, which is our own se.exec_start just after a sched_yield on that CPU
 * (the yield brings it up to date).
 */
struct last_ran {
	struct u64map at; /* tid -> index in ns and cpu */
	uint64_t *ns;
	int *cpu;
	uint64_t *cpu_now; /* by CPU; 0 if unknown */
	size_t n_cpus;
};

static void last_ran_read(struct last_ran *lr, const struct tracer *tr)
{
	u64map_init(&lr->at);
	lr->ns = xcalloc(tr->n_threads + 1, sizeof(*lr->ns));
	lr->cpu = xcalloc(tr->n_threads + 1, sizeof(*lr->cpu));
	int max_cpu = -1;
	for (size_t i = 0; i < tr->n_threads; i++) {
		const struct thread *t = tr->threads[i];
		struct task_stat st;
		lr->cpu[i] = -1;
		if (!t->proc)
			continue;
		if (procfs_read_stat(t->proc->pid, t->tid, &st) == 0)
			lr->cpu[i] = st.cpu;
		lr->ns[i] = last_ran_ns(t->proc->pid, t->tid);
		u64map_put(&lr->at, (uint64_t)(uint32_t)t->tid, (uint32_t)i);
		if (lr->cpu[i] > max_cpu)
			max_cpu = lr->cpu[i];
	}
	lr->n_cpus = (size_t)(max_cpu + 1);
	lr->cpu_now = xcalloc(lr->n_cpus + 1, sizeof(*lr->cpu_now));
	cpu_set_t orig;
	if (max_cpu < 0 || sched_getaffinity(0, sizeof(orig), &orig) < 0)
		return;
	pid_t self = (pid_t)syscall(SYS_gettid);
	for (size_t c = 0; c < lr->n_cpus && c < CPU_SETSIZE; c++) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			continue; /* not ours to run on (a cpuset): unknown */
		sched_yield();
		lr->cpu_now[c] = last_ran_ns(getpid(), self);
	}
	sched_setaffinity(0, sizeof(orig), &orig);
}

static void last_ran_release(struct last_ran *lr)
{
	u64map_release(&lr->at);
	free(lr->ns);
	free(lr->cpu);
	free(lr->cpu_now);
}

static void dump_build(struct dump_proc *snap, struct tracer *tr, const struct last_ran *lr)
{
	const struct profile *p = &snap->p;
	snap->n = p->n_samples;
	snap->th = xcalloc(snap->n + 1, sizeof(*snap->th));
	for (size_t i = 0; i < snap->n; i++) {
		struct dump_thread *d = &snap->th[i];
		d->s = &p->samples[i];
		d->name = profile_thread_name(profile_find_thread(p, d->s->tid));
		const struct thread *t = tracer_find(tr, d->s->tid);
		d->in_call = t && d->s->syscall >= 0 && !t->smp->last_sc.running;
		if (d->in_call)
			d->call = t->smp->last_sc;
		d->since_ns = -1;
		d->waits_for = -1;
		uint32_t at;
		uint64_t ran = 0, now = 0;
		if (d->s->state >= ST_SYSCALL && d->s->state <= ST_STOPPED &&
		    u64map_get(&lr->at, (uint64_t)(uint32_t)d->s->tid, &at) && lr->cpu[at] >= 0 &&
		    (size_t)lr->cpu[at] < lr->n_cpus) {
			ran = lr->ns[at];
			now = lr->cpu_now[lr->cpu[at]];
		}
		if (ran && ran <= now)
			d->since_ns = (int64_t)(now - ran);
		if (d->in_call && t->proc && waitset_call(d->s->syscall))
			read_set(d, t);
		if (d->in_call && t->proc)
			find_holders(d, p, t->proc->pid);
	}
	for (size_t i = 0; i < snap->n; i++) {
		if (!owned_lock(p, snap->th[i].s))
			continue;
		for (size_t k = 0; k < snap->n; k++)
			if (snap->th[k].s->tid == snap->th[i].s->owner)
				snap->th[i].waits_for = (int)k;
	}
	int *edges = xcalloc(snap->n + 1, sizeof(*edges));
	for (size_t i = 0; i < snap->n; i++)
		edges[i] = snap->th[i].waits_for;
	snap->cycles = xcalloc(snap->n + 1, sizeof(*snap->cycles));
	snap->cycle_lens = xcalloc(snap->n + 1, sizeof(*snap->cycle_lens));
	snap->n_cycles = locks_find_cycles(edges, snap->n, snap->cycles, snap->cycle_lens);
	free(edges);
}

void procdump_release(struct dump_proc *snap)
{
	for (size_t i = 0; i < snap->n; i++)
		free(snap->th[i].set);
	free(snap->th);
	free(snap->cycles);
	free(snap->cycle_lens);
	profile_release(&snap->p);
}

/* "lock_b" for a lock, "thread teller-two (124)" for a join. */
static const char *lock_name(const struct profile *p, const struct profile_sample *s)
{
	return p->objects[s->object].name;
}

/*
 * "deadlock: teller-one (123) waits for lock_b held by teller-two (124),
 * which waits for lock_a held by teller-one"
 */
static void print_deadlock(const struct dump_proc *snap, const int *cycle, size_t len)
{
	const struct profile *p = &snap->p;
	const struct dump_thread *first = &snap->th[cycle[0]];
	printf("deadlock: %s (%d)", first->name, first->s->tid);
	for (size_t k = 0; k < len; k++) {
		const struct dump_thread *d = &snap->th[cycle[k]];
		const struct dump_thread *o = &snap->th[d->waits_for];
		bool join = !strcmp(p->objects[d->s->object].lock_kind, "join");
		printf("%s", k ? ", which" : "");
		if (join)
			printf(" waits for %s to end", lock_name(p, d->s));
		else
			printf(" waits for %s held by %s", lock_name(p, d->s), o->name);
		if (k + 1 < len)
			printf(" (%d)", o->s->tid);
	}
	printf("\n");
}

static void print_frame_text(const struct profile_frame *f, int depth, int ind)
{
	printf("%*s#%-2d %s%s", ind, "", depth, f->function, f->inlined ? " (inlined)" : "");
	if (f->file)
		printf("  %s:%d", f->file, f->line);
	if (f->module)
		printf("  [%s]", f->module);
	printf("\n");
}

/* "waiting on 2 descriptors: fd 6 (in) = tcp listen 127.0.0.1:80, ..." one
 * per line, the first few; the rest counted. */
static void print_set_text(const struct dump_thread *d, int ind)
{
	enum { SHOWN = 8 };
	if (d->set_err) {
		printf("%*swaiting on descriptors that could not be read (%s)\n", ind, "",
		       strerror(-d->set_err));
		return;
	}
	printf("%*swaiting on %zu descriptor%s%s\n", ind, "", d->set_total,
	       d->set_total == 1 ? "" : "s", d->set_total ? ":" : "");
	for (size_t i = 0; i < d->n_set && i < SHOWN; i++) {
		const struct waited_fd *f = &d->set[i];
		char ev[96];
		printf("%*s  fd %d (%s)", ind, "", f->w.fd,
		       wait_events_text(f->w.events, ev, sizeof(ev)));
		if (f->described)
			printf(" = %s%s%s", strcmp(f->desc.kind, "file") ? f->desc.kind : "",
			       strcmp(f->desc.kind, "file") ? " " : "", disp(f->desc.name));
		printf("\n");
	}
	if (d->set_total > SHOWN)
		printf("%*s  and %zu more\n", ind, "", d->set_total - SHOWN);
}

void procdump_print_thread(const struct dump_proc *snap, const struct dump_thread *d, int ind)
{
	const struct profile *p = &snap->p;
	const struct profile_sample *s = d->s;
	const struct profile_stack *st = &p->stacks[s->stack];
	char buf[96], dur[32], call[512];
	int body = ind + 4;
	printf("%*sThread %d \"%s\": %s", ind, "", s->tid, disp(d->name),
	       sample_state_text(s, buf, sizeof(buf)));
	if (d->since_ns >= 0)
		printf(" for %s", fmt_duration(dur, sizeof(dur), (uint64_t)d->since_ns));
	printf("\n");
	if (d->in_call)
		printf("%*sin %s\n", body, "",
		       call_text(p, s->syscall, d->call.args, s->object, NULL, call, sizeof(call)));
	if (d->in_call && waitset_call(s->syscall))
		print_set_text(d, body);
	print_holders_text(d, body);
	if (owned_lock(p, s)) {
		const struct profile_object *o = &p->objects[s->object];
		char addr[32] = "";
		if (!strstr(o->name, "0x"))
			snprintf(addr, sizeof(addr), " (0x%llx)", (unsigned long long)o->address);
		if (!strcmp(o->lock_kind, "join"))
			printf("%*swaiting for %s to end\n", body, "", o->name);
		else
			printf("%*swaiting for %s %s%s held by %s (%d)\n", body, "", o->lock_kind,
			       o->name, addr, d->waits_for >= 0 ? snap->th[d->waits_for].name : "?",
			       s->owner);
	}
	for (uint32_t j = 0; j < st->n; j++)
		print_frame_text(&p->frames[st->frames[j]], (int)j, body);
	if (st->truncated)
		printf("%*s(stack cut short: unwinding stopped here)\n", body, "");
}

void procdump_print_text(const struct dump_proc *snap)
{
	const struct profile *p = &snap->p;
	printf("Process %d:", p->pid);
	for (int i = 0; i < p->argc; i++)
		printf(" %s", disp(p->argv[i]));
	printf("\n%zu threads\n", p->n_samples);
	for (size_t c = 0, off = 0; c < snap->n_cycles; off += snap->cycle_lens[c++])
		print_deadlock(snap, snap->cycles + off, snap->cycle_lens[c]);
	for (size_t i = 0; i < snap->n; i++) {
		printf("\n");
		procdump_print_thread(snap, &snap->th[i], 0);
	}
}

static json_t *frame_json(const struct profile_frame *f)
{
	char addr[32];
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)f->address);
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "address", addr, "function",
			 json_text(f->function), "module",
			 f->module ? json_text(f->module) : json_null(), "file",
			 f->file ? json_text(f->file) : json_null(), "line",
			 f->line ? json_integer(f->line) : json_null(), "inlined", f->inlined);
}

static json_t *waiting_for_json(const struct profile *p, const struct profile_sample *s)
{
	if (s->object < 0 || !p->objects[s->object].lock_kind)
		return json_null();
	const struct profile_object *o = &p->objects[s->object];
	char addr[32];
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)o->address);
	return json_pack("{s:s, s:s, s:o, s:o}", "kind", o->lock_kind, "address", addr, "symbol",
			 json_text(o->name), "owner_tid",
			 owned_lock(p, s) ? json_integer(s->owner) : json_null());
}

/* {"total": N, "fds": [{"fd", "events", "kind", "name"}, ...]}: at most
 * MAX_SET_SHOWN of them; null when the set could not be read. */
static json_t *set_json(const struct dump_thread *d)
{
	if (d->set_err)
		return json_null();
	json_t *fds = json_array();
	for (size_t i = 0; i < d->n_set; i++) {
		const struct waited_fd *f = &d->set[i];
		char ev[96];
		json_array_append_new(
			fds,
			json_pack("{s:i, s:s, s:o, s:o}", "fd", f->w.fd, "events",
				  wait_events_text(f->w.events, ev, sizeof(ev)), "kind",
				  f->described ? json_string(f->desc.kind) : json_null(), "name",
				  f->described ? json_text(f->desc.name) : json_null()));
	}
	return json_pack("{s:I, s:o}", "total", (json_int_t)d->set_total, "fds", fds);
}

json_t *procdump_thread_json(const struct dump_proc *snap, const struct dump_thread *d)
{
	const struct profile *p = &snap->p;
	const struct profile_sample *s = d->s;
	const struct profile_stack *st = &p->stacks[s->stack];
	json_t *frames = json_array();
	for (uint32_t j = 0; j < st->n; j++)
		json_array_append_new(frames, frame_json(&p->frames[st->frames[j]]));
	char call[512];
	json_t *obj = json_null();
	if (s->object >= 0) {
		const struct profile_object *o = &p->objects[s->object];
		obj = json_pack("{s:s, s:o}", "kind", o->kind, "name", json_text(o->name));
	}
	json_t *j = json_pack(
		"{s:i, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "tid", s->tid, "name",
		json_text(d->name), "state", state_name(s->state), "syscall",
		s->syscall >= 0 ? json_string(syscall_name_or_number(s->syscall)) : json_null(),
		"call",
		d->in_call ? json_text(call_text(p, s->syscall, d->call.args, s->object, NULL, call,
						 sizeof(call)))
			   : json_null(),
		"object", obj, "in_state_ns",
		d->since_ns >= 0 ? json_integer(d->since_ns) : json_null(), "waiting_for",
		waiting_for_json(p, s), "pipe_holders", holders_json(d), "frames", frames,
		"truncated", st->truncated);
	if (d->in_call && waitset_call(s->syscall))
		json_object_set_new(j, "waits_on", set_json(d));
	return j;
}

json_t *procdump_json(const struct dump_proc *snap)
{
	const struct profile *p = &snap->p;
	json_t *threads = json_array();
	for (size_t i = 0; i < snap->n; i++)
		json_array_append_new(threads, procdump_thread_json(snap, &snap->th[i]));
	json_t *deadlocks = json_array();
	for (size_t c = 0, off = 0; c < snap->n_cycles; off += snap->cycle_lens[c++]) {
		json_t *cycle = json_array();
		for (size_t k = 0; k < snap->cycle_lens[c]; k++)
			json_array_append_new(cycle,
					      json_integer(snap->th[snap->cycles[off + k]].s->tid));
		json_array_append_new(deadlocks, cycle);
	}
	json_t *argv = json_array();
	for (int i = 0; i < p->argc; i++)
		json_array_append_new(argv, json_text(p->argv[i]));
	return json_pack("{s:i, s:o, s:o, s:o}", "pid", p->pid, "command", argv, "deadlocks",
			 deadlocks, "threads", threads);
}

static int cmp_sample_tid(const void *a, const void *b)
{
	const struct profile_sample *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

bool procdump_owned_lock(const struct dump_proc *d, const struct dump_thread *t)
{
	return owned_lock(&d->p, t->s);
}

/* The snapshot, in a thread of its own: its exit detaches every thread. */
struct take {
	pid_t pid;
	struct dump_proc *out;
	char *why; /* messages go here, if not NULL */
	size_t why_size;
	int code;
};

static void *take_main(void *arg)
{
	struct take *tk = arg;
	struct dump_proc *out = tk->out;
	if (tk->why)
		messages_capture(tk->why, tk->why_size);
	struct session sess;
	session_init(&sess, 1);
	sess.settle_ns = 2 * NS_PER_SEC;
	struct tracer *tr = &sess.tr;
	pid_t pid = tk->pid;
	if (session_start(&sess, NULL, &pid, 1)) {
		session_release(&sess);
		tk->code = EXIT_FAILURE_;
		return NULL;
	}
	out->n_threads = tr->n_threads;
	struct last_ran lr;
	last_ran_read(&lr, tr);
	out->late = session_snapshot(&sess, 500 * 1000 * 1000ULL);
	session_finish(&sess);

	struct profile *p = &out->p;
	profile_init(p);
	p->pid = out->pid = tr->pid; /* the process, if pid was one of its threads */
	p->frequency_hz = 1;
	p->argc = procfs_read_argv(tracer_io_pid(tr), &p->argv);
	struct addrspace **spaces = tracer_spaces(tr);
	sess.rec.frames_by_address = true; /* each thread's frames, its own pcs */
	recorder_finish(&sess.rec, spaces, tr->n_procs, p);
	free(spaces);
	if (p->n_samples)
		qsort(p->samples, p->n_samples, sizeof(*p->samples), cmp_sample_tid);
	dump_build(out, tr, &lr);
	last_ran_release(&lr);
	session_release(&sess);
	tk->code = 0;
	return NULL;
}

int procdump_take(pid_t pid, struct dump_proc *out, char *why, size_t why_size)
{
	memset(out, 0, sizeof(*out));
	struct take tk = {pid, out, why, why_size, EXIT_FAILURE_};
	/* The stop waits use sigtimedwait on SIGCHLD; the thread inherits
	 * the mask. */
	sigset_t block, orig;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &block, &orig);
	pthread_t th;
	if (pthread_create(&th, NULL, take_main, &tk)) {
		pthread_sigmask(SIG_SETMASK, &orig, NULL);
		error("cannot create a thread");
		return EXIT_FAILURE_;
	}
	pthread_join(th, NULL);
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
	return tk.code;
}
