/*
 * gopclntab.h: Go's own table of its functions, the .gopclntab section
 * (.data.rel.ro.gopclntab in a position-independent executable) every Go
 * binary carries for its runtime (tracebacks, the garbage collector),
 * stripped or not. Debian builds its Go programs without
 * symbols and without DWARF, so without .debug_frame: this table is then
 * all there is to name their functions and to unwind through them.
 *
 * For each function it holds the entry address, the name, and tables of
 * values by pc: the frame size (pcsp), the source file (pcfile) and line
 * (pcln). The frame size is what Go's runtime unwinds by: at pc, the return
 * address is at sp + pcsp(pc). gopclntab_cfi turns those into CFI, the
 * same records Go's linker writes into .debug_frame when it keeps DWARF.
 *
 * The layouts read are those of Go 1.16 to 1.17 and of Go 1.18 and later
 * (1.20 added a field to each function); older tables are refused.
 * Functions inlined into others are not told apart: their code is named
 * after the function it was inlined into, without a line (finding Go's
 * inline trees needs the runtime's module data, not read here).
 */
#ifndef WALLPROF_GOPCLNTAB_H
#define WALLPROF_GOPCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ehframe.h"

struct gopclntab {
	const uint8_t *data; /* the section */
	size_t size;
	int version; /* 116, 118 or 120: the layout */
	uint8_t quantum; /* pc steps of the value tables */
	uint32_t nfunc;
	uint64_t text; /* link-time address entry offsets are from (1.18+) */
	size_t funcnames, cutab, filetab, pctab, functab; /* offsets in data */
};

/* A function of the table. */
struct gofunc {
	uint64_t entry, end; /* link-time addresses */
	size_t at; /* its record, as an offset in data */
};

/*
 * Read the header of the .gopclntab section sec (size bytes); text is the
 * link-time address of .text, used when the table does not say where its
 * code starts. false if it is not a table this reads.
 */
bool gopclntab_open(struct gopclntab *t, const uint8_t *sec, size_t size, uint64_t text);

/* Function i (0 to nfunc - 1). false if its record is damaged. */
bool gopclntab_func(const struct gopclntab *t, uint32_t i, struct gofunc *f);

/*
 * Does f move the stack pointer somewhere else (mcall, systemstack,
 * morestack, asmcgocall: Go's funcFlag_SPWRITE)? Go's own traceback ends
 * at such a function: what lies above it is another stack's.
 */
bool gopclntab_switches_stack(const struct gopclntab *t, const struct gofunc *f);

/* The function whose code holds vaddr (link-time). */
bool gopclntab_find(const struct gopclntab *t, uint64_t vaddr, struct gofunc *f);

/* Its name, NUL-terminated inside the section; NULL if damaged. */
const char *gopclntab_name(const struct gopclntab *t, const struct gofunc *f);

/*
 * The source file and line of vaddr in f. false, and no line, where the
 * code was inlined from another function or the table does not say.
 */
bool gopclntab_line(const struct gopclntab *t, const struct gofunc *f, uint64_t vaddr,
		    const char **file, int *line);

/*
 * CFI for every function, from its frame sizes: the return address at the
 * canonical frame address - 8, that address sp + 8 + pcsp(pc). Records
 * at runtime addresses (link-time + bias), into w. Returns the number of
 * functions written.
 */
size_t gopclntab_cfi(const struct gopclntab *t, uint64_t bias, struct ehframe_writer *w);

#endif
