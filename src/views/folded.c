/*
 * views/folded.c: Brendan Gregg's folded stacks, one line per distinct
 * stack with its sample count. The root frame names the thread, inlined
 * frames are frames of their own, and the leaf is a synthetic frame naming
 * the state, so off-CPU time is visible in any flame graph tool.
 */
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "syscalls.h"
#include "util.h"
#include "views.h"

const char *sample_leaf_label(const struct profile_sample *s, char *buf, size_t size)
{
	const char *name = s->syscall >= 0 ? syscall_name_or_number(s->syscall) : NULL;
	switch (s->state) {
	case ST_ONCPU:
		return "[on-cpu]";
	case ST_RUNNABLE:
		return "[runnable]";
	case ST_STOPPED:
		return "[stopped]";
	case ST_DISK:
		snprintf(buf, size, name ? "[disk: %s]" : "[disk]", name);
		return buf;
	case ST_OTHER:
		return name ? (snprintf(buf, size, "[blocked: %s]", name), buf) : "[other]";
	default:
		snprintf(buf, size, name ? "[blocked: %s]" : "[blocked]", name);
		return buf;
	}
}

/* Folded format separates frames with ';' and ends with " COUNT". */
static void put_frame(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : (*s == '\n' ? ' ' : *s), f);
}

int folded_write(const struct profile *p, FILE *f)
{
	/* Count samples per (tid, stack, leaf label) key, keeping first-seen
	 * order so the output is deterministic. */
	struct strmap idx;
	strmap_init(&idx);
	struct line {
		size_t sample;
		uint64_t count;
	} *lines = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		char label[96], key[160];
		snprintf(key, sizeof(key), "%d/%u/%s", (int)s->tid, (unsigned)s->stack,
			 sample_leaf_label(s, label, sizeof(label)));
		uint32_t at;
		if (strmap_get(&idx, key, &at)) {
			lines[at].count++;
			continue;
		}
		GROW(lines, cap, n + 1);
		lines[n] = (struct line){i, 1};
		strmap_put(&idx, key, (uint32_t)n++);
	}
	for (size_t k = 0; k < n; k++) {
		const struct profile_sample *s = &p->samples[lines[k].sample];
		const struct profile_stack *st = &p->stacks[s->stack];
		char label[96];
		put_frame(f, profile_thread_name(profile_find_thread(p, s->tid)));
		fprintf(f, " (%d)", (int)s->tid);
		for (uint32_t j = st->n; j-- > 0;) {
			fputc(';', f);
			put_frame(f, p->frames[st->frames[j]].function);
		}
		fprintf(f, ";%s %llu\n", sample_leaf_label(s, label, sizeof(label)),
			(unsigned long long)lines[k].count);
	}
	free(lines);
	strmap_release(&idx);
	return ferror(f) ? -1 : 0;
}

static const char *const folded_exts[] = {".folded", ".txt", NULL};
const struct view view_folded = {"folded", folded_exts, folded_write};
