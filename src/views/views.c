/*
 * views/views.c: the table of output formats and its lookups. The native
 * JSON view is the profile writer itself.
 */
#include <string.h>

#include "util.h"
#include "views.h"

static const char *const json_exts[] = {".json", NULL};
const struct view view_json = {"json", json_exts, profile_write_json};

static const struct view *const views[] = {&view_json, &view_folded};

const struct view *view_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(views); i++)
		if (!strcmp(views[i]->name, name))
			return views[i];
	return NULL;
}

const struct view *view_by_path(const char *path)
{
	size_t len = strlen(path);
	for (size_t i = 0; i < ARRAY_SIZE(views); i++)
		for (const char *const *e = views[i]->exts; *e; e++) {
			size_t el = strlen(*e);
			if (len > el && !strcmp(path + len - el, *e))
				return views[i];
		}
	return NULL;
}

const char *view_names(void)
{
	return "json, folded";
}
