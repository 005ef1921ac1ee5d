/*
 * views/speedscope.c: speedscope's file format
 * (https://www.speedscope.app/file-format-schema.json): one "sampled"
 * profile per thread, stacks root first, each sample weighted by the wall
 * time it stands for (one sampling period, in nanoseconds). The state of a
 * sample is its top frame ("[blocked: read]"), so off-CPU time shows.
 *
 * Samples are written row by row, never built as a Jansson tree: a one-hour
 * profile has millions. Each distinct (stack, state label) is printed once
 * into a string and reused.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "util.h"
#include "views.h"

struct leaf_frames {
	struct strmap index; /* label -> frame id */
	char **labels;
	size_t n, cap;
};

static uint32_t leaf_frame(struct leaf_frames *lf, const char *label, size_t base)
{
	uint32_t id;
	if (strmap_get(&lf->index, label, &id))
		return id;
	GROW(lf->labels, lf->cap, lf->n + 1);
	lf->labels[lf->n] = xstrdup(label);
	id = (uint32_t)(base + lf->n++);
	strmap_put(&lf->index, label, id);
	return id;
}

/* "[f0,f1,...,leaf]" root first, malloc'ed. */
static char *stack_text(const struct profile *p, const struct profile_sample *s, uint32_t leaf)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die(EXIT_FAILURE_, "out of memory");
	const struct profile_stack *st = &p->stacks[s->stack];
	fputc('[', f);
	for (uint32_t j = st->n; j-- > 0;)
		fprintf(f, "%u,", (unsigned)st->frames[j]);
	fprintf(f, "%u]", (unsigned)leaf);
	fclose(f);
	return buf;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct profile_thread *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int speedscope_write(const struct profile *p, const struct view_opts *o, FILE *f)
{
	struct leaf_frames lf = {0};
	strmap_init(&lf.index);
	/* Stack text per (stack, leaf): key "stack/leaf". */
	struct strmap texts;
	strmap_init(&texts);
	char **text = NULL;
	size_t n_text = 0, cap_text = 0;
	uint32_t *sample_text = xcalloc(p->n_samples + 1, sizeof(*sample_text));
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		char label[96], key[64];
		if (!view_sample_selected(o, s))
			continue;
		uint32_t leaf =
			leaf_frame(&lf, sample_leaf_label(s, label, sizeof(label)), p->n_frames);
		snprintf(key, sizeof(key), "%u/%u", (unsigned)s->stack, (unsigned)leaf);
		uint32_t at;
		if (!strmap_get(&texts, key, &at)) {
			GROW(text, cap_text, n_text + 1);
			text[n_text] = stack_text(p, s, leaf);
			at = (uint32_t)n_text++;
			strmap_put(&texts, key, at);
		}
		sample_text[i] = at + 1;
	}

	json_t *frames = json_array();
	for (size_t i = 0; i < p->n_frames; i++) {
		const struct profile_frame *fr = &p->frames[i];
		json_t *j = json_pack("{s:s}", "name", fr->function);
		if (fr->file) {
			json_object_set_new(j, "file", json_string(fr->file));
			json_object_set_new(j, "line", json_integer(fr->line));
		}
		json_array_append_new(frames, j);
	}
	for (size_t i = 0; i < lf.n; i++)
		json_array_append_new(frames, json_pack("{s:s}", "name", lf.labels[i]));
	char name[256];
	snprintf(name, sizeof(name), "%s (%d)", p->argc ? p->argv[0] : "wallprof", p->pid);
	fprintf(f,
		"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
		"\"exporter\":\"wallprof %s\",\n\"name\":",
		p->version ? p->version : "");
	json_t *jname = json_string(name);
	json_dumpf(jname, f, JSON_ENCODE_ANY);
	json_decref(jname);
	fputs(",\n\"activeProfileIndex\":0,\n\"shared\":{\"frames\":", f);
	json_dumpf(frames, f, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(frames);
	fputs("},\n\"profiles\":[", f);

	uint64_t weight = NS_PER_SEC / (p->frequency_hz ? p->frequency_hz : 1);
	struct profile_thread *threads = xcalloc(p->n_threads + 1, sizeof(*threads));
	memcpy(threads, p->threads, p->n_threads * sizeof(*threads));
	qsort(threads, p->n_threads, sizeof(*threads), cmp_tid);
	bool first_profile = true;
	for (size_t t = 0; t < p->n_threads; t++) {
		int tid = threads[t].tid;
		uint64_t count = 0;
		for (size_t i = 0; i < p->n_samples; i++)
			count += p->samples[i].tid == tid && sample_text[i];
		if (!count)
			continue;
		char tname[320];
		const char *proc = process_label(p, tid);
		snprintf(tname, sizeof(tname), "%s%s%s (%d)", proc ? proc : "", proc ? ": " : "",
			 profile_thread_name(&threads[t]), tid);
		jname = json_string(tname);
		fprintf(f, "%s\n{\"type\":\"sampled\",\"name\":", first_profile ? "" : ",");
		json_dumpf(jname, f, JSON_ENCODE_ANY);
		json_decref(jname);
		first_profile = false;
		fprintf(f,
			",\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":%llu,\n\"samples\":[",
			(unsigned long long)(count * weight));
		bool first = true;
		for (size_t i = 0; i < p->n_samples; i++) {
			if (p->samples[i].tid != tid || !sample_text[i])
				continue;
			fprintf(f, "%s%s", first ? "" : ",", text[sample_text[i] - 1]);
			first = false;
		}
		fputs("],\n\"weights\":[", f);
		first = true;
		for (size_t i = 0; i < p->n_samples; i++) {
			if (p->samples[i].tid != tid || !sample_text[i])
				continue;
			fprintf(f, "%s%llu", first ? "" : ",", (unsigned long long)weight);
			first = false;
		}
		fputs("]}", f);
	}
	fputs("]}\n", f);

	free(threads);
	for (size_t i = 0; i < n_text; i++)
		free(text[i]);
	free(text);
	free(sample_text);
	strmap_release(&texts);
	for (size_t i = 0; i < lf.n; i++)
		free(lf.labels[i]);
	free(lf.labels);
	strmap_release(&lf.index);
	return ferror(f) ? -1 : 0;
}

static const char *const speedscope_exts[] = {".speedscope.json", NULL};
const struct view view_speedscope = {"speedscope", speedscope_exts, speedscope_write};
