/*
 * views/labels.c: the words for a sample's state, shared by every view so
 * that the report, the folded stacks and dump say the same thing.
 */
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "syscalls.h"
#include "util.h"
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

const char *object_text(const struct profile *p, int32_t object, char *buf, size_t size)
{
	if (object < 0 || (size_t)object >= p->n_objects)
		return "?";
	const struct profile_object *o = &p->objects[object];
	if (o->lock_kind)
		snprintf(buf, size, "%s %s", o->lock_kind, o->name);
	else if (!strcmp(o->kind, "file") || !strcmp(o->kind, "socket") ||
		 !strncmp(o->name, o->kind, strlen(o->kind)))
		snprintf(buf, size, "%s", o->name);
	else
		snprintf(buf, size, "%s %s", o->kind, o->name);
	return buf;
}

static const char *futex_op_text(uint64_t op)
{
	static const char *const names[] = {
		[FUTEX_WAIT] = "FUTEX_WAIT",
		[FUTEX_WAKE] = "FUTEX_WAKE",
		[FUTEX_REQUEUE] = "FUTEX_REQUEUE",
		[FUTEX_CMP_REQUEUE] = "FUTEX_CMP_REQUEUE",
		[FUTEX_WAKE_OP] = "FUTEX_WAKE_OP",
		[FUTEX_LOCK_PI] = "FUTEX_LOCK_PI",
		[FUTEX_UNLOCK_PI] = "FUTEX_UNLOCK_PI",
		[FUTEX_TRYLOCK_PI] = "FUTEX_TRYLOCK_PI",
		[FUTEX_WAIT_BITSET] = "FUTEX_WAIT_BITSET",
		[FUTEX_WAKE_BITSET] = "FUTEX_WAKE_BITSET",
		[FUTEX_WAIT_REQUEUE_PI] = "FUTEX_WAIT_REQUEUE_PI",
		[FUTEX_CMP_REQUEUE_PI] = "FUTEX_CMP_REQUEUE_PI",
		[FUTEX_LOCK_PI2] = "FUTEX_LOCK_PI2",
	};
	uint64_t cmd = op & FUTEX_CMD_MASK;
	return cmd < ARRAY_SIZE(names) && names[cmd] ? names[cmd] : "FUTEX_?";
}

const char *call_text(const struct profile *p, int nr, const uint64_t args[6], int32_t object,
		      char *buf, size_t size)
{
	const char *name = syscall_name_or_number(nr);
	char obj[400];
	bool have_obj = object >= 0 && (size_t)object < p->n_objects;
	if (have_obj)
		object_text(p, object, obj, sizeof(obj));
	if (nr == SYS_futex) {
		snprintf(buf, size, "futex(%s, %s%s, %llu)", have_obj ? obj : "?",
			 futex_op_text(args[1]), args[1] & FUTEX_PRIVATE_FLAG ? "_PRIVATE" : "",
			 (unsigned long long)args[2]);
	} else if (syscall_takes_fd(nr)) {
		int fd = (int)args[0];
		bool counted = nr == SYS_read || nr == SYS_write || nr == SYS_pread64 ||
			       nr == SYS_pwrite64 || nr == SYS_recvfrom || nr == SYS_sendto;
		char rest[48] = ", ...";
		if (counted)
			snprintf(rest, sizeof(rest), ", %llu bytes", (unsigned long long)args[2]);
		else if (nr == SYS_fsync || nr == SYS_fdatasync || nr == SYS_close)
			rest[0] = '\0';
		else if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait)
			snprintf(rest, sizeof(rest), ", timeout %d ms", (int)args[3]);
		if (have_obj)
			snprintf(buf, size, "%s(fd %d = %s%s)", name, fd, obj, rest);
		else
			snprintf(buf, size, "%s(fd %d%s)", name, fd, rest);
	} else {
		snprintf(buf, size, "%s(0x%llx, 0x%llx, 0x%llx, ...)", name,
			 (unsigned long long)args[0], (unsigned long long)args[1],
			 (unsigned long long)args[2]);
	}
	return buf;
}
