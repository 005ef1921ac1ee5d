/*
 * views/trace.c: Chrome trace-event JSON, which Perfetto UI and
 * chrome://tracing open. One track per thread (named by thread_name
 * metadata events) carries its state as slices: consecutive samples in the
 * same state, call and object become one "X" (complete) event, named for a
 * person ("running", "blocked in read on /var/lib/x.db", "waiting for mutex
 * lock_a"), with the innermost frames of its first stack in args. Exact
 * syscall events, when recorded, are "X" slices on a second track per
 * thread, so that they never overlap the state slices.
 *
 * Times are microseconds (the format's unit), as decimals to keep ns.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "util.h"
#include "views.h"

/* The tid of the exact-events track of a thread: far from real tids. */
#define EVENTS_TID_BASE 1000000000

static void put_json_string(FILE *f, const char *s)
{
	json_t *j = json_string(s);
	if (!j)
		j = json_string("?"); /* not UTF-8 */
	json_dumpf(j, f, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	json_decref(j);
}

static const char *slice_name(const struct profile *p, const struct profile_sample *s, char *buf,
			      size_t size)
{
	char obj[400], label[96];
	const char *sc = s->syscall >= 0 ? syscall_name_or_number(s->syscall) : NULL;
	switch (s->state) {
	case ST_ONCPU: return "running";
	case ST_RUNNABLE: return "runnable (waiting for a CPU)";
	case ST_STOPPED: return "stopped";
	case ST_LOCK:
		if (s->object >= 0)
			snprintf(buf, size, "waiting for %s",
				 object_text(p, s->object, obj, sizeof(obj)));
		else
			snprintf(buf, size, "lock wait (%s)", sc ? sc : "futex");
		return buf;
	default:
		if (sc && s->object >= 0)
			snprintf(buf, size, "%s in %s on %s",
				 s->state == ST_DISK ? "disk wait" : "blocked", sc,
				 object_text(p, s->object, obj, sizeof(obj)));
		else
			snprintf(buf, size, "%s", sample_state_text(s, label, sizeof(label)));
		return buf;
	}
}

static void put_stack_args(FILE *f, const struct profile *p, uint32_t stack)
{
	fputs(",\"args\":{\"stack\":", f);
	char buf[1024];
	size_t len = 0;
	buf[0] = '\0';
	const struct profile_stack *st = &p->stacks[stack];
	for (uint32_t j = 0; j < st->n && j < 8 && len < sizeof(buf) - 1; j++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", j ? " <- " : "",
					p->frames[st->frames[j]].function);
	put_json_string(f, buf);
	fputs("}", f);
}

static bool same_slice(const struct profile_sample *a, const struct profile_sample *b)
{
	return a->state == b->state && a->syscall == b->syscall && a->object == b->object;
}

static int trace_write(const struct profile *p, const struct view_opts *o, FILE *f)
{
	uint64_t period = NS_PER_SEC / (p->frequency_hz ? p->frequency_hz : 1);
	fputs("{\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"producer\":\"wallprof\"},\n"
	      "\"traceEvents\":[\n",
	      f);
	/* A track group per process: each thread under its own process. */
	fprintf(f,
		"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":",
		p->pid);
	put_json_string(f, p->argc ? p->argv[0] : "process");
	fputs("}}", f);
	for (size_t i = 0; i < p->n_processes; i++) {
		const struct profile_process *pp = &p->processes[i];
		if (pp->pid == p->pid || !pp->pid)
			continue;
		fprintf(f,
			",\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
			"\"args\":{\"name\":",
			pp->pid);
		put_json_string(f, pp->title && *pp->title ? pp->title : "process");
		fputs("}}", f);
	}
	for (size_t t = 0; t < p->n_threads; t++) {
		const struct profile_thread *th = &p->threads[t];
		int pid = th->pid ? th->pid : p->pid;
		char name[128];
		snprintf(name, sizeof(name), "%s (%d)", profile_thread_name(th), th->tid);
		fprintf(f,
			",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":",
			pid, th->tid);
		put_json_string(f, name);
		fputs("}}", f);
		if (p->n_events) {
			snprintf(name, sizeof(name), "%s (%d) calls", profile_thread_name(th),
				 th->tid);
			fprintf(f,
				",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,"
				"\"args\":{\"name\":",
				pid, EVENTS_TID_BASE + th->tid);
			put_json_string(f, name);
			fputs("}}", f);
		}
		/* Slices: runs of like samples of this thread, in time order
		 * (samples are recorded in time order). */
		const struct profile_sample *start = NULL, *last = NULL;
		for (size_t k = 0; k <= p->n_samples; k++) {
			const struct profile_sample *s = k < p->n_samples ? &p->samples[k] : NULL;
			if (s && (s->tid != th->tid || !view_sample_selected(o, s)))
				continue;
			if (s && start && same_slice(s, start) &&
			    s->t_ns <= last->t_ns + 2 * period) {
				last = s;
				continue;
			}
			if (start) {
				char buf[512];
				uint64_t dur = last->t_ns + period - start->t_ns;
				fprintf(f,
					",\n{\"ph\":\"X\",\"cat\":\"state\",\"pid\":%d,\"tid\":%d,"
					"\"ts\":%.3f,\"dur\":%.3f,\"name\":",
					pid, th->tid, (double)start->t_ns / 1e3, (double)dur / 1e3);
				put_json_string(f, slice_name(p, start, buf, sizeof(buf)));
				put_stack_args(f, p, start->stack);
				fputs("}", f);
			}
			start = last = s;
		}
	}
	for (size_t i = 0; i < p->n_events; i++) {
		const struct profile_event *e = &p->events[i];
		const struct profile_thread *th = profile_find_thread(p, e->tid);
		char call[512];
		fprintf(f,
			",\n{\"ph\":\"X\",\"cat\":\"syscall\",\"pid\":%d,\"tid\":%d,\"ts\":%.3f,"
			"\"dur\":%.3f,\"name\":",
			th && th->pid ? th->pid : p->pid, EVENTS_TID_BASE + e->tid,
			(double)e->t_ns / 1e3, (double)e->duration_ns / 1e3);
		put_json_string(f, call_text(p, e->syscall, e->args, e->object,
					     profile_event_wait_set(p, e), call, sizeof(call)));
		if (e->stack != UINT32_MAX)
			put_stack_args(f, p, e->stack);
		fputs("}", f);
	}
	fputs("\n]}\n", f);
	return ferror(f) ? -1 : 0;
}

static const char *const trace_exts[] = {".trace.json", NULL};
const struct view view_trace = {"trace", trace_exts, trace_write};
