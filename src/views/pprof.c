/*
 * views/pprof.c: pprof's format (gzipped protobuf, encoded with
 * protobuf-c from proto/profile.proto), which `go tool pprof`, Pyroscope
 * and Parca ingest. Two sample types, samples/count and wall/nanoseconds;
 * each sample carries the thread ("name (tid)"), its tid and its state as
 * labels, and its stack leaf first, topped by the state frame
 * ("[blocked: read]"). Samples alike in all of these are merged.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hashmap.h"
#include "profile.pb-c.h"
#include "states.h"
#include "util.h"
#include "views.h"

typedef Perftools__Profiles__Profile PProfile;
typedef Perftools__Profiles__Sample PSample;
typedef Perftools__Profiles__Location PLocation;
typedef Perftools__Profiles__Function PFunction;
typedef Perftools__Profiles__Line PLine;
typedef Perftools__Profiles__Label PLabel;
typedef Perftools__Profiles__ValueType PValueType;
typedef Perftools__Profiles__Mapping PMapping;

struct strings {
	struct strmap index;
	char **v;
	size_t n, cap;
};

static int64_t str_id(struct strings *s, const char *str)
{
	uint32_t id;
	if (!str)
		str = "";
	if (strmap_get(&s->index, str, &id))
		return id;
	GROW(s->v, s->cap, s->n + 1);
	s->v[s->n] = xstrdup(str);
	strmap_put(&s->index, str, (uint32_t)s->n);
	return (int64_t)s->n++;
}

static PValueType *value_type(struct strings *s, const char *type, const char *unit)
{
	PValueType *v = xmalloc(sizeof(*v));
	perftools__profiles__value_type__init(v);
	v->type = str_id(s, type);
	v->unit = str_id(s, unit);
	return v;
}

/* One function and location per frame: function ids = frame index + 1. */
static PLocation *new_location(uint64_t id, uint64_t mapping, uint64_t address, uint64_t function,
			       int64_t line)
{
	PLocation *l = xmalloc(sizeof(*l));
	perftools__profiles__location__init(l);
	l->id = id;
	l->mapping_id = mapping;
	l->address = address;
	l->n_line = 1;
	l->line = xmalloc(sizeof(*l->line));
	l->line[0] = xmalloc(sizeof(PLine));
	perftools__profiles__line__init(l->line[0]);
	l->line[0]->function_id = function;
	l->line[0]->line = line;
	return l;
}

static PFunction *new_function(uint64_t id, int64_t name, int64_t file)
{
	PFunction *f = xmalloc(sizeof(*f));
	perftools__profiles__function__init(f);
	f->id = id;
	f->name = f->system_name = name;
	f->filename = file;
	return f;
}

static PLabel *label(struct strings *s, const char *key, const char *str, int64_t num)
{
	PLabel *l = xmalloc(sizeof(*l));
	perftools__profiles__label__init(l);
	l->key = str_id(s, key);
	if (str)
		l->str = str_id(s, str);
	else
		l->num = num;
	return l;
}

static int write_gzip(const uint8_t *data, size_t len, FILE *f)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	uint8_t out[65536];
	z.next_in = (uint8_t *)data;
	z.avail_in = (uInt)len;
	int rc;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		rc = deflate(&z, Z_FINISH);
		fwrite(out, 1, sizeof(out) - z.avail_out, f);
	} while (rc == Z_OK);
	deflateEnd(&z);
	return rc == Z_STREAM_END && !ferror(f) ? 0 : -1;
}

static void free_profile(PProfile *pp)
{
	for (size_t i = 0; i < pp->n_sample; i++) {
		for (size_t k = 0; k < pp->sample[i]->n_label; k++)
			free(pp->sample[i]->label[k]);
		free(pp->sample[i]->label);
		free(pp->sample[i]->location_id);
		free(pp->sample[i]->value);
		free(pp->sample[i]);
	}
	free(pp->sample);
	for (size_t i = 0; i < pp->n_location; i++) {
		free(pp->location[i]->line[0]);
		free(pp->location[i]->line);
		free(pp->location[i]);
	}
	free(pp->location);
	for (size_t i = 0; i < pp->n_function; i++)
		free(pp->function[i]);
	free(pp->function);
	for (size_t i = 0; i < pp->n_mapping; i++)
		free(pp->mapping[i]);
	free(pp->mapping);
	for (size_t i = 0; i < pp->n_sample_type; i++)
		free(pp->sample_type[i]);
	free(pp->sample_type);
	free(pp->period_type);
}

static int pprof_write(const struct profile *p, const struct view_opts *o, FILE *f)
{
	struct strings s = {0};
	strmap_init(&s.index);
	str_id(&s, ""); /* string 0 must be empty */
	PProfile pp;
	perftools__profiles__profile__init(&pp);
	uint64_t period = NS_PER_SEC / (p->frequency_hz ? p->frequency_hz : 1);
	pp.n_sample_type = 2;
	pp.sample_type = xmalloc(2 * sizeof(*pp.sample_type));
	pp.sample_type[0] = value_type(&s, "samples", "count");
	pp.sample_type[1] = value_type(&s, "wall", "nanoseconds");
	pp.period_type = value_type(&s, "wall", "nanoseconds");
	pp.period = (int64_t)period;
	pp.default_sample_type = 1; /* wall */
	pp.time_nanos = (int64_t)p->start_unix_ns;
	pp.duration_nanos = (int64_t)p->duration_ns;

	/* Mappings: one per binary; frames find theirs by module name. pprof
	 * takes the first for the program ("File:" in its reports): the
	 * recorded process's executable goes first. */
	const char *exe = NULL;
	for (size_t i = 0; i < p->n_processes && !exe; i++)
		if (p->processes[i].pid == p->pid && p->processes[i].exe[0])
			exe = p->processes[i].exe;
	pp.mapping = xcalloc(p->n_binaries + 1, sizeof(*pp.mapping));
	for (size_t i = 0; i < p->n_binaries; i++) {
		const struct profile_binary *b = &p->binaries[i];
		PMapping *m = xmalloc(sizeof(*m));
		perftools__profiles__mapping__init(m);
		m->id = i + 1;
		m->memory_start = b->start;
		m->memory_limit = b->end;
		m->filename = str_id(&s, b->path);
		m->build_id = str_id(&s, b->build_id);
		m->has_functions = b->has_symbols;
		m->has_filenames = m->has_line_numbers = m->has_inline_frames = b->has_debuginfo;
		pp.mapping[pp.n_mapping++] = m;
		if (exe && !strcmp(b->path, exe)) {
			/* The ids stay: only the order of the list tells. */
			pp.mapping[i] = pp.mapping[0];
			pp.mapping[0] = m;
			exe = NULL;
		}
	}
	pp.function = xcalloc(p->n_frames + 1, sizeof(*pp.function));
	pp.location = xcalloc(p->n_frames + 1, sizeof(*pp.location));
	for (size_t i = 0; i < p->n_frames; i++) {
		const struct profile_frame *fr = &p->frames[i];
		uint64_t mapping = 0;
		for (size_t b = 0; fr->module && b < p->n_binaries && !mapping; b++)
			if (!strcmp(base_name(p->binaries[b].path), fr->module))
				mapping = b + 1;
		pp.function[pp.n_function++] =
			new_function(i + 1, str_id(&s, fr->function), str_id(&s, fr->file));
		pp.location[pp.n_location++] =
			new_location(i + 1, mapping, fr->address, i + 1, fr->line);
	}

	/* Merge samples alike in thread, stack and state label. */
	struct strmap seen;
	strmap_init(&seen);
	size_t cap_samples = 0, cap_loc = p->n_frames + 1, cap_fn = p->n_frames + 1;
	struct strmap leaves; /* state label -> location id */
	strmap_init(&leaves);
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_sample *sm = &p->samples[k];
		if (!view_sample_selected(o, sm))
			continue;
		char leaf_buf[96], key[192];
		const char *leaf = sample_leaf_label(sm, leaf_buf, sizeof(leaf_buf));
		snprintf(key, sizeof(key), "%d/%u/%u/%s", (int)sm->tid, (unsigned)sm->stack,
			 (unsigned)sm->state, leaf);
		uint32_t at;
		if (strmap_get(&seen, key, &at)) {
			pp.sample[at]->value[0]++;
			pp.sample[at]->value[1] += (int64_t)period;
			continue;
		}
		uint32_t leaf_loc;
		if (!strmap_get(&leaves, leaf, &leaf_loc)) {
			GROW(pp.function, cap_fn, pp.n_function + 1);
			GROW(pp.location, cap_loc, pp.n_location + 1);
			leaf_loc = (uint32_t)pp.n_location + 1;
			pp.function[pp.n_function++] = new_function(leaf_loc, str_id(&s, leaf), 0);
			pp.location[pp.n_location++] = new_location(leaf_loc, 0, 0, leaf_loc, 0);
			strmap_put(&leaves, leaf, leaf_loc);
		}
		const struct profile_stack *st = &p->stacks[sm->stack];
		PSample *ps = xmalloc(sizeof(*ps));
		perftools__profiles__sample__init(ps);
		ps->n_location_id = st->n + 1;
		ps->location_id = xmalloc(ps->n_location_id * sizeof(*ps->location_id));
		ps->location_id[0] = leaf_loc;
		for (uint32_t j = 0; j < st->n; j++)
			ps->location_id[j + 1] = st->frames[j] + 1;
		ps->n_value = 2;
		ps->value = xmalloc(2 * sizeof(*ps->value));
		ps->value[0] = 1;
		ps->value[1] = (int64_t)period;
		char thread[128];
		snprintf(thread, sizeof(thread), "%s (%d)",
			 profile_thread_name(profile_find_thread(p, sm->tid)), (int)sm->tid);
		const char *proc = process_label(p, sm->tid);
		ps->n_label = proc ? 4 : 3;
		ps->label = xmalloc(4 * sizeof(*ps->label));
		ps->label[0] = label(&s, "thread", thread, 0);
		ps->label[1] = label(&s, "thread_id", NULL, sm->tid);
		ps->label[2] = label(&s, "state", state_name(sm->state), 0);
		if (proc)
			ps->label[3] = label(&s, "process", proc, 0);
		GROW(pp.sample, cap_samples, pp.n_sample + 1);
		strmap_put(&seen, key, (uint32_t)pp.n_sample);
		pp.sample[pp.n_sample++] = ps;
	}
	pp.n_string_table = s.n;
	pp.string_table = s.v;

	size_t len = perftools__profiles__profile__get_packed_size(&pp);
	uint8_t *buf = xmalloc(len + 1);
	perftools__profiles__profile__pack(&pp, buf);
	int r = write_gzip(buf, len, f);
	free(buf);

	free_profile(&pp);
	for (size_t i = 0; i < s.n; i++)
		free(s.v[i]);
	free(s.v);
	strmap_release(&s.index);
	strmap_release(&seen);
	strmap_release(&leaves);
	return r;
}

static const char *const pprof_exts[] = {".pb.gz", ".pprof", NULL};
const struct view view_pprof = {"pprof", pprof_exts, pprof_write};
