/*
 * symbols.h: addresses to functions, inlined frames and file:line, after
 * recording. elfutils libdwfl does the lookup chain (build-id in
 * /usr/lib/debug, .gnu_debuglink, .gnu_debugdata, .symtab, .dynsym);
 * libiberty demangles C++ and Rust (legacy and v0, hashes dropped).
 */
#ifndef WALLPROF_SYMBOLS_H
#define WALLPROF_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "maps.h"
#include "profile.h"
#include "stacks.h"

struct symbolizer;

/* Pseudo-addresses: the stack of a sample taken without a stop
 * (--max-overhead), of a thread that did not stop in time (dump: a long
 * uninterruptible wait), and of one already in the program its process
 * exec'd, before the exec's event was seen. */
#define STACK_SKIPPED_ADDR 1
#define STACK_LATE_ADDR 2
#define STACK_EXEC_ADDR 3

/* Does the ELF file at path call ptrace (its symbols hold libc's or Go's
 * wrapper)? A program that may trace itself or its children. */
bool elf_calls_ptrace(const char *path);

/* Report every module of the address space to libdwfl. */
struct symbolizer *symbolizer_new(struct addrspace *as);
void symbolizer_free(struct symbolizer *s);

/*
 * Turn raw stacks (the index of their process in spaces, then lookup
 * addresses, innermost first) into the profile's frames and stacks, and
 * fill its binaries. syms[i] is the symbolizer of spaces[i], created here
 * on first use (NULL until then; the caller frees them). Returns a
 * malloc'ed array mapping each raw stack id to its profile stack id.
 * Frames of the same function, file, line and inline level are one frame
 * whose address is the first that produced it; by_address keeps those of
 * different addresses apart, each with its own (dump: a thread's frames
 * show its own pcs).
 */
uint32_t *symbolize_stacks(struct addrspace *const *spaces, struct symbolizer **syms, size_t n_syms,
			   const struct stack_table *raw, struct profile *p, bool by_address);

/*
 * A name for a data address (a lock's futex word): the covering global or
 * static variable ("lock_a", "table+8"), else "module+0xoff" for other
 * file-backed memory, else "heap 0x..." for anonymous memory. Malloc'ed.
 */
char *symbolize_data(struct symbolizer *s, uint64_t addr);

/*
 * The innermost function (an inlined one if the address is in one) at a
 * lookup address, demangled; cached per address. Borrowed from the
 * symbolizer: valid until symbolizer_free. For live views (top).
 */
const char *symbolize_function(struct symbolizer *s, uint64_t addr);

/*
 * A module's symbol tables, read once and sorted by address: a lookup is a
 * binary search where dwfl_module_addrinfo scans the whole table, and it
 * names the symbol that call would (closest covering symbol, global over
 * weak over local, sizeless labels as the fallback). symtab_lookup returns
 * the name (owned by libdwfl) and its start, or NULL.
 */
struct Dwfl_Module;
struct symtab *symtab_new(struct Dwfl_Module *mod);
void symtab_free(struct symtab *t);
const char *symtab_lookup(const struct symtab *t, uint64_t addr, uint64_t *start);

/*
 * Demangle a C++ or Rust name; returns a malloc'ed string, or NULL if the
 * name is not mangled. Rust legacy hashes (::h0123...) are dropped.
 */
char *demangle(const char *name);

#endif
