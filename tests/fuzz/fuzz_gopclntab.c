/*
 * fuzz_gopclntab: Go's table of functions (gopclntab.h) read from arbitrary
 * bytes, as a damaged or hostile binary would hand it over. Nothing may be
 * read outside the section: every function, its name, a line at its entry
 * and in its middle, a lookup of each, and the CFI of all of them. A found
 * function must hold the address it was found for, and its name must lie
 * inside the section.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gopclntab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so that ASan sees any read past it. */
	uint8_t *sec = malloc(size ? size : 1);
	memcpy(sec, data, size);
	struct gopclntab t;
	if (gopclntab_open(&t, sec, size, 0x401000)) {
		uint32_t n = t.nfunc < 4096 ? t.nfunc : 4096;
		for (uint32_t i = 0; i < n; i++) {
			struct gofunc f, g;
			if (!gopclntab_func(&t, i, &f))
				continue;
			const char *name = gopclntab_name(&t, &f);
			if (name && (name < (const char *)sec || name >= (const char *)sec + size))
				abort();
			const char *file;
			int line;
			uint64_t mid = f.entry + (f.end - f.entry) / 2;
			gopclntab_line(&t, &f, f.entry, &file, &line);
			gopclntab_line(&t, &f, mid, &file, &line);
			if (gopclntab_find(&t, mid, &g) && (mid < g.entry || mid >= g.end))
				abort();
		}
		struct ehframe_writer w = {.base = 0x40000000};
		gopclntab_cfi(&t, 0, &w);
		uint8_t *out;
		size_t len, count;
		struct eh_entry *table;
		if (ehframe_finish(&w, &out, &len, &table, &count) == 0) {
			free(out);
			free(table);
		}
	}
	free(sec);
	return 0;
}
