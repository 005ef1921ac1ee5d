/*
 * maps.h: the target's address space as the unwinder and the symbolizer see
 * it: mappings from /proc/PID/maps, and for each mapped ELF file one module
 * whose image is mmap'ed from disk (or copied from memory, for [vdso]) once
 * and kept. Reading unwind tables and code from these images instead of
 * the target costs no syscall and needs no stopped thread.
 */
#ifndef WALLPROF_MAPS_H
#define WALLPROF_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ehframe.h"
#include "gopclntab.h"

struct module {
	char *path; /* as /proc/PID/maps names it; "[vdso]" for the vdso */
	uint64_t dev, inode;
	uint64_t bias; /* load bias: runtime address = bias + p_vaddr */
	uint64_t lo, hi; /* lowest and highest address of its mappings */
	bool bias_known;

	/* Lazily loaded image of the file. */
	bool load_tried;
	const uint8_t *image;
	size_t image_size;
	bool image_mmapped;
	uint64_t eh_hdr_vaddr; /* PT_GNU_EH_FRAME p_vaddr, 0 if none */
	uint64_t eh_hdr_offset; /* its file offset */
	uint64_t fde_count;
	/* Without PT_GNU_EH_FRAME (static binaries): the table built from its
	 * .eh_frame (ehframe.h), relative to the section's address. */
	struct eh_entry *own_table;
	uint64_t own_segbase_vaddr;
	uint64_t own_segbase_offset; /* the section's file offset */
	/* Its .debug_frame, for code no .eh_frame covers (Go): rewritten as
	 * .eh_frame records (ehframe.h) served to the unwinder at debug_base,
	 * an unmapped address 1 GiB above the module, with their table. */
	uint8_t *debug_frame;
	size_t debug_frame_len;
	uint64_t debug_base;
	struct eh_entry *debug_table;
	size_t debug_count;
	/* Go's table of functions (gopclntab.h), in the image; version 0
	 * if none. Its frame sizes stand in for a missing .debug_frame. */
	struct gopclntab go;
	char build_id[41]; /* hex, "" if none */
	bool has_symtab; /* a .symtab section in the file itself */
	bool has_dynsym; /* a .dynsym with symbols in it */
};

struct mapping {
	uint64_t start, end, offset;
	bool readable, writable, executable;
	bool stack; /* the main thread's [stack] */
	struct module *mod; /* NULL for anonymous mappings, heap, stacks */
};

struct addrspace {
	pid_t pid;
	struct mapping *maps; /* sorted by start */
	size_t n_maps;
	size_t hint; /* the mapping addrspace_read_image found last */
	struct module **mods; /* every module ever seen, owned */
	size_t n_mods, cap_mods;
	unsigned refreshes;
	uint64_t slow_reads; /* memory reads that had to go to the target */
	/* What tells this address space from the one an exec puts under the
	 * same pid (addrspace_refresh): the start of [vdso], and the file
	 * behind /proc/PID/exe. 0 where unknown. */
	struct mm_identity {
		uint64_t vdso;
		uint64_t exe_dev, exe_inode;
	} id;
	bool replaced; /* its pid now runs another program */
};

void addrspace_release(struct addrspace *as);
/*
 * Re-read /proc/PID/maps; modules are kept and reused. 0 or -errno;
 * -ESTALE, keeping the maps it had, once the pid has exec'd.
 */
int addrspace_refresh(struct addrspace *as);
/* Does thread tid of this address space's process run another program
 * than the one its maps were read of (an exec not yet reported)? Then
 * it is marked replaced. */
bool addrspace_exec_seen(struct addrspace *as, pid_t tid);
/* Forget everything (after exec). */
void addrspace_reset(struct addrspace *as, pid_t pid);

const struct mapping *addrspace_find(const struct addrspace *as, uint64_t addr);
/* Load a module's image and ELF facts; false if it cannot be read. */
bool module_load(struct addrspace *as, struct module *mod);
/* The Go function (gopclntab.h) of mod holding the runtime address addr,
 * mod loaded first; false if mod has no Go table or none holds addr. */
bool module_go_function(struct addrspace *as, struct module *mod, uint64_t addr, struct gofunc *f);

/*
 * Read len bytes at addr from a module's rewritten .debug_frame, if addr is
 * there and no mapping of the target is (maps.h, struct module).
 */
bool addrspace_read_debug_frame(const struct addrspace *as, uint64_t addr, void *buf, size_t len);

/*
 * The start (link-time address) of the function holding vaddr, from the
 * module's unwind table: each FDE covers one function. For code without
 * symbols, so that a function is one row, not one per address. false if
 * there is no table (load the module first).
 */
bool module_function_start(const struct module *m, uint64_t vaddr, uint64_t *start);

/*
 * The runtime start of the function holding addr, which lies in map, from
 * its module's unwind table (module_function_start); false if that is not
 * known.
 */
bool addrspace_function_start(struct addrspace *as, const struct mapping *map, uint64_t addr,
			      uint64_t *start);

/*
 * Read target memory at addr from a cached read-only file image. Returns
 * false if addr is not in such a mapping (the caller may then read the
 * target itself).
 */
bool addrspace_read_image(struct addrspace *as, uint64_t addr, void *buf, size_t len);

/*
 * The call a thread resumes as restart_syscall: the kernel keeps it in a
 * restart block /proc does not show. But the thread's pc is right after the
 * syscall instruction of the original call, and glibc loads the number
 * just before it ("mov $NR, %eax; syscall"): read it from the code. -1 if
 * the code is not that.
 */
long addrspace_restarted_call(struct addrspace *as, uint64_t pc);

/* Path to open a module's file: through /proc/PID/root while the target lives. */
char *module_open_path(const struct addrspace *as, const struct module *mod);

/* Read target memory with process_vm_readv, falling back to /proc/PID/mem. */
ssize_t target_read(pid_t pid, uint64_t addr, void *buf, size_t len);

#endif
