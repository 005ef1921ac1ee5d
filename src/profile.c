/*
 * profile.c: the profile in memory, and its JSON form (Jansson).
 *
 * The writer emits the small members through Jansson and the samples, which
 * may number millions, row by row, so writing never builds a tree as big as
 * the profile. The reader validates every value it uses: a malformed or
 * foreign file yields a one-line reason, never a crash.
 */
#include "profile.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "stacks.h"
#include "syscalls.h"
#include "util.h"

void profile_init(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	p->exit_status = -1;
}

void profile_release(struct profile *p)
{
	for (int i = 0; i < p->argc; i++)
		free(p->argv[i]);
	free(p->argv);
	free(p->mode);
	free(p->host);
	free(p->kernel);
	free(p->version);
	for (size_t i = 0; i < p->n_threads; i++) {
		for (size_t k = 0; k < p->threads[i].n_names; k++)
			free(p->threads[i].names[k]);
		free(p->threads[i].names);
	}
	free(p->threads);
	for (size_t i = 0; i < p->n_processes; i++) {
		free(p->processes[i].title);
		free(p->processes[i].exe);
	}
	free(p->processes);
	for (size_t i = 0; i < p->n_frames; i++) {
		free(p->frames[i].function);
		free(p->frames[i].module);
		free(p->frames[i].file);
	}
	free(p->frames);
	for (size_t i = 0; i < p->n_stacks; i++)
		free(p->stacks[i].frames);
	free(p->stacks);
	free(p->samples);
	for (size_t i = 0; i < p->n_binaries; i++) {
		free(p->binaries[i].path);
		free(p->binaries[i].build_id);
		free(p->binaries[i].producer);
	}
	free(p->binaries);
	for (size_t i = 0; i < p->n_objects; i++) {
		free(p->objects[i].kind);
		free(p->objects[i].name);
		free(p->objects[i].lock_kind);
	}
	free(p->objects);
	free(p->syscalls);
	free(p->events);
	for (size_t i = 0; i < p->n_wait_sets; i++)
		free(p->wait_sets[i]);
	free(p->wait_sets);
	free(p->tracing.method);
	for (size_t i = 0; i < p->tracing.n_names; i++)
		free(p->tracing.names[i]);
	free(p->tracing.names);
	profile_init(p);
}

const struct profile_thread *profile_find_thread(const struct profile *p, int tid)
{
	for (size_t i = 0; i < p->n_threads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

const struct profile_process *profile_find_process(const struct profile *p, int pid)
{
	for (size_t i = 0; i < p->n_processes; i++)
		if (p->processes[i].pid == pid)
			return &p->processes[i];
	return NULL;
}

const char *profile_thread_name(const struct profile_thread *t)
{
	return t && t->n_names ? t->names[t->n_names - 1] : "?";
}

const char *profile_event_wait_set(const struct profile *p, const struct profile_event *e)
{
	return e->wait_set && e->wait_set <= p->n_wait_sets ? p->wait_sets[e->wait_set - 1] : NULL;
}

/* ---- writing ---- */

/* A string of bytes, escaped into valid UTF-8 (bytes_escape). */
static json_t *jbytes(const char *s)
{
	char *e = bytes_escape(s ? s : "");
	json_t *j = json_string(e);
	free(e);
	return j ? j : json_string("?");
}

static json_t *str_or_null(const char *s)
{
	return s ? jbytes(s) : json_null();
}

static json_t *metadata_json(const struct profile *p)
{
	json_t *argv = json_array();
	for (int i = 0; i < p->argc; i++)
		json_array_append_new(argv, jbytes(p->argv[i]));
	json_t *bins = json_array();
	for (size_t i = 0; i < p->n_binaries; i++) {
		const struct profile_binary *b = &p->binaries[i];
		json_array_append_new(
			bins, json_pack("{s:o, s:o, s:I, s:I, s:b, s:b, s:b, s:b, s:b, s:o}",
					"path", jbytes(b->path), "build_id",
					str_or_null(b->build_id), "start", (json_int_t)b->start,
					"end", (json_int_t)b->end, "has_symbols", b->has_symbols,
					"symtab", b->symtab, "unwind_tables", b->unwind_tables,
					"has_debuginfo", b->has_debuginfo, "unoptimized",
					b->unoptimized, "producer", str_or_null(b->producer)));
	}
	json_t *m = json_pack("{s:o, s:i, s:s, s:I, s:I, s:i, s:s, s:s, s:i, s:s, s:o}", "command",
			      argv, "pid", p->pid, "mode", p->mode ? p->mode : "attach",
			      "start_unix_ns", (json_int_t)p->start_unix_ns, "duration_ns",
			      (json_int_t)p->duration_ns, "frequency_hz", (int)p->frequency_hz,
			      "host", p->host ? p->host : "", "kernel", p->kernel ? p->kernel : "",
			      "cpus", p->cpus, "wallprof_version", p->version ? p->version : "",
			      "binaries", bins);
	if (p->exit_status >= 0)
		json_object_set_new(m, "exit_status", json_integer(p->exit_status));
	return m;
}

static json_t *threads_json(const struct profile *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_threads; i++) {
		const struct profile_thread *t = &p->threads[i];
		json_t *names = json_array();
		for (size_t k = 0; k < t->n_names; k++)
			json_array_append_new(names, jbytes(t->names[k]));
		json_t *o = json_pack("{s:i, s:o, s:I, s:I}", "tid", t->tid, "names", names,
				      "first_seen_ns", (json_int_t)t->first_ns, "last_seen_ns",
				      (json_int_t)t->last_ns);
		if (t->pid)
			json_object_set_new(o, "pid", json_integer(t->pid));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *processes_json(const struct profile *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_processes; i++) {
		const struct profile_process *pp = &p->processes[i];
		json_array_append_new(a, json_pack("{s:i, s:o, s:o}", "pid", pp->pid, "title",
						   jbytes(pp->title), "exe", jbytes(pp->exe)));
	}
	return a;
}

static json_t *frames_json(const struct profile *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_frames; i++) {
		const struct profile_frame *f = &p->frames[i];
		json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:i, s:b, s:I}", "function",
						   jbytes(f->function), "module",
						   str_or_null(f->module), "file",
						   str_or_null(f->file), "line", f->line, "inlined",
						   f->inlined, "address", (json_int_t)f->address));
	}
	return a;
}

static json_t *stacks_json(const struct profile *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_stacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		json_t *fr = json_array();
		for (uint32_t k = 0; k < s->n; k++)
			json_array_append_new(fr, json_integer(s->frames[k]));
		json_array_append_new(
			a, json_pack("{s:o, s:b}", "frames", fr, "truncated", s->truncated));
	}
	return a;
}

static json_t *stats_json(const struct profile_stats *s)
{
	return json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		"s:I, s:I, s:I, s:I}",
		"ticks", (json_int_t)s->ticks, "ticks_missed", (json_int_t)s->ticks_missed,
		"tick_late_ns", (json_int_t)s->tick_late_ns, "samples", (json_int_t)s->samples,
		"stops", (json_int_t)s->stops, "late_samples", (json_int_t)s->late_samples,
		"reused", (json_int_t)s->reused, "nostop", (json_int_t)s->nostop, "pc_only",
		(json_int_t)s->pc_only, "clock_vouched", (json_int_t)s->clock_vouched, "late_stops",
		(json_int_t)s->late_stops, "stops_skipped", (json_int_t)s->stops_skipped,
		"stop_ns_p50", (json_int_t)s->stop_ns_p50, "stop_ns_p99",
		(json_int_t)s->stop_ns_p99, "stop_ns_max", (json_int_t)s->stop_ns_max,
		"unwind_errors", (json_int_t)s->unwind_errors, "eintr_risk",
		(json_int_t)s->eintr_risk, "eintr_repaired", (json_int_t)s->eintr_repaired,
		"transfers_continued", (json_int_t)s->transfers_continued, "threads_lost",
		(json_int_t)s->threads_lost, "symbolize_ns", (json_int_t)s->symbolize_ns);
}

/* Every name libseccomp knows: samples may be streamed out already, and
 * the table is small. */
static json_t *syscall_names_json(void)
{
	json_t *o = json_object();
	for (int nr = 0; nr < SYSCALL_SET_MAX; nr++) {
		char key[16];
		if (!syscall_name(nr))
			continue;
		snprintf(key, sizeof(key), "%d", nr);
		json_object_set_new(o, key, json_string(syscall_name(nr)));
	}
	return o;
}

static json_t *objects_json(const struct profile *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_objects; i++) {
		const struct profile_object *o = &p->objects[i];
		json_t *j = json_pack("{s:s, s:o}", "kind", o->kind, "name", jbytes(o->name));
		if (o->fd >= 0)
			json_object_set_new(j, "fd", json_integer(o->fd));
		if (o->address)
			json_object_set_new(j, "address", json_integer((json_int_t)o->address));
		if (o->lock_kind)
			json_object_set_new(j, "lock_kind", json_string(o->lock_kind));
		if (o->peer_pid)
			json_object_set_new(j, "peer_pid", json_integer(o->peer_pid));
		if (o->traced_calls) {
			json_object_set_new(j, "traced_calls",
					    json_integer((json_int_t)o->traced_calls));
			json_object_set_new(j, "traced_ns", json_integer((json_int_t)o->traced_ns));
		}
		if (o->bytes_read || o->bytes_written) {
			json_object_set_new(j, "bytes_read",
					    json_integer((json_int_t)o->bytes_read));
			json_object_set_new(j, "bytes_written",
					    json_integer((json_int_t)o->bytes_written));
		}
		json_array_append_new(a, j);
	}
	return a;
}

static json_t *syscalls_json(const struct profile *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_syscalls; i++) {
		const struct profile_syscall *c = &p->syscalls[i];
		json_array_append_new(
			a, json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "name",
				     syscall_name_or_number(c->nr), "nr", c->nr, "count",
				     (json_int_t)c->count, "errors", (json_int_t)c->errors,
				     "total_ns", (json_int_t)c->total_ns, "max_ns",
				     (json_int_t)c->max_ns, "p50_ns", (json_int_t)c->p50_ns,
				     "p99_ns", (json_int_t)c->p99_ns));
	}
	return a;
}

static json_t *events_json(const struct profile *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_events; i++) {
		const struct profile_event *e = &p->events[i];
		json_t *args = json_array();
		for (int k = 0; k < 6; k++)
			json_array_append_new(args, json_integer((json_int_t)e->args[k]));
		json_t *j =
			json_pack("{s:I, s:I, s:i, s:s, s:o, s:I}", "time_ns", (json_int_t)e->t_ns,
				  "duration_ns", (json_int_t)e->duration_ns, "tid", e->tid,
				  "syscall", syscall_name_or_number(e->syscall), "args", args,
				  "result", (json_int_t)e->result);
		json_object_set_new(j, "stack",
				    e->stack == UINT32_MAX ? json_null() : json_integer(e->stack));
		json_object_set_new(j, "object", json_integer(e->object));
		if (e->owner)
			json_object_set_new(j, "owner", json_integer(e->owner));
		const char *set = profile_event_wait_set(p, e);
		if (set)
			json_object_set_new(j, "wait_set", jbytes(set));
		if (e->unfinished)
			json_object_set_new(j, "unfinished", json_true());
		json_array_append_new(a, j);
	}
	return a;
}

static json_t *tracing_json(const struct profile *p)
{
	const struct profile_tracing *t = &p->tracing;
	json_t *names = json_array();
	for (size_t i = 0; i < t->n_names; i++)
		json_array_append_new(names, json_string(t->names[i]));
	return json_pack("{s:b, s:b, s:o, s:I, s:o}", "syscalls", t->syscalls, "locks", t->locks,
			 "method", str_or_null(t->method), "threshold_ns",
			 (json_int_t)t->threshold_ns, "traced", names);
}

/* Write `,"key":value` (stealing value). */
static int put_member(FILE *f, const char *key, json_t *value, bool first)
{
	if (!value)
		return -1;
	fprintf(f, "%s\"%s\":", first ? "" : ",\n", key);
	int r = json_dumpf(value, f, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	json_decref(value);
	return r;
}

/* Integers by hand: millions of rows, and printf is most of their cost. */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

void profile_write_sample(FILE *f, const struct profile_sample *s, bool first)
{
	char buf[160], *p = buf;
	if (!first)
		*p++ = ',';
	*p++ = '\n';
	*p++ = '[';
	p = put_u64(p, s->t_ns);
	*p++ = ',';
	p = put_i64(p, s->tid);
	*p++ = ',';
	p = put_u64(p, s->stack);
	*p++ = ',';
	p = put_u64(p, s->state);
	*p++ = ',';
	p = put_i64(p, s->syscall);
	*p++ = ',';
	p = put_i64(p, s->object);
	*p++ = ',';
	p = put_i64(p, s->owner);
	*p++ = ']';
	fwrite(buf, 1, (size_t)(p - buf), f);
}

void profile_write_head(FILE *f, const struct profile_head *h)
{
	/* What a recording cut short needs to be read right comes first: its
	 * rate and start (the metadata is written at the end). */
	fprintf(f,
		"{\"format\":\"%s\",\n\"version\":%d,\n\"string_escapes\":true,\n"
		"\"stream\":{\"frequency_hz\":%u,\"start_unix_ns\":%llu,\"pid\":%d},\n"
		"\"sample_columns\":"
		"[\"time_ns\",\"tid\",\"stack\",\"state\",\"syscall\",\"object\",\"owner\"],\n"
		"\"samples\":[",
		PROFILE_FORMAT, PROFILE_VERSION, h ? h->frequency_hz : 0,
		(unsigned long long)(h ? h->start_unix_ns : 0), h ? h->pid : 0);
}

int profile_write_json(const struct profile *p, FILE *f)
{
	json_t *states = json_array();
	for (int i = 0; i < ST__COUNT; i++)
		json_array_append_new(states, json_string(state_name(i)));

	int r = 0;
	if (!p->samples_streamed) {
		struct profile_head h = {p->frequency_hz, p->start_unix_ns, p->pid};
		profile_write_head(f, &h);
		for (size_t i = 0; i < p->n_samples; i++)
			profile_write_sample(f, &p->samples[i], i == 0);
	}
	/* The samples array is open: close it, then everything else. */
	fputs("],\n", f);
	r |= put_member(f, "metadata", metadata_json(p), true);
	r |= put_member(f, "threads", threads_json(p), false);
	r |= put_member(f, "processes", processes_json(p), false);
	r |= put_member(f, "frames", frames_json(p), false);
	r |= put_member(f, "stacks", stacks_json(p), false);
	r |= put_member(f, "states", states, false);
	r |= put_member(f, "syscall_names", syscall_names_json(), false);
	r |= put_member(f, "objects", objects_json(p), false);
	r |= put_member(f, "tracing", tracing_json(p), false);
	r |= put_member(f, "syscalls", syscalls_json(p), false);
	r |= put_member(f, "events", events_json(p), false);
	r |= put_member(f, "stats", stats_json(&p->stats), false);
	fputs("}\n", f);
	if (r || ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

/* ---- reading ---- */

struct reader {
	char *err;
	size_t err_size;
};

static int fail(struct reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct reader *rd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rd->err, rd->err_size, fmt, ap);
	va_end(ap);
	return -1;
}

static bool get_int(json_t *obj, const char *key, long long min, long long max, long long *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v))
		return false;
	long long x = json_integer_value(v);
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

/* Set while reading a profile that escapes its byte strings. */
static bool strings_escaped;

static char *get_str(json_t *obj, const char *key)
{
	json_t *s = json_object_get(obj, key);
	if (json_is_string(s) && strings_escaped)
		return bytes_unescape(json_string_value(s));
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

/* The events' wait sets, each distinct text kept once. */
static void read_wait_sets(json_t *events, struct profile *p)
{
	struct strmap ids;
	size_t cap = 0;
	strmap_init(&ids);
	for (size_t i = 0; i < p->n_events; i++) {
		char *set = get_str(json_array_get(events, i), "wait_set");
		if (!set)
			continue;
		p->events[i].wait_set =
			strmap_intern(&ids, &p->wait_sets, &p->n_wait_sets, &cap, set);
		free(set);
	}
	strmap_release(&ids);
}

static int read_metadata(struct reader *rd, json_t *m, struct profile *p)
{
	if (!json_is_object(m))
		return fail(rd, "metadata: not an object");
	json_t *argv = json_object_get(m, "command");
	if (json_is_array(argv)) {
		size_t n = json_array_size(argv);
		p->argv = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++) {
			json_t *a = json_array_get(argv, i);
			p->argv[p->argc++] = !json_is_string(a) ? xstrdup("?")
					     : strings_escaped
						     ? bytes_unescape(json_string_value(a))
						     : xstrdup(json_string_value(a));
		}
	}
	long long v;
	p->pid = get_int(m, "pid", 0, INT32_MAX, &v) ? (int)v : 0;
	p->start_unix_ns = get_int(m, "start_unix_ns", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
	if (!get_int(m, "duration_ns", 0, INT64_MAX, &v))
		return fail(rd, "metadata: missing duration_ns");
	p->duration_ns = (uint64_t)v;
	if (!get_int(m, "frequency_hz", 1, 1000000, &v))
		return fail(rd, "metadata: missing or bad frequency_hz");
	p->frequency_hz = (unsigned)v;
	p->cpus = get_int(m, "cpus", 0, 1 << 20, &v) ? (int)v : 0;
	p->exit_status = get_int(m, "exit_status", 0, 255, &v) ? (int)v : -1;
	p->mode = get_str(m, "mode");
	p->host = get_str(m, "host");
	p->kernel = get_str(m, "kernel");
	p->version = get_str(m, "wallprof_version");
	json_t *bins = json_object_get(m, "binaries");
	if (json_is_array(bins)) {
		size_t n = json_array_size(bins);
		p->binaries = xcalloc(n, sizeof(*p->binaries));
		for (size_t i = 0; i < n; i++) {
			json_t *b = json_array_get(bins, i);
			if (!json_is_object(b) || !json_is_string(json_object_get(b, "path")))
				return fail(rd, "metadata.binaries[%zu]: not a binary", i);
			struct profile_binary *pb = &p->binaries[p->n_binaries++];
			pb->path = get_str(b, "path");
			pb->build_id = get_str(b, "build_id");
			pb->producer = get_str(b, "producer");
			pb->has_symbols = json_is_true(json_object_get(b, "has_symbols"));
			/* Absent in profiles before format 2's second edition: no
			 * warning can be based on them. */
			pb->symtab = !json_is_false(json_object_get(b, "symtab"));
			pb->unwind_tables = !json_is_false(json_object_get(b, "unwind_tables"));
			pb->has_debuginfo = json_is_true(json_object_get(b, "has_debuginfo"));
			pb->unoptimized = json_is_true(json_object_get(b, "unoptimized"));
			pb->start = get_int(b, "start", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
			pb->end = get_int(b, "end", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		}
	}
	return 0;
}

static int read_threads(struct reader *rd, json_t *a, struct profile *p)
{
	if (!json_is_array(a))
		return fail(rd, "threads: not an array");
	size_t n = json_array_size(a);
	p->threads = xcalloc(n, sizeof(*p->threads));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);
		struct profile_thread *t = &p->threads[i];
		long long v;
		if (!json_is_object(o) || !get_int(o, "tid", 1, INT32_MAX, &v))
			return fail(rd, "threads[%zu]: missing tid", i);
		t->tid = (int)v;
		t->pid = get_int(o, "pid", 1, INT32_MAX, &v) ? (int)v : 0;
		t->first_ns = get_int(o, "first_seen_ns", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		t->last_ns = get_int(o, "last_seen_ns", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		json_t *names = json_object_get(o, "names");
		size_t k;
		json_t *nm;
		if (json_is_array(names)) {
			t->names = xcalloc(json_array_size(names) + 1, sizeof(char *));
			json_array_foreach(names, k, nm) if (json_is_string(nm))
				t->names[t->n_names++] =
				strings_escaped ? bytes_unescape(json_string_value(nm))
						: xstrdup(json_string_value(nm));
		}
		p->n_threads++;
	}
	return 0;
}

/* Optional: profiles before it have none. */
static int read_processes(struct reader *rd, json_t *a, struct profile *p)
{
	if (!a)
		return 0;
	if (!json_is_array(a))
		return fail(rd, "processes: not an array");
	size_t n = json_array_size(a);
	p->processes = xcalloc(n + 1, sizeof(*p->processes));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);
		long long v;
		if (!json_is_object(o) || !get_int(o, "pid", 1, INT32_MAX, &v))
			return fail(rd, "processes[%zu]: missing pid", i);
		struct profile_process *pp = &p->processes[p->n_processes++];
		pp->pid = (int)v;
		pp->title = get_str(o, "title");
		pp->exe = get_str(o, "exe");
	}
	return 0;
}

static int read_frames(struct reader *rd, json_t *a, struct profile *p)
{
	if (!json_is_array(a))
		return fail(rd, "frames: not an array");
	size_t n = json_array_size(a);
	p->frames = xcalloc(n, sizeof(*p->frames));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);
		if (!json_is_object(o) || !json_is_string(json_object_get(o, "function")))
			return fail(rd, "frames[%zu]: missing function", i);
		struct profile_frame *f = &p->frames[i];
		long long v;
		f->function = get_str(o, "function");
		f->module = get_str(o, "module");
		f->file = get_str(o, "file");
		f->line = get_int(o, "line", 0, INT32_MAX, &v) ? (int)v : 0;
		f->inlined = json_is_true(json_object_get(o, "inlined"));
		f->address = get_int(o, "address", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		p->n_frames++;
	}
	return 0;
}

static int read_stacks(struct reader *rd, json_t *a, struct profile *p)
{
	if (!json_is_array(a))
		return fail(rd, "stacks: not an array");
	size_t n = json_array_size(a);
	p->stacks = xcalloc(n, sizeof(*p->stacks));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);
		json_t *fr = json_object_get(o, "frames");
		if (!json_is_array(fr))
			return fail(rd, "stacks[%zu]: missing frames", i);
		struct profile_stack *s = &p->stacks[i];
		p->n_stacks++;
		s->n = (uint32_t)json_array_size(fr);
		s->frames = xcalloc(s->n, sizeof(*s->frames));
		s->truncated = json_is_true(json_object_get(o, "truncated"));
		for (uint32_t k = 0; k < s->n; k++) {
			json_t *v = json_array_get(fr, k);
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    (size_t)json_integer_value(v) >= p->n_frames)
				return fail(rd, "stacks[%zu]: frame out of range", i);
			s->frames[k] = (uint32_t)json_integer_value(v);
		}
	}
	return 0;
}

/*
 * The samples, millions of rows, are not given to Jansson: a tree of them
 * would take gigabytes. One pass over the file copies everything else into
 * a buffer for Jansson (with "samples":[] in their place) and parses the
 * rows of the top-level "samples" array straight into p->samples. Column
 * values are range-checked here; stacks, states and objects once the rest
 * of the document is known (check_samples).
 */
struct scan {
	FILE *f;
	bool cut; /* the file ended inside the samples */
	char *rest; /* the document without the sample rows */
	size_t len, cap;
	size_t line;
};

static void rest_put(struct scan *sc, int c)
{
	if (sc->len + 2 > sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 1 << 16;
		sc->rest = xrealloc(sc->rest, sc->cap);
	}
	sc->rest[sc->len++] = (char)c;
}

static int next_nonspace(struct scan *sc)
{
	int c;
	while ((c = getc_unlocked(sc->f)) == ' ' || c == '\n' || c == '\t' || c == '\r')
		sc->line += c == '\n';
	return c;
}

/* One integer of a row; *c holds the character after it. */
static bool scan_int(struct scan *sc, int *c, long long *out)
{
	bool neg = false;
	unsigned long long v = 0;
	int digits = 0;
	*c = next_nonspace(sc);
	if (*c == '-') {
		neg = true;
		*c = getc_unlocked(sc->f);
	}
	while (*c >= '0' && *c <= '9') {
		if (++digits > 19)
			return false;
		v = v * 10 + (unsigned long long)(*c - '0');
		*c = getc_unlocked(sc->f);
	}
	if (!digits || v > (unsigned long long)INT64_MAX)
		return false;
	*out = neg ? -(long long)v : (long long)v;
	if (*c == ' ' || *c == '\n' || *c == '\t' || *c == '\r') {
		sc->line += *c == '\n';
		*c = next_nonspace(sc);
	}
	return true;
}

/* The file ended inside the samples: a recording cut short (wallprof was
 * killed). The complete rows read so far are kept. */
static int cut_short(struct scan *sc, struct profile *p, size_t cap)
{
	sc->cut = true;
	p->cap_samples = cap;
	return 0;
}

static int scan_rows(struct reader *rd, struct scan *sc, struct profile *p)
{
	size_t cap = 0;
	int c = next_nonspace(sc);
	if (c == ']')
		return 0;
	for (size_t i = 0;; i++) {
		if (c == EOF)
			return cut_short(sc, p, cap);
		if (c != '[')
			return fail(rd, "samples[%zu]: not a row", i);
		long long v[7];
		int cols = 0;
		for (;;) {
			if (cols == 7 || !scan_int(sc, &c, &v[cols])) {
				if (feof(sc->f))
					return cut_short(sc, p, cap);
				return fail(rd,
					    "samples[%zu]: not a 5- or 7-column row of integers",
					    i);
			}
			cols++;
			if (c == ']')
				break;
			if (c == EOF)
				return cut_short(sc, p, cap);
			if (c != ',')
				return fail(rd,
					    "samples[%zu]: not a 5- or 7-column row of integers",
					    i);
		}
		if (cols != 5 && cols != 7)
			return fail(rd, "samples[%zu]: not a 5- or 7-column row", i);
		long long obj = cols == 7 ? v[5] : -1, owner = cols == 7 ? v[6] : 0;
		if (v[0] < 0 || v[1] <= 0 || v[1] > INT32_MAX)
			return fail(rd, "samples[%zu]: bad time or tid", i);
		if (v[2] < 0 || v[2] > UINT32_MAX || v[3] < 0 || v[3] > 63)
			return fail(rd, "samples[%zu]: stack or state out of range", i);
		if (v[4] < -1 || v[4] > 4096)
			return fail(rd, "samples[%zu]: bad syscall %lld", i, v[4]);
		if (obj < -1 || obj > INT32_MAX || owner < 0 || owner > INT32_MAX)
			return fail(rd, "samples[%zu]: bad object or owner", i);
		GROW(p->samples, cap, p->n_samples + 1);
		p->samples[p->n_samples++] = (struct profile_sample){
			(uint64_t)v[0], (int32_t)v[1], (uint32_t)v[2], (uint8_t)v[3],
			(int16_t)v[4],	(int32_t)obj,  (int32_t)owner};
		c = next_nonspace(sc);
		if (c == ']')
			break;
		if (c == EOF)
			return cut_short(sc, p, cap);
		if (c != ',')
			return fail(rd, "samples[%zu]: expected ',' or ']' after the row", i);
		c = next_nonspace(sc);
	}
	p->cap_samples = cap;
	return 0;
}

/* Copy the document into sc->rest, parsing the top-level "samples" rows. */
#define MAX_NESTING 64

static int split_document(struct reader *rd, struct scan *sc, struct profile *p)
{
	int depth = 0, c;
	bool in_string = false, escape = false, samples_seen = false;
	char key[16];
	size_t key_len = 0;
	bool key_too_long = false, after_colon = false;
	const char *last_key = "";
	while ((c = getc_unlocked(sc->f)) != EOF) {
		sc->line += c == '\n';
		rest_put(sc, c);
		if (in_string) {
			if (escape) {
				escape = false;
			} else if (c == '\\') {
				escape = true;
			} else if (c == '"') {
				in_string = false;
				key[key_len < sizeof(key) ? key_len : sizeof(key) - 1] = '\0';
			} else if (depth == 1) {
				if (key_len < sizeof(key) - 1)
					key[key_len++] = (char)c;
				else
					key_too_long = true;
			}
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			key_len = 0;
			key_too_long = false;
			break;
		case ':':
			if (depth == 1) {
				last_key = key_too_long ? "" : key;
				after_colon = true;
			}
			break;
		case '{':
		case '[':
			if (depth == 1 && after_colon && c == '[' && !strcmp(last_key, "samples")) {
				if (samples_seen)
					return fail(rd, "two samples arrays");
				samples_seen = true;
				if (scan_rows(rd, sc, p) < 0)
					return -1;
				rest_put(sc, ']');
				break; /* depth unchanged: the array is closed */
			}
			/* A profile nests a few levels; a hostile file of
			 * brackets is refused here, before it is held in memory
			 * and parsed. */
			if (++depth > MAX_NESTING)
				return fail(rd, "line %zu: nested more than %d levels deep",
					    sc->line, MAX_NESTING);
			break;
		case '}':
		case ']': depth--; break;
		default: break;
		}
		if (c != ':' && c != ' ' && c != '\n' && c != '\t' && c != '\r')
			after_colon = c == ':' ? after_colon : false;
	}
	rest_put(sc, '\0'); /* NUL-terminate (and allocate, for an empty file) */
	sc->len--;
	if (ferror(sc->f))
		return fail(rd, "read error");
	return 0;
}

/* Map the file's state indices to ours and check stacks and objects. */
static int check_samples(struct reader *rd, json_t *states, struct profile *p)
{
	int state_map[64];
	size_t n_states = 0;
	if (!json_is_array(states) || json_array_size(states) > ARRAY_SIZE(state_map))
		return fail(rd, "states: not an array of state names");
	for (size_t i = 0; i < json_array_size(states); i++) {
		json_t *s = json_array_get(states, i);
		int st = json_is_string(s) ? state_from_name(json_string_value(s)) : -1;
		state_map[n_states++] = st < 0 ? ST_OTHER : st;
	}
	for (size_t i = 0; i < p->n_samples; i++) {
		struct profile_sample *s = &p->samples[i];
		if (s->stack >= p->n_stacks)
			return fail(rd, "samples[%zu]: stack %u out of range", i,
				    (unsigned)s->stack);
		if (s->state >= n_states)
			return fail(rd, "samples[%zu]: state %u out of range", i,
				    (unsigned)s->state);
		if (s->object >= 0 && (size_t)s->object >= p->n_objects)
			return fail(rd, "samples[%zu]: object %d out of range", i, (int)s->object);
		s->state = (uint8_t)state_map[s->state];
	}
	return 0;
}

static int read_objects(struct reader *rd, json_t *a, struct profile *p)
{
	if (!a)
		return 0; /* version 1 */
	if (!json_is_array(a))
		return fail(rd, "objects: not an array");
	size_t n = json_array_size(a);
	p->objects = xcalloc(n, sizeof(*p->objects));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);
		if (!json_is_object(o) || !json_is_string(json_object_get(o, "kind")) ||
		    !json_is_string(json_object_get(o, "name")))
			return fail(rd, "objects[%zu]: missing kind or name", i);
		struct profile_object *ob = &p->objects[p->n_objects++];
		long long v;
		ob->kind = get_str(o, "kind");
		ob->name = get_str(o, "name");
		ob->lock_kind = get_str(o, "lock_kind");
		ob->fd = get_int(o, "fd", 0, INT32_MAX, &v) ? (int)v : -1;
		ob->address = get_int(o, "address", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		ob->bytes_read = get_int(o, "bytes_read", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		ob->bytes_written = get_int(o, "bytes_written", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		ob->traced_calls = get_int(o, "traced_calls", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		ob->traced_ns = get_int(o, "traced_ns", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		ob->peer_pid = get_int(o, "peer_pid", 1, INT32_MAX, &v) ? (int32_t)v : 0;
	}
	return 0;
}

/* A syscall given by name in the profile, as its number; -1 if unknown. */
static int syscall_nr_of(json_t *name)
{
	if (!json_is_string(name))
		return -1;
	for (int nr = 0; nr < SYSCALL_SET_MAX; nr++) {
		const char *s = syscall_name(nr);
		if (s && !strcmp(s, json_string_value(name)))
			return nr;
	}
	return -1;
}

static int read_tracing(struct reader *rd, json_t *root, struct profile *p)
{
	json_t *t = json_object_get(root, "tracing");
	if (t && !json_is_object(t))
		return fail(rd, "tracing: not an object");
	if (t) {
		long long v;
		p->tracing.syscalls = json_is_true(json_object_get(t, "syscalls"));
		p->tracing.locks = json_is_true(json_object_get(t, "locks"));
		p->tracing.method = get_str(t, "method");
		p->tracing.threshold_ns =
			get_int(t, "threshold_ns", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
		json_t *names = json_object_get(t, "traced");
		if (json_is_array(names)) {
			p->tracing.names = xcalloc(json_array_size(names) + 1, sizeof(char *));
			size_t k;
			json_t *nm;
			json_array_foreach(names, k, nm) if (json_is_string(nm))
				p->tracing.names[p->tracing.n_names++] =
				xstrdup(json_string_value(nm));
		}
	}
	json_t *a = json_object_get(root, "syscalls");
	if (a) {
		if (!json_is_array(a))
			return fail(rd, "syscalls: not an array");
		p->syscalls = xcalloc(json_array_size(a) + 1, sizeof(*p->syscalls));
		for (size_t i = 0; i < json_array_size(a); i++) {
			json_t *o = json_array_get(a, i);
			struct profile_syscall *c = &p->syscalls[p->n_syscalls];
			long long v;
			if (!json_is_object(o) || !get_int(o, "count", 0, INT64_MAX, &v))
				return fail(rd, "syscalls[%zu]: missing count", i);
			c->count = (uint64_t)v;
			c->nr = get_int(o, "nr", 0, SYSCALL_SET_MAX - 1, &v)
					? (int)v
					: syscall_nr_of(json_object_get(o, "name"));
			if (c->nr < 0)
				return fail(rd, "syscalls[%zu]: unknown syscall", i);
#define U64(name) c->name = get_int(o, #name, 0, INT64_MAX, &v) ? (uint64_t)v : 0
			U64(errors);
			U64(total_ns);
			U64(max_ns);
			U64(p50_ns);
			U64(p99_ns);
#undef U64
			p->n_syscalls++;
		}
	}
	a = json_object_get(root, "events");
	if (a) {
		if (!json_is_array(a))
			return fail(rd, "events: not an array");
		p->events = xcalloc(json_array_size(a) + 1, sizeof(*p->events));
		for (size_t i = 0; i < json_array_size(a); i++) {
			json_t *o = json_array_get(a, i);
			struct profile_event *e = &p->events[p->n_events];
			long long v;
			if (!json_is_object(o) || !get_int(o, "time_ns", 0, INT64_MAX, &v))
				return fail(rd, "events[%zu]: missing time_ns", i);
			e->t_ns = (uint64_t)v;
			e->duration_ns =
				get_int(o, "duration_ns", 0, INT64_MAX, &v) ? (uint64_t)v : 0;
			if (!get_int(o, "tid", 1, INT32_MAX, &v))
				return fail(rd, "events[%zu]: missing tid", i);
			e->tid = (int32_t)v;
			int nr = syscall_nr_of(json_object_get(o, "syscall"));
			if (nr < 0)
				return fail(rd, "events[%zu]: unknown syscall", i);
			e->syscall = (int16_t)nr;
			json_t *args = json_object_get(o, "args");
			for (int k = 0; k < 6 && json_is_array(args); k++) {
				json_t *x = json_array_get(args, (size_t)k);
				e->args[k] =
					json_is_integer(x) ? (uint64_t)json_integer_value(x) : 0;
			}
			e->result = get_int(o, "result", INT64_MIN, INT64_MAX, &v) ? v : 0;
			e->stack = get_int(o, "stack", 0, (long long)p->n_stacks - 1, &v)
					   ? (uint32_t)v
					   : UINT32_MAX;
			e->object = get_int(o, "object", -1, (long long)p->n_objects - 1, &v)
					    ? (int32_t)v
					    : -1;
			e->owner = get_int(o, "owner", 0, INT32_MAX, &v) ? (int32_t)v : 0;
			e->unfinished = json_is_true(json_object_get(o, "unfinished"));
			p->n_events++;
		}
		read_wait_sets(a, p);
	}
	return 0;
}

static void read_stats(json_t *o, struct profile_stats *s)
{
	long long v;
#define STAT(name) s->name = get_int(o, #name, 0, INT64_MAX, &v) ? (uint64_t)v : 0
	STAT(ticks);
	STAT(ticks_missed);
	STAT(tick_late_ns);
	STAT(samples);
	STAT(stops);
	STAT(late_samples);
	STAT(reused);
	STAT(nostop);
	STAT(pc_only);
	STAT(clock_vouched);
	STAT(late_stops);
	STAT(stops_skipped);
	STAT(stop_ns_p50);
	STAT(stop_ns_p99);
	STAT(stop_ns_max);
	STAT(unwind_errors);
	STAT(eintr_risk);
	STAT(eintr_repaired);
	STAT(transfers_continued);
	STAT(threads_lost);
	STAT(symbolize_ns);
#undef STAT
}

/*
 * A recording cut short (wallprof killed with SIGKILL, which no handler can
 * catch): the head and the rows streamed so far are on disk, but not the
 * stacks, thread names or metadata, written at the end. Keep what can be
 * trusted: who was in which state and syscall, when. Stacks become one
 * placeholder frame each.
 */
static int salvage(struct reader *rd, struct scan *sc, struct profile *p)
{
	if (!strstr(sc->rest, "\"format\":\"" PROFILE_FORMAT "\""))
		return fail(rd, "not a wallprof profile");
	if (!p->n_samples)
		return fail(rd, "cut short before its first sample");
	p->partial = true;
	uint32_t max_stack = 0;
	uint64_t last_ns = 0;
	for (size_t i = 0; i < p->n_samples; i++) {
		struct profile_sample *s = &p->samples[i];
		if (s->stack > max_stack)
			max_stack = s->stack;
		if (s->t_ns > last_ns)
			last_ns = s->t_ns;
		if (s->state >= ST__COUNT)
			s->state = ST_OTHER;
		s->object = -1; /* objects were not written either */
	}
	p->n_frames = 1;
	p->frames = xcalloc(1, sizeof(*p->frames));
	p->frames[0].function = xstrdup("[stack not written: the recording was cut short]");
	p->n_stacks = (size_t)max_stack + 1;
	p->stacks = xcalloc(p->n_stacks, sizeof(*p->stacks));
	for (size_t i = 0; i < p->n_stacks; i++) {
		p->stacks[i].n = 1;
		p->stacks[i].frames = xcalloc(1, sizeof(uint32_t));
		p->stacks[i].truncated = true;
	}
	/* Threads from the samples; the rate from one thread's spacing. */
	struct u64map seen;
	u64map_init(&seen);
	p->threads = xcalloc(p->n_samples + 1, sizeof(*p->threads));
	uint64_t first_tid_t[2] = {0, 0};
	int first_tid = p->samples[0].tid, n_first = 0;
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		uint32_t at;
		if (!u64map_get(&seen, (uint64_t)s->tid, &at)) {
			at = (uint32_t)p->n_threads++;
			u64map_put(&seen, (uint64_t)s->tid, at);
			p->threads[at].tid = s->tid;
			p->threads[at].first_ns = s->t_ns;
			p->threads[at].names = xcalloc(2, sizeof(char *));
			p->threads[at].names[0] = xasprintf("tid %d", (int)s->tid);
			p->threads[at].n_names = 1;
		}
		p->threads[at].last_ns = s->t_ns;
		p->threads[at].samples++;
		if (s->tid == first_tid && n_first < 2)
			first_tid_t[n_first++] = s->t_ns;
	}
	u64map_release(&seen);
	uint64_t gap = n_first == 2 && first_tid_t[1] > first_tid_t[0]
			       ? first_tid_t[1] - first_tid_t[0]
			       : NS_PER_SEC / 99;
	p->frequency_hz = (unsigned)((NS_PER_SEC + gap / 2) / gap);
	/* The head says the rate (and the start) since the profile format
	 * has it: no guessing from the samples then. */
	const char *head = strstr(sc->rest, "\"stream\":{\"frequency_hz\":");
	unsigned hz;
	unsigned long long start;
	int pid;
	if (head &&
	    sscanf(head, "\"stream\":{\"frequency_hz\":%u,\"start_unix_ns\":%llu,\"pid\":%d", &hz,
		   &start, &pid) == 3 &&
	    hz) {
		p->frequency_hz = hz;
		gap = NS_PER_SEC / hz;
		p->start_unix_ns = start;
		p->pid = pid;
	}
	if (!p->frequency_hz)
		p->frequency_hz = 1;
	p->duration_ns = last_ns + gap;
	p->mode = xstrdup("?");
	p->stats.samples = p->n_samples;
	return 0;
}

/*
 * A recording streams its rows with the stack ids of raw addresses, and
 * stacks are indexed by those ids; addresses that symbolize alike (two pcs
 * in a function without line information) give equal stacks under two ids.
 * One id each, here, so that every view counts a stack once.
 */
static void merge_equal_stacks(struct profile *p)
{
	struct stack_table t;
	stack_table_init(&t);
	uint32_t *map = xcalloc(p->n_stacks + 1, sizeof(*map));
	uint64_t *v = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < p->n_stacks; i++) {
		const struct profile_stack *st = &p->stacks[i];
		GROW(v, cap, (size_t)st->n + 1);
		for (uint32_t k = 0; k < st->n; k++)
			v[k] = st->frames[k];
		map[i] = stack_intern(&t, v, st->n, st->truncated);
	}
	free(v);
	if (t.n < p->n_stacks) {
		struct profile_stack *merged = xcalloc(t.n + 1, sizeof(*merged));
		bool *placed = xcalloc(t.n + 1, sizeof(*placed));
		for (size_t i = 0; i < p->n_stacks; i++) {
			if (!placed[map[i]])
				merged[map[i]] = p->stacks[i];
			else
				free(p->stacks[i].frames);
			placed[map[i]] = true;
		}
		free(placed);
		free(p->stacks);
		p->stacks = merged;
		p->n_stacks = t.n;
		for (size_t i = 0; i < p->n_samples; i++)
			p->samples[i].stack = map[p->samples[i].stack];
		for (size_t i = 0; i < p->n_events; i++)
			if (p->events[i].stack != UINT32_MAX)
				p->events[i].stack = map[p->events[i].stack];
	}
	free(map);
	stack_table_release(&t);
}

int profile_read_json(const char *path, struct profile *p, char *err, size_t err_size)
{
	struct reader rd = {err, err_size};
	profile_init(p);
	struct scan sc = {.line = 1};
	if (!(sc.f = fopen_profile(path, "r")))
		return fail(&rd, "%s", strerror(errno ? errno : EIO));
	int r = split_document(&rd, &sc, p);
	fclose(sc.f);
	if (r < 0) {
		free(sc.rest);
		profile_release(p);
		return -1;
	}
	if (sc.cut) {
		r = salvage(&rd, &sc, p);
		free(sc.rest);
		if (r < 0)
			profile_release(p);
		return r;
	}
	json_error_t jerr;
	json_t *root = sc.rest ? json_loadb(sc.rest, sc.len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	free(sc.rest);
	if (!root) {
		profile_release(p);
		if (!sc.len)
			return fail(&rd, "empty file");
		return fail(&rd, "not valid JSON (%s)", jerr.text);
	}
	r = -1;
	json_t *fmt = json_object_get(root, "format");
	strings_escaped = json_is_true(json_object_get(root, "string_escapes"));
	long long version;
	if (!json_is_object(root) || !json_is_string(fmt) ||
	    strcmp(json_string_value(fmt), PROFILE_FORMAT)) {
		fail(&rd, "not a wallprof profile");
	} else if (!get_int(root, "version", 1, INT32_MAX, &version)) {
		fail(&rd, "profile has no version");
	} else if (version > PROFILE_VERSION) {
		fail(&rd, "profile version %lld is newer than this wallprof reads (%d)", version,
		     PROFILE_VERSION);
	} else if (!json_is_array(json_object_get(root, "samples"))) {
		fail(&rd, "samples: not an array");
	} else if (!read_metadata(&rd, json_object_get(root, "metadata"), p) &&
		   !read_threads(&rd, json_object_get(root, "threads"), p) &&
		   !read_processes(&rd, json_object_get(root, "processes"), p) &&
		   !read_frames(&rd, json_object_get(root, "frames"), p) &&
		   !read_stacks(&rd, json_object_get(root, "stacks"), p) &&
		   !read_objects(&rd, json_object_get(root, "objects"), p) &&
		   !read_tracing(&rd, root, p) &&
		   !check_samples(&rd, json_object_get(root, "states"), p)) {
		read_stats(json_object_get(root, "stats"), &p->stats);
		merge_equal_stacks(p);
		r = 0;
	}
	json_decref(root);
	if (r < 0)
		profile_release(p);
	return r;
}
