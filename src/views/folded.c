/*
 * views/folded.c: Brendan Gregg's folded stacks, one line per distinct
 * stack with its sample count. The root frame names the thread, inlined
 * frames are frames of their own, and the leaf is a synthetic frame naming
 * the state, so off-CPU time is visible in any flame graph tool.
 */
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "states.h"
#include "util.h"
#include "views.h"

/* Folded format separates frames with ';' and ends with " COUNT". */
static void put_frame(FILE *f, const char *s)
{
	/* One stack per line, frames split by ';': neither may appear in a
	 * name; control characters and bytes that are not UTF-8 escaped. */
	for (s = disp(s); *s; s++)
		fputc(*s == ';' ? ':' : *s, f);
}

/* The folded line of one sample, without its count, into a malloc'ed string. */
static char *folded_line(const struct profile *p, const struct profile_sample *s)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die(EXIT_FAILURE_, "out of memory");
	const struct profile_stack *st = &p->stacks[s->stack];
	char label[96];
	/* Several processes: each its own root, by title. */
	const char *proc = process_label(p, s->tid);
	if (proc) {
		put_frame(f, proc);
		fputc(';', f);
	}
	put_frame(f, profile_thread_name(profile_find_thread(p, s->tid)));
	fprintf(f, " (%d)", (int)s->tid);
	for (uint32_t j = st->n; j-- > 0;) {
		fputc(';', f);
		put_frame(f, p->frames[st->frames[j]].function);
	}
	fprintf(f, ";%s", sample_leaf_label(s, label, sizeof(label)));
	fclose(f);
	return buf;
}

int folded_write(const struct profile *p, const struct view_opts *o, FILE *f)
{
	/* Distinct stacks may print alike (two addresses in one function):
	 * count by the printed line, in first-seen order. Lines are built
	 * once per distinct (tid, stack, label). */
	struct strmap by_key, by_line;
	strmap_init(&by_key);
	strmap_init(&by_line);
	char **lines = NULL;
	uint64_t *counts = NULL;
	size_t n = 0, cap = 0, cap_counts = 0;
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		char label[96], key[160];
		if (!view_sample_selected(o, s))
			continue;
		snprintf(key, sizeof(key), "%d/%u/%s", (int)s->tid, (unsigned)s->stack,
			 sample_leaf_label(s, label, sizeof(label)));
		uint32_t at;
		if (!strmap_get(&by_key, key, &at)) {
			char *line = folded_line(p, s);
			if (!strmap_get(&by_line, line, &at)) {
				GROW(lines, cap, n + 1);
				GROW(counts, cap_counts, n + 1);
				lines[n] = line;
				counts[n] = 0;
				at = (uint32_t)n++;
				strmap_put(&by_line, line, at);
			} else {
				free(line);
			}
			strmap_put(&by_key, key, at);
		}
		counts[at]++;
	}
	for (size_t k = 0; k < n; k++) {
		fprintf(f, "%s %llu\n", lines[k], (unsigned long long)counts[k]);
		free(lines[k]);
	}
	free(lines);
	free(counts);
	strmap_release(&by_key);
	strmap_release(&by_line);
	return ferror(f) ? -1 : 0;
}

static const char *const folded_exts[] = {".folded", ".txt", NULL};
const struct view view_folded = {"folded", folded_exts, folded_write};
