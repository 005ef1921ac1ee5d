/*
 * symbols.c: symbolization with libdwfl, demangling with libiberty.
 *
 * Each module the target mapped is reported at its load bias, opened
 * through /proc/PID/root while the target lives (containers) and by its own
 * path afterwards. An address expands into its chain of inlined frames from
 * the DWARF scopes (innermost first), each with its own file:line: the
 * innermost from the line table, the outer ones from DW_AT_call_file/line
 * of the inlined scope inside them.
 */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hashmap.h"
#include "symcache.h"
#include "unwind.h"
#include "util.h"

/* One symbol of a module's symbol tables, at its address in the target. */
struct sym_entry {
	uint64_t addr, end; /* end == addr: sizeless */
	const char *name; /* owned by libdwfl */
	uint32_t ndx; /* in the module's table: ties go to the first */
	uint8_t bind, type;
	bool in_section; /* not absolute or common */
};

/* A module's symbols sorted by address: sized ones, and sizeless labels. */
struct symtab {
	Dwfl_Module *mod;
	struct sym_entry *sized, *bare;
	size_t n_sized, n_bare;
	uint32_t first_global; /* table index of the first non-local symbol */
	struct {
		uint64_t lo, hi;
		size_t ndx;
	} * sections; /* allocated sections of the main file, where they load */
	size_t n_sections;
};

struct symbolizer {
	Dwfl *dwfl;
	bool *reported; /* per module of as: given to libdwfl (module_at) */
	struct addrspace *as;
	char *debuginfo_path;
	struct symtab **tabs; /* built once per module, on its first lookup */
	size_t n_tabs;
	/* Per module of as (same index): its symbolization cache, opened on
	 * the first lookup in it. */
	struct symcache **caches;
	bool *cache_tried;
	size_t n_slots; /* of caches, cache_tried, reported: the modules as had */
	/* symbolize_function's cache: address -> names[i] */
	struct u64map fn_index;
	char **fn_names;
	size_t n_fn, cap_fn;
};

static const Dwfl_Callbacks callbacks_template = {
	/* Modules are reported with their file, so find_elf serves only
	 * separate debug files found by build-id. */
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static Dwfl_Callbacks callbacks;

/* The vdso has no file, and a deleted binary none we can open by name
 * (maps.c read it through /proc/PID/map_files): libdwfl gets a copy of
 * the image in a memfd. */
static void report_image(struct symbolizer *s, const struct module *m)
{
	int fd = memfd_create(base_name(m->path), MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, m->image, m->image_size) != (ssize_t)m->image_size) {
		close(fd);
		return;
	}
	/* On success libdwfl owns fd. */
	if (!dwfl_report_elf(s->dwfl, m->path, m->path, fd, m->bias, true))
		close(fd);
}

/*
 * The address space gains modules as the target maps them (a launched
 * command's libraries come after its first samples, as top reads them):
 * the arrays indexed by module follow.
 */
static void track_modules(struct symbolizer *s)
{
	size_t n = s->as->n_mods + 1;
	if (n <= s->n_slots)
		return;
	s->caches = xrealloc(s->caches, n * sizeof(*s->caches));
	s->cache_tried = xrealloc(s->cache_tried, n * sizeof(*s->cache_tried));
	s->reported = xrealloc(s->reported, n * sizeof(*s->reported));
	for (size_t i = s->n_slots; i < n; i++) {
		s->caches[i] = NULL;
		s->cache_tried[i] = s->reported[i] = false;
	}
	s->n_slots = n;
}

/* Report one binary of the address space to libdwfl. */
static void report_module(struct symbolizer *s, size_t i)
{
	struct module *m = s->as->mods[i];
	s->reported[i] = true;
	if (m->hi <= m->lo || !module_load(s->as, m) || !m->bias_known)
		return;
	dwfl_report_begin_add(s->dwfl);
	char *path = strcmp(m->path, "[vdso]") ? module_open_path(s->as, m) : NULL;
	if (path && access(path, R_OK) == 0)
		dwfl_report_elf(s->dwfl, m->path, path, -1, m->bias, true);
	else
		report_image(s, m);
	free(path);
	dwfl_report_end(s->dwfl, NULL, NULL);
}

/*
 * The libdwfl module of the binary at addr, reported on first use: a
 * symbolizer reads only the binaries it is asked about. With -f, symbolize
 * routes each binary to one process's symbolizer, so that libc is read once
 * however many processes ran it, not once per process (53 binaries of each
 * of 20 PostgreSQL backends took 110 MB).
 */
static Dwfl_Module *module_at(struct symbolizer *s, uint64_t addr)
{
	const struct mapping *m = addrspace_find(s->as, addr);
	track_modules(s);
	if (m && m->mod) {
		size_t i = 0;
		while (i < s->as->n_mods && s->as->mods[i] != m->mod)
			i++;
		if (i < s->as->n_mods && !s->reported[i])
			report_module(s, i);
	}
	return dwfl_addrmodule(s->dwfl, addr);
}

/* Every binary: for data addresses, which may lie past a binary's
 * mappings (.bss). */
static void report_all(struct symbolizer *s)
{
	track_modules(s);
	for (size_t i = 0; i < s->as->n_mods; i++)
		if (!s->reported[i])
			report_module(s, i);
}

struct symbolizer *symbolizer_new(struct addrspace *as)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));
	s->as = as;
	callbacks = callbacks_template;
	s->debuginfo_path = NULL; /* default: .debug, /usr/lib/debug */
	callbacks.debuginfo_path = &s->debuginfo_path;
	track_modules(s);
	s->dwfl = dwfl_begin(&callbacks);
	if (!s->dwfl)
		die(EXIT_FAILURE_, "cannot initialise libdwfl: %s", dwfl_errmsg(-1));
	dwfl_report_begin(s->dwfl);
	dwfl_report_end(s->dwfl, NULL, NULL);
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_tabs; i++)
		symtab_free(s->tabs[i]);
	free(s->tabs);
	for (size_t i = 0; i < s->n_slots; i++)
		symcache_close(s->caches[i]);
	free(s->caches);
	free(s->cache_tried);
	free(s->reported);
	dwfl_end(s->dwfl);
	for (size_t i = 0; i < s->n_fn; i++)
		free(s->fn_names[i]);
	free(s->fn_names);
	u64map_release(&s->fn_index);
	free(s);
}

char *demangle(const char *name)
{
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	/* Without DMGL_VERBOSE libiberty drops Rust legacy hashes and v0
	 * crate disambiguators. No DMGL_PARAMS: names stay readable in
	 * flame graphs, as in perf's default view. */
	return cplus_demangle(name, DMGL_AUTO);
}

/*
 * Symbol lookup. libdwfl's dwfl_module_addrinfo scans the whole symbol table
 * at every call: with the 165,000 symbols of librustc_driver that took most
 * of a second for a few hundred addresses. The tables are read once per
 * module instead, sorted, and each address is a binary search. The choice
 * is libdwfl's: the closest symbol whose range covers the address, the
 * stronger binding among aliases (weak over global over local), the first
 * in the table on a tie; a sizeless label only if it lies past the end of
 * every sized symbol before it.
 */
static int sym_cmp(const void *a, const void *b)
{
	const struct sym_entry *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->ndx < y->ndx ? -1 : x->ndx > y->ndx;
}

struct symtab *symtab_new(struct Dwfl_Module *mod)
{
	struct symtab *ms = xcalloc(1, sizeof(*ms));
	ms->mod = mod;
	int n = dwfl_module_getsymtab(mod);
	int fg = dwfl_module_getsymtab_first_global(mod);
	ms->first_global = fg > 0 ? (uint32_t)fg : 1;
	size_t cap_sized = 0, cap_bare = 0;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !*name || shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE || type == STT_TLS)
			continue;
		struct sym_entry e = {addr,
				      addr + sym.st_size,
				      name,
				      (uint32_t)i,
				      (uint8_t)GELF_ST_BIND(sym.st_info),
				      (uint8_t)type,
				      shndx < SHN_LORESERVE || shndx == SHN_XINDEX};
		if (sym.st_size) {
			GROW(ms->sized, cap_sized, ms->n_sized + 1);
			ms->sized[ms->n_sized++] = e;
		} else {
			GROW(ms->bare, cap_bare, ms->n_bare + 1);
			ms->bare[ms->n_bare++] = e;
		}
	}
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t cap_scn = 0;
	for (Elf_Scn *scn = NULL; elf && (scn = elf_nextscn(elf, scn)) != NULL;) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || !sh.sh_size)
			continue;
		GROW(ms->sections, cap_scn, ms->n_sections + 1);
		ms->sections[ms->n_sections].lo = sh.sh_addr + bias;
		ms->sections[ms->n_sections].hi = sh.sh_addr + bias + sh.sh_size;
		ms->sections[ms->n_sections++].ndx = elf_ndxscn(scn);
	}
	if (ms->n_sized)
		qsort(ms->sized, ms->n_sized, sizeof(*ms->sized), sym_cmp);
	if (ms->n_bare)
		qsort(ms->bare, ms->n_bare, sizeof(*ms->bare), sym_cmp);
	return ms;
}

void symtab_free(struct symtab *t)
{
	if (!t)
		return;
	free(t->sized);
	free(t->bare);
	free(t->sections);
	free(t);
}

static struct symtab *symtab_of(struct symbolizer *s, Dwfl_Module *mod)
{
	for (size_t i = 0; i < s->n_tabs; i++)
		if (s->tabs[i]->mod == mod)
			return s->tabs[i];
	s->tabs = xrealloc(s->tabs, (s->n_tabs + 1) * sizeof(*s->tabs));
	return s->tabs[s->n_tabs++] = symtab_new(mod);
}

/* Index of the last entry at or below addr, or -1. */
static ptrdiff_t sym_floor(const struct sym_entry *e, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ptrdiff_t)lo - 1;
}

/* How far back to look for a sized symbol that covers an address past
 * others (nested symbols are rare). */
#define SYM_NEST_SCAN 64

/* libdwfl's preference among bindings: global, weak, local. */
static int bind_rank(const struct sym_entry *e)
{
	return e->bind == STB_GLOBAL ? 3 : e->bind == STB_WEAK ? 2 : e->bind == STB_LOCAL;
}

/* libdwfl's rule for a covering sized symbol e met after *best in table
 * order: closer, or a stronger binding, wins; at the same address a
 * smaller one of no weaker binding does. */
static bool sym_better(const struct sym_entry *e, const struct sym_entry *best)
{
	if (!best || best->addr < e->addr || bind_rank(best) < bind_rank(e))
		return true;
	uint64_t se = e->end - e->addr, sb = best->end - best->addr;
	return best->addr == e->addr && sb > se && bind_rank(best) <= bind_rank(e);
}

static int ndx_cmp(const void *a, const void *b)
{
	const struct sym_entry *x = *(const struct sym_entry *const *)a;
	const struct sym_entry *y = *(const struct sym_entry *const *)b;
	return x->ndx < y->ndx ? -1 : x->ndx > y->ndx;
}

/* The allocated section of the module's main file that holds addr: 0 if
 * none. As libdwfl does, a label is only taken for an address in its own
 * section. */
static size_t section_of(const struct symtab *t, uint64_t addr)
{
	for (size_t i = 0; i < t->n_sections; i++)
		if (addr >= t->sections[i].lo && addr < t->sections[i].hi)
			return t->sections[i].ndx;
	return 0;
}

/*
 * libdwfl's choice among the symbols of table indexes [lo, hi): covering
 * sized symbols in table order; *min_label grows to the furthest end of
 * every symbol below addr; *bare is the sizeless fallback.
 */
static const struct sym_entry *sym_search(const struct symtab *t, uint64_t addr, uint32_t lo,
					  uint32_t hi, uint64_t *min_label,
					  const struct sym_entry **bare)
{
	const struct sym_entry **cand = NULL;
	size_t n = 0, cap = 0;
	ptrdiff_t i = sym_floor(t->sized, t->n_sized, addr);
	/* Every alias at the closest address (identical code folding makes
	 * hundreds), and a few addresses further down for nested symbols. */
	for (ptrdiff_t k = i;
	     k >= 0 && (k > i - SYM_NEST_SCAN || t->sized[k].addr == t->sized[i].addr); k--) {
		const struct sym_entry *e = &t->sized[k];
		if (e->ndx < lo || e->ndx >= hi)
			continue;
		if (e->end > *min_label)
			*min_label = e->end;
		if (addr < e->end) {
			GROW(cand, cap, n + 1);
			cand[n++] = e;
		}
	}
	if (n > 1)
		qsort(cand, n, sizeof(*cand), ndx_cmp);
	const struct sym_entry *best = NULL;
	for (size_t k = 0; k < n; k++)
		if (sym_better(cand[k], best))
			best = cand[k];
	free(cand);
	/* Assembly labels without a size. As libdwfl reads the table, the
	 * closest label below addr raises the floor for labels (min_label)
	 * to its own address: only labels at that address remain, in addr's
	 * section, and the last of them in table order is the fallback. */
	size_t scn = 0;
	const struct sym_entry *top = NULL, *pick = NULL;
	i = sym_floor(t->bare, t->n_bare, addr);
	for (ptrdiff_t k = i; k >= 0 && k > i - 16 * SYM_NEST_SCAN; k--) {
		const struct sym_entry *e = &t->bare[k];
		if (e->ndx < lo || e->ndx >= hi)
			continue;
		if (top && e->addr != top->addr)
			break;
		top = e;
		bool ok = e->addr == addr;
		if (!ok && e->in_section) {
			if (!scn)
				scn = section_of(t, addr);
			ok = scn && section_of(t, e->addr) == scn;
		}
		if (ok && (!pick || e->ndx > pick->ndx))
			pick = e;
	}
	if (pick && pick->addr >= *min_label)
		*bare = pick;
	if (top && top->addr > *min_label)
		*min_label = top->addr;
	return best;
}

static const struct sym_entry *sym_find(const struct symtab *ms, uint64_t addr)
{
	uint64_t min_label = 0;
	const struct sym_entry *bare = NULL;
	/* The global symbols first (they follow the locals in the table);
	 * the locals only if no global covers addr. */
	const struct sym_entry *e =
		sym_search(ms, addr, ms->first_global, UINT32_MAX, &min_label, &bare);
	if (!e && !(bare && bare->addr == addr))
		e = sym_search(ms, addr, 1, ms->first_global, &min_label, &bare);
	if (!e && bare && bare->addr >= min_label)
		e = bare;
	return e;
}

const char *symtab_lookup(const struct symtab *t, uint64_t addr, uint64_t *start)
{
	const struct sym_entry *e = sym_find(t, addr);
	if (e && start)
		*start = e->addr;
	return e ? e->name : NULL;
}

static const struct sym_entry *sym_lookup(struct symbolizer *s, Dwfl_Module *mod, uint64_t addr)
{
	return sym_find(symtab_of(s, mod), addr);
}

/* A frame before interning; strings owned. */
struct raw_frame {
	char *function;
	const char *module;
	char *file;
	int line;
	bool inlined;
};

static char *die_function_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *linkage = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		linkage = dwarf_formstring(&attr);
	if (linkage) {
		char *d = demangle(linkage);
		return d ? d : xstrdup(linkage);
	}
	const char *name = dwarf_diename(die);
	if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	return name ? xstrdup(name) : NULL;
}

static char *symbol_function_name(const char *sym)
{
	/* .dynsym names carry their version ("read@@GLIBC_2.2.5"). */
	char *plain = xstrdup(sym);
	char *at = strchr(plain, '@');
	if (at && at != plain)
		*at = '\0';
	char *d = demangle(plain);
	if (d) {
		free(plain);
		return d;
	}
	return plain;
}

static const char *call_file(Dwarf_Die *cudie, Dwarf_Die *scope, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx, ln;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_line, &attr), &ln) == 0)
		*line = (int)ln;
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_file, &attr), &idx) != 0 ||
	    dwarf_getsrcfiles(cudie, &files, &nfiles) != 0 || idx >= nfiles)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

/* The cache of module m, opened on first use; NULL if none. */
static struct symcache *cache_of(struct symbolizer *s, const struct module *m)
{
	size_t i = 0;
	track_modules(s);
	while (i < s->as->n_mods && s->as->mods[i] != m)
		i++;
	if (i == s->as->n_mods || !m->bias_known)
		return NULL;
	if (!s->cache_tried[i]) {
		s->cache_tried[i] = true;
		char *path = module_open_path(s->as, m);
		s->caches[i] = symcache_open(m->build_id, path);
		free(path);
	}
	return s->caches[i];
}

static int lookup_dwarf(struct symbolizer *s, uint64_t addr, const struct mapping *map,
			const char *modname, struct raw_frame *out, int max);

/* Expand one address into frames, innermost first. Returns the count. */
static int lookup(struct symbolizer *s, uint64_t addr, struct raw_frame *out, int max)
{
	if (STACK_IS_ELIDED(addr)) {
		out[0] = (struct raw_frame){xasprintf("[%llu frames elided]",
						      (unsigned long long)STACK_ELIDED_COUNT(addr)),
					    NULL, NULL, 0, false};
		return 1;
	}
	if (addr >= STACK_SKIPPED_ADDR && addr <= STACK_EXEC_ADDR) {
		static const char *const what[] = {
			[STACK_SKIPPED_ADDR] = "[stack not taken: --max-overhead]",
			[STACK_LATE_ADDR] = "[stack not taken: the thread did not stop in time]",
			[STACK_EXEC_ADDR] = "[exec: the new program starting]",
		};
		out[0] = (struct raw_frame){xstrdup(what[addr]), NULL, NULL, 0, false};
		return 1;
	}
	const struct mapping *map = addrspace_find(s->as, addr);
	const char *modname = map && map->mod ? base_name(map->mod->path) : NULL;
	struct symcache *cache = map && map->mod ? cache_of(s, map->mod) : NULL;
	uint64_t offset = cache ? addr - map->mod->bias : 0;
	int nc;
	const struct symcache_frame *cf = symcache_get(cache, offset, &nc);
	if (cf) {
		int n = nc < max ? nc : max;
		for (int i = 0; i < n; i++)
			out[i] = (struct raw_frame){xstrdup(cf[i].function), modname,
						    cf[i].file ? xstrdup(cf[i].file) : NULL,
						    cf[i].line, cf[i].inlined};
		return n;
	}
	int n = lookup_dwarf(s, addr, map, modname, out, max);
	if (cache) {
		struct symcache_frame f[16];
		int k = n < (int)ARRAY_SIZE(f) ? n : (int)ARRAY_SIZE(f);
		for (int i = 0; i < k; i++)
			f[i] = (struct symcache_frame){out[i].function, out[i].file, out[i].line,
						       out[i].inlined};
		symcache_put(cache, offset, f, k);
	}
	return n;
}

/*
 * The scopes of the innermost function at addr, outwards: its inlined
 * subroutines, each inside the next, then the function they are inlined
 * into. dwarf_getscopes alone will not do: after an inlined subroutine it
 * goes on into that subroutine's abstract definition (its own subprogram),
 * not into the code it was inlined into. The containing chain comes from
 * the innermost scope's place in the DIE tree (dwarf_getscopes_die), as
 * eu-addr2line -i builds it. Returns the count; *out is malloc'ed.
 */
static int innermost_chain(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **out)
{
	Dwarf_Die *scopes = NULL;
	int ns = dwarf_getscopes(cudie, pc, &scopes);
	Dwarf_Die inner;
	int found = 0;
	for (int i = 0; i < ns && !found; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
			inner = scopes[i];
			found = 1;
		}
	}
	free(scopes);
	*out = NULL;
	return found ? dwarf_getscopes_die(&inner, out) : 0;
}

/*
 * An address without a symbol is named by the start of its function as the
 * unwind table knows it ("postgres+0x3f7c60"), so that one function of a
 * stripped binary is one frame however many addresses were sampled in it,
 * as perf groups them. The address itself if the table does not cover it.
 */
static uint64_t function_start(struct symbolizer *s, const struct mapping *map, uint64_t addr)
{
	uint64_t start;
	return addrspace_function_start(s->as, map, addr, &start) ? start : addr;
}

/*
 * A Go function without a symbol (Go binaries as Debian ships them are
 * stripped): its name, and the file and line of addr, from the table Go
 * keeps for its own tracebacks (gopclntab.h). NULL if mod has none.
 */
static const char *go_function(struct addrspace *as, struct module *mod, uint64_t addr,
			       const char **file, int *line)
{
	struct gofunc f;
	if (!module_go_function(as, mod, addr, &f))
		return NULL;
	gopclntab_line(&mod->go, &f, addr - mod->bias, file, line);
	return gopclntab_name(&mod->go, &f);
}

/* lookup() without the cache. */
static int lookup_dwarf(struct symbolizer *s, uint64_t addr, const struct mapping *map,
			const char *modname, struct raw_frame *out, int max)
{
	Dwfl_Module *mod = module_at(s, addr);
	const struct sym_entry *se = mod ? sym_lookup(s, mod, addr) : NULL;
	const char *sym = se ? se->name : NULL;

	int n = 0;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cudie = mod ? dwfl_module_addrdie(mod, addr, &bias) : NULL;
	if (cudie) {
		const char *file = NULL;
		int line = 0;
		Dwfl_Line *dl = dwfl_module_getsrc(mod, addr);
		if (dl)
			file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
		Dwarf_Die *scopes = NULL;
		int ns = innermost_chain(cudie, addr - bias, &scopes);
		for (int i = 0; i < ns && n < max; i++) {
			int tag = dwarf_tag(&scopes[i]);
			if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
				continue;
			char *name = die_function_name(&scopes[i]);
			if (tag == DW_TAG_subprogram && sym) {
				free(name);
				name = symbol_function_name(sym);
			}
			if (!name)
				name = xstrdup("??");
			out[n++] = (struct raw_frame){name, modname, file ? xstrdup(file) : NULL,
						      line, tag == DW_TAG_inlined_subroutine};
			if (tag == DW_TAG_subprogram)
				break;
			file = call_file(cudie, &scopes[i], &line);
		}
		free(scopes);
		if (n > 0 && out[n - 1].inlined && n < max) {
			/* The scopes ended without the containing function. */
			out[n++] = (struct raw_frame){
				sym ? symbol_function_name(sym) : xstrdup("??"), modname,
				file ? xstrdup(file) : NULL, line, false};
		}
	}
	if (n == 0) {
		/* No scope (a CU without subprogram ranges, as some Rust and
		 * assembly units have): the line table may still know. */
		const char *file = NULL;
		int line = 0;
		Dwfl_Line *dl = mod && cudie ? dwfl_module_getsrc(mod, addr) : NULL;
		if (dl)
			file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
		char *name;
		/* Go code without DWARF: its lines, and without symbols its
		 * names too, from Go's own table. */
		const char *go = NULL;
		if (!file && map && map->mod)
			go = go_function(s->as, map->mod, addr, &file, &line);
		if (sym)
			name = symbol_function_name(sym);
		else if (go)
			name = xstrdup(go);
		else if (map && map->mod)
			name = xasprintf("%s+0x%llx", modname,
					 (unsigned long long)(function_start(s, map, addr) -
							      map->start + map->offset));
		else
			name = xasprintf("[unknown 0x%llx]", (unsigned long long)addr);
		out[n++] =
			(struct raw_frame){name, modname, file ? xstrdup(file) : NULL, line, false};
	}
	return n;
}

struct frame_interner {
	struct strmap ids;
	struct profile *p;
	size_t cap;
	bool by_address;
};

static uint32_t intern_frame(struct frame_interner *fi, struct raw_frame *f, uint64_t addr)
{
	char *key = xasprintf("%s\x1f%s\x1f%s\x1f%d\x1f%d\x1f%llx", f->function,
			      f->module ? f->module : "", f->file ? f->file : "", f->line,
			      f->inlined, fi->by_address ? (unsigned long long)addr : 0ULL);
	uint32_t id;
	if (strmap_get(&fi->ids, key, &id)) {
		free(key);
		free(f->function);
		free(f->file);
		return id;
	}
	struct profile *p = fi->p;
	GROW(p->frames, fi->cap, p->n_frames + 1);
	p->frames[p->n_frames] = (struct profile_frame){
		f->function, f->module ? xstrdup(f->module) : NULL, f->file, f->line, f->inlined,
		addr};
	id = (uint32_t)p->n_frames++;
	strmap_put(&fi->ids, key, id);
	free(key);
	return id;
}

/* Looked-up addresses are keyed with their process: user addresses
 * fit in 48 bits, the process index goes above. */
#define ADDR_KEY(proc, addr) ((uint64_t)(proc) << 48 | (addr))

/* Was any code of module m of process proc looked up (is it in a stack)? */
static bool module_used(const struct u64map *addrs, uint32_t proc, const struct module *m)
{
	for (size_t i = 0; i < addrs->n_slots; i++)
		if (addrs->vals[i] && addrs->keys[i] >= ADDR_KEY(proc, m->lo) &&
		    addrs->keys[i] < ADDR_KEY(proc, m->hi))
			return true;
	return false;
}

/* Is this binary (path and build-id) listed already? */
static bool binary_listed(const struct profile *p, const struct module *m)
{
	for (size_t i = 0; i < p->n_binaries; i++)
		if (!strcmp(p->binaries[i].path, m->path) &&
		    !strcmp(p->binaries[i].build_id ? p->binaries[i].build_id : "", m->build_id))
			return true;
	return false;
}

/* A Go binary's own table names every function, with file:line for code
 * not inlined, and unwinds it (gopclntab.h): what the report's warnings ask
 * of symbols and debug info. */
static void go_binary(struct profile_binary *b, const struct module *m)
{
	if (!m->go.version)
		return;
	b->has_symbols = b->symtab = b->has_debuginfo = b->unwind_tables = true;
}

/*
 * The binaries, with what the report needs to judge them. DWARF is looked
 * at only for binaries with code in some stack: loading (and inflating) the
 * debug info of every mapped library would cost more than the lookups.
 */
static void fill_binaries(struct symbolizer *s, uint32_t proc, struct profile *p,
			  const struct u64map *addrs, bool unread)
{
	struct addrspace *as = s->as;
	track_modules(s);
	p->binaries =
		xrealloc(p->binaries, (p->n_binaries + as->n_mods + 1) * sizeof(*p->binaries));
	for (size_t i = 0; i < as->n_mods; i++) {
		struct module *m = as->mods[i];
		if (m->hi <= m->lo || binary_listed(p, m) || (!s->reported[i] && !unread))
			continue;
		struct profile_binary *b = &p->binaries[p->n_binaries++];
		memset(b, 0, sizeof(*b));
		b->path = xstrdup(m->path);
		b->build_id = m->build_id[0] ? xstrdup(m->build_id) : NULL;
		b->start = m->lo;
		b->end = m->hi;
		Dwfl_Module *dm = s->reported[i] ? dwfl_addrmodule(s->dwfl, m->lo) : NULL;
		if (!dm) {
			/* Not read for symbols: no frame in it, or every frame
			 * came from the symbol cache, which then knows what its
			 * debug info was. Otherwise, what the file itself says. */
			module_load(as, m);
			b->symtab = m->has_symtab;
			b->has_symbols = m->has_symtab || m->has_dynsym;
			b->unwind_tables = m->fde_count > 0 || m->debug_count > 0;
			struct symcache *cache =
				module_used(addrs, proc, m) ? cache_of(s, m) : NULL;
			const struct symcache_binary *known = cache ? symcache_binary(cache) : NULL;
			if (known && known->known) {
				b->has_debuginfo = known->has_debuginfo;
				b->unoptimized = known->unoptimized;
				b->producer = known->producer ? xstrdup(known->producer) : NULL;
				b->symtab = m->has_symtab || b->has_debuginfo;
			}
			go_binary(b, m);
			continue;
		}
		b->has_symbols = dwfl_module_getsymtab(dm) > 0;
		module_load(as, m);
		b->unwind_tables = m->fde_count > 0 || m->debug_count > 0;
		Dwarf_Addr bias;
		if (!module_used(addrs, proc, m)) {
			b->symtab = b->has_symbols;
			continue;
		}
		struct symcache *cache = cache_of(s, m);
		const struct symcache_binary *known = symcache_binary(cache);
		if (known && known->known) {
			b->has_debuginfo = known->has_debuginfo;
			b->unoptimized = known->unoptimized;
			b->producer = known->producer ? xstrdup(known->producer) : NULL;
			b->symtab = m->has_symtab || b->has_debuginfo;
			go_binary(b, m);
			continue;
		}
		b->has_debuginfo = dwfl_module_getdwarf(dm, &bias) != NULL;
		Dwarf_Die *cu = b->has_debuginfo ? dwfl_module_nextcu(dm, NULL, &bias) : NULL;
		Dwarf_Attribute attr;
		const char *prod =
			cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_producer, &attr)) : NULL;
		if (prod) {
			b->producer = xstrdup(prod);
			/* GCC records its flags; no -O at all means -O0. */
			b->unoptimized = strstr(prod, "GNU ") &&
					 (strstr(prod, " -O0") || !strstr(prod, " -O"));
		}
		symcache_set_binary(cache, b->has_debuginfo, b->unoptimized, b->producer);
		b->symtab = m->has_symtab || b->has_debuginfo;
		go_binary(b, m);
	}
}

/*
 * The process whose symbolizer names addresses of the binary at addr in
 * process proc, and the address there. Every process running a binary has
 * it at its own load bias, but the names are the same: with -f, 2,000
 * short-lived children of a shell all run /bin/sleep and libc, and one
 * libdwfl session for each (each reading libc's symbols and DWARF) took
 * more than a gigabyte. The first process met with a binary symbolizes it
 * for all: addresses are moved by the difference of the two biases.
 */
struct routes {
	struct strmap index; /* binary -> owners[i] */
	struct owner {
		uint32_t proc;
		const struct module *mod; /* the binary in that process */
	} * owners;
	size_t n, cap;
};

static uint64_t route(struct routes *r, struct addrspace *const *spaces, uint32_t proc,
		      uint64_t addr, uint32_t *by)
{
	const struct mapping *m = addrspace_find(spaces[proc], addr);
	*by = proc;
	/* The vdso is the kernel's, the same in every process. */
	if (!m || !m->mod || !m->mod->bias_known ||
	    (m->mod->path[0] != '/' && strcmp(m->mod->path, "[vdso]")))
		return addr;
	const struct module *mod = m->mod;
	char key[600];
	snprintf(key, sizeof(key), "%llx:%llx:%s", (unsigned long long)mod->dev,
		 (unsigned long long)mod->inode, mod->path);
	uint32_t i;
	if (!strmap_get(&r->index, key, &i)) {
		GROW(r->owners, r->cap, r->n + 1);
		r->owners[r->n] = (struct owner){proc, mod};
		strmap_put(&r->index, key, (uint32_t)r->n++);
		return addr;
	}
	*by = r->owners[i].proc;
	return addr - mod->bias + r->owners[i].mod->bias;
}

uint32_t *symbolize_stacks(struct addrspace *const *spaces, struct symbolizer **syms, size_t n_syms,
			   const struct stack_table *raw, struct profile *p, bool by_address)
{
	struct u64map addr_first; /* ADDR_KEY -> index into chain storage */
	u64map_init(&addr_first);
	uint32_t *chain = NULL; /* per address: count, then frame ids */
	size_t n_chain = 0, cap_chain = 0;
	struct frame_interner fi = {.p = p, .by_address = by_address};
	strmap_init(&fi.ids);
	struct stack_table out;
	stack_table_init(&out);
	uint64_t *ids = NULL; /* the frames of one stack, inlines included */
	size_t cap_ids = 0;
	uint32_t *map = xcalloc(raw->n ? raw->n : 1, sizeof(*map));
	struct routes routes = {.owners = NULL}; /* binary -> the process naming it */
	strmap_init(&routes.index);

	for (uint32_t sid = 0; sid < raw->n; sid++) {
		struct raw_stack rs = raw_stack_get(raw, sid);
		uint32_t n = 0;
		uint32_t proc = rs.proc < n_syms ? rs.proc : 0;
		for (uint32_t k = 0; k < rs.n && n_syms; k++) {
			uint32_t at, by = proc;
			uint64_t addr = route(&routes, spaces, proc, rs.ips[k], &by);
			uint64_t key = ADDR_KEY(by, addr);
			if (!u64map_get(&addr_first, key, &at)) {
				if (!syms[by])
					syms[by] = symbolizer_new(spaces[by]);
				struct raw_frame rf[16];
				int nf = lookup(syms[by], addr, rf, (int)ARRAY_SIZE(rf));
				at = (uint32_t)n_chain;
				GROW(chain, cap_chain, n_chain + 1 + (size_t)nf);
				chain[n_chain++] = (uint32_t)nf;
				for (int j = 0; j < nf; j++)
					chain[n_chain++] = intern_frame(&fi, &rf[j], rs.ips[k]);
				u64map_put(&addr_first, key, at);
			}
			GROW(ids, cap_ids, (size_t)n + chain[at]);
			for (uint32_t j = 0; j < chain[at]; j++)
				ids[n++] = chain[at + 1 + j];
		}
		map[sid] = stack_intern(&out, ids, n, rs.truncated);
	}

	p->stacks = xcalloc(out.n ? out.n : 1, sizeof(*p->stacks));
	p->n_stacks = out.n;
	for (uint32_t i = 0; i < out.n; i++) {
		uint32_t len;
		bool truncated;
		const uint64_t *v = stack_values(&out, i, &len, &truncated);
		p->stacks[i].n = len;
		p->stacks[i].truncated = truncated;
		p->stacks[i].frames = xcalloc(len ? len : 1, sizeof(uint32_t));
		for (uint32_t k = 0; k < len; k++)
			p->stacks[i].frames[k] = (uint32_t)v[k];
	}
	/* The binaries of the processes sampled (not, say, of the copy of
	 * wallprof a launched command was before its exec); with no sample
	 * at all, of the last process. */
	bool any = false;
	for (size_t i = 0; i < n_syms; i++)
		any = any || syms[i];
	if (!any && n_syms)
		syms[n_syms - 1] = symbolizer_new(spaces[n_syms - 1]);
	/* First the binaries read for symbols, then the others. */
	for (int unread = 0; unread < 2; unread++)
		for (size_t i = 0; i < n_syms; i++)
			if (syms[i])
				fill_binaries(syms[i], (uint32_t)i, p, &addr_first, unread);

	free(ids);
	free(chain);
	stack_table_release(&out);
	strmap_release(&fi.ids);
	strmap_release(&routes.index);
	free(routes.owners);
	u64map_release(&addr_first);
	return map;
}

char *symbolize_data(struct symbolizer *s, uint64_t addr)
{
	const struct mapping *map = addrspace_find(s->as, addr);
	/* A module's .bss goes on past its last file page, into a mapping
	 * /proc/PID/maps shows as anonymous; libdwfl knows the module's extent
	 * from its program headers (p_memsz), so ask it first. */
	if (map)
		report_all(s);
	Dwfl_Module *mod = map ? dwfl_addrmodule(s->dwfl, addr) : NULL;
	if (mod) {
		const struct sym_entry *se = sym_lookup(s, mod, addr);
		/* Only a data object that covers the address names it. */
		if (se && se->type == STT_OBJECT && addr >= se->addr &&
		    (addr < se->end || addr == se->addr)) {
			char *name = demangle(se->name);
			uint64_t off = addr - se->addr;
			char *out = off ? xasprintf("%s+%llu", name ? name : se->name,
						    (unsigned long long)off)
					: xstrdup(name ? name : se->name);
			free(name);
			return out;
		}
	}
	if (mod && map->mod) {
		return xasprintf("%s+0x%llx", base_name(map->mod->path),
				 (unsigned long long)(addr - map->start + map->offset));
	}
	if (map && !map->mod) {
		/* glibc puts a thread's stack right above a PROT_NONE guard
		 * page; malloc's arenas have their reserve above instead. */
		const struct mapping *below = map > s->as->maps ? map - 1 : NULL;
		bool stack = map->stack || (below && below->end == map->start && !below->readable &&
					    !below->writable && !below->mod);
		return xasprintf("%s 0x%llx", stack ? "stack" : "heap", (unsigned long long)addr);
	}
	return xasprintf("0x%llx", (unsigned long long)addr);
}

const char *symbolize_function(struct symbolizer *s, uint64_t addr)
{
	uint32_t i;
	if (u64map_get(&s->fn_index, addr, &i))
		return s->fn_names[i];
	struct raw_frame fr[16];
	int n = lookup(s, addr, fr, (int)ARRAY_SIZE(fr));
	char *name = n > 0 ? fr[0].function : xasprintf("0x%llx", (unsigned long long)addr);
	for (int k = n > 0 ? 1 : 0; k < n; k++)
		free(fr[k].function);
	for (int k = 0; k < n; k++)
		free(fr[k].file);
	GROW(s->fn_names, s->cap_fn, s->n_fn + 1);
	s->fn_names[s->n_fn] = name;
	u64map_put(&s->fn_index, addr, (uint32_t)s->n_fn);
	return s->fn_names[s->n_fn++];
}

bool elf_calls_ptrace(const char *path)
{
	/* libc's ptrace, imported or linked in; Go's own wrappers. */
	static const char *const names[] = {"ptrace", "syscall.ptrace", "syscall.ptrace1",
					    "golang.org/x/sys/unix.ptrace",
					    "golang.org/x/sys/unix.ptrace1"};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	bool found = false;
	for (Elf_Scn *scn = NULL; elf && !found && (scn = elf_nextscn(elf, scn)) != NULL;) {
		GElf_Shdr sh;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize ||
		    !(data = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; !found && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;
			if (!gelf_getsym(data, (int)i, &sym) ||
			    (GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
			     GELF_ST_TYPE(sym.st_info) != STT_NOTYPE) ||
			    !(name = elf_strptr(elf, sh.sh_link, sym.st_name)))
				continue;
			for (size_t k = 0; k < ARRAY_SIZE(names) && !found; k++)
				found = !strcmp(name, names[k]);
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}
