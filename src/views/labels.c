/*
 * views/labels.c: the words for a sample's state, shared by every view so
 * that the report, the folded stacks and dump say the same thing.
 */
#include <stdio.h>

#include "syscalls.h"
#include "views.h"

const char *sample_leaf_label(const struct profile_sample *s, char *buf, size_t size)
{
	const char *name = s->syscall >= 0 ? syscall_name_or_number(s->syscall) : NULL;
	switch (s->state) {
	case ST_ONCPU: return "[on-cpu]";
	case ST_RUNNABLE: return "[runnable]";
	case ST_STOPPED: return "[stopped]";
	case ST_DISK: snprintf(buf, size, name ? "[disk: %s]" : "[disk]", name); return buf;
	case ST_OTHER: return name ? (snprintf(buf, size, "[blocked: %s]", name), buf) : "[other]";
	default: snprintf(buf, size, name ? "[blocked: %s]" : "[blocked]", name); return buf;
	}
}

const char *sample_state_text(const struct profile_sample *s, char *buf, size_t size)
{
	const char *sc = s->syscall >= 0 ? syscall_name_or_number(s->syscall) : NULL;
	switch (s->state) {
	case ST_ONCPU: return "on-CPU";
	case ST_RUNNABLE: return "runnable (waiting for a CPU)";
	case ST_LOCK: snprintf(buf, size, "lock wait (%s)", sc ? sc : "futex"); return buf;
	case ST_SLEEP: snprintf(buf, size, "sleep (%s)", sc ? sc : "?"); return buf;
	case ST_DISK:
		snprintf(buf, size, "disk wait%s%s", sc ? ": " : "", sc ? sc : "");
		return buf;
	case ST_STOPPED: return "stopped (job control)";
	case ST_SYSCALL: snprintf(buf, size, "blocked: %s", sc ? sc : "?"); return buf;
	default: return "other";
	}
}
