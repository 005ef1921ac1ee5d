/*
 * ehframe.h: the sorted FDE table of an .eh_frame section, for binaries
 * linked without .eh_frame_hdr (gcc -static does not ask the linker for
 * one). The unwinder normally finds unwind info through the table that
 * PT_GNU_EH_FRAME points at; for such a binary maps.c builds the same table
 * here and the unwinder searches it as if the binary had carried it.
 */
#ifndef WALLPROF_EHFRAME_H
#define WALLPROF_EHFRAME_H

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

#endif
