/*
 * views/views.c: the table of output formats and its lookups. The native
 * JSON view is the profile writer itself.
 */
#include <stdlib.h>
#include <string.h>

#include "states.h"

#include "util.h"
#include "views.h"

static int json_write(const struct profile *p, const struct view_opts *o, FILE *f)
{
	(void)o; /* the native profile is always whole */
	return profile_write_json(p, f);
}

static const char *const json_exts[] = {".json", ".json.gz", NULL};
const struct view view_json = {"json", json_exts, json_write};

static const struct view *const views[] = {&view_json,	     &view_folded, &view_svg,
					   &view_speedscope, &view_trace,  &view_pprof};

const struct view *view_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(views); i++)
		if (!strcmp(views[i]->name, name))
			return views[i];
	return NULL;
}

const struct view *view_by_path(const char *path)
{
	/* ".speedscope.json" must win over ".json". */
	size_t len = strlen(path), best_len = 0;
	const struct view *best = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(views); i++)
		for (const char *const *e = views[i]->exts; *e; e++) {
			size_t el = strlen(*e);
			if (len > el && el > best_len && !strcmp(path + len - el, *e)) {
				best = views[i];
				best_len = el;
			}
		}
	return best;
}

const char *view_names(void)
{
	return "json, folded, svg, speedscope, trace, pprof";
}

bool view_sample_selected(const struct view_opts *o, const struct profile_sample *s)
{
	return !o || !o->state_mask || (o->state_mask & (1u << s->state));
}

int view_parse_states(const char *list, uint32_t *mask)
{
	*mask = 0;
	char *copy = xstrdup(list), *save = NULL;
	int r = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int st = state_from_name(tok);
		if (st >= 0)
			*mask |= 1u << st;
		else if (!strcmp(tok, "off-cpu"))
			*mask |=
				~((1u << ST_ONCPU) | (1u << ST_RUNNABLE)) & ((1u << ST__COUNT) - 1);
		else if (!strcmp(tok, "io"))
			*mask |= (1u << ST_SYSCALL) | (1u << ST_DISK);
		else
			r = -1;
	}
	free(copy);
	return r;
}
