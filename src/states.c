/*
 * states.c: the names of the sample states. See states.h.
 */
#include "states.h"

#include <string.h>

static const char *const state_names[ST__COUNT] = {
	[ST_ONCPU] = "on-cpu",	  [ST_RUNNABLE] = "runnable", [ST_SYSCALL] = "syscall",
	[ST_LOCK] = "lock",	  [ST_SLEEP] = "sleep",	      [ST_DISK] = "disk",
	[ST_STOPPED] = "stopped", [ST_OTHER] = "other",
};

const char *state_name(enum sample_state st)
{
	return (unsigned)st < ST__COUNT ? state_names[st] : "other";
}

int state_from_name(const char *name)
{
	for (int i = 0; i < ST__COUNT; i++)
		if (!strcmp(state_names[i], name))
			return i;
	return -1;
}
