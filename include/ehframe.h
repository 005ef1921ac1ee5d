/*
 * ehframe.h: the sorted FDE table of an .eh_frame section, for binaries
 * linked without .eh_frame_hdr (gcc -static does not ask the linker for
 * one). The unwinder normally finds unwind info through the table that
 * PT_GNU_EH_FRAME points at; for such a binary maps.c builds the same table
 * here and the unwinder searches it as if the binary had carried it.
 */
#ifndef WALLPROF_EHFRAME_H
#define WALLPROF_EHFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One row of the table, as in .eh_frame_hdr (datarel, sdata4): the start of
 * the code an FDE covers and the FDE itself, both relative to segbase. */
struct eh_entry {
	int32_t start;
	int32_t fde;
};

/*
 * Parse the .eh_frame section sec (size bytes, at link-time address vaddr)
 * into a table sorted by start, relative to segbase (a link-time address
 * within 2 GiB of the code and of the section). 0 with a malloc'ed table, or
 * -1 if the section holds no usable FDE. Never reads outside sec.
 */
int ehframe_build_table(const uint8_t *sec, size_t size, uint64_t vaddr, uint64_t segbase,
			struct eh_entry **out, size_t *n_out);

/*
 * The code range of the FDE at offset off of sec (size bytes, sec[0] at
 * link-time address vaddr; its CIE must lie in sec too): *start and *range.
 * false if it cannot be read as one.
 */
bool ehframe_fde_range(const uint8_t *sec, size_t size, uint64_t vaddr, size_t off, uint64_t *start,
		       uint64_t *range);

/*
 * .debug_frame holds the same CFI in DWARF's own format (Go binaries, and
 * code built with -fno-asynchronous-unwind-tables -g, have no other).
 * Rewrite it as .eh_frame records (absolute 8-byte addresses, runtime ones:
 * bias added) into *out, to be served to the unwinder at address base
 * (within 2 GiB of the code), and build their table relative to base.
 * 0, or -1 if nothing usable. Never reads outside sec.
 */
int ehframe_from_debug_frame(const uint8_t *sec, size_t size, uint64_t bias, uint64_t base,
			     uint8_t **out, size_t *out_len, struct eh_entry **table,
			     size_t *n_out);

/*
 * CFI written by hand as .eh_frame records (the rewritten .debug_frame
 * above, and Go's own tables: gopclntab.h), to be served to the unwinder at
 * base, and the table of their FDEs relative to base. Zero-initialize with
 * .base set.
 */
struct ehframe_writer {
	uint8_t *buf;
	size_t len, cap;
	struct eh_entry *table;
	size_t n, cap_table;
	uint64_t base;
};

/* A CIE (augmentation "zR": its FDEs' addresses absolute, 8 bytes) with
 * these initial instructions; returns its offset, for its FDEs. */
size_t ehframe_put_cie(struct ehframe_writer *w, uint64_t code_align, int64_t data_align,
		       uint64_t ra, const uint8_t *insns, size_t n);
/* An FDE for [start, start + range), runtime addresses, under the CIE at
 * offset cie; false (nothing written) if empty or out of the table's reach
 * of base (2 GiB). */
bool ehframe_put_fde(struct ehframe_writer *w, size_t cie, uint64_t start, uint64_t range,
		     const uint8_t *insns, size_t n);
/* Bytes at the end of w's buffer (which also serves, alone, to gather a
 * record's instructions). */
void ehframe_put(struct ehframe_writer *w, const void *p, size_t n);
void ehframe_put_uleb(struct ehframe_writer *w, uint64_t v);
/* The records, with their terminator, and their table sorted by start.
 * 0, or -1 if there is no FDE (then everything is freed). */
int ehframe_finish(struct ehframe_writer *w, uint8_t **out, size_t *out_len,
		   struct eh_entry **table, size_t *n_out);

#endif
