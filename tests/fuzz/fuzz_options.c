/*
 * fuzz_options: the parsers of option values (syscall lists and classes,
 * state filters, durations, numbers) on arbitrary strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"
#include "util.h"
#include "views.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct syscall_set set;
	char err[256];
	uint32_t mask;
	uint64_t v;
	double d;
	syscall_set_parse(s, &set, err, sizeof(err));
	view_parse_states(s, &mask);
	parse_duration_ns(s, &v);
	parse_uint(s, 1, 10000, &v);
	parse_seconds(s, &d);
	free(s);
	return 0;
}
