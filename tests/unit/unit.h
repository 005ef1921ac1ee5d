/*
 * unit.h: the smallest test harness that says what it compared. Each
 * CHECK prints "ok" or "FAIL" with its expression; unit_done() returns the
 * exit status for the runner (0 pass, 1 fail).
 */
#ifndef WALLPROF_UNIT_H
#define WALLPROF_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failures, unit_checks;

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		unit_checks++;                                                                 \
		if (cond) {                                                                    \
			printf("ok   %s\n", #cond);                                           \
		} else {                                                                       \
			printf("FAIL %s (%s:%d)\n", #cond, __FILE__, __LINE__);                 \
			unit_failures++;                                                       \
		}                                                                              \
	} while (0)

#define CHECK_STR(got, want)                                                                   \
	do {                                                                                   \
		const char *g_ = (got), *w_ = (want);                                          \
		unit_checks++;                                                                 \
		if (g_ && !strcmp(g_, w_)) {                                                   \
			printf("ok   %s == \"%s\"\n", #got, w_);                              \
		} else {                                                                       \
			printf("FAIL %s: got \"%s\", want \"%s\" (%s:%d)\n", #got, g_ ? g_ : "(null)", \
			       w_, __FILE__, __LINE__);                                        \
			unit_failures++;                                                       \
		}                                                                              \
	} while (0)

static inline int unit_done(void)
{
	printf("%d checks, %d failed\n", unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}

#endif
