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

#endif
