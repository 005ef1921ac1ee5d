/*
 * report.h: the pieces of `wallprof report` that live in their own files.
 */
#ifndef WALLPROF_REPORT_H
#define WALLPROF_REPORT_H

#include <stdbool.h>

#include "profile.h"

/*
 * Blocking syscalls, I/O by file and socket, lock waits by lock, and the
 * longest single waits (traced calls, or episodes of samples). keep[k]
 * says whether sample k is in the report (--thread); top limits each table.
 */
void report_waits(const struct profile *p, const bool *keep, unsigned top);

#endif
