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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hashmap.h"
#include "unwind.h"
#include "util.h"

struct symbolizer {
	Dwfl *dwfl;
	struct addrspace *as;
	char *debuginfo_path;
	/* symbolize_function's cache: address -> names[i] */
	struct u64map fn_index;
	char **fn_names;
	size_t n_fn, cap_fn;
};

/* Frames per symbolized stack: MAX_FRAMES addresses, each with its inlines. */
#define MAX_FRAMES_SYMBOLIZED 512

static const Dwfl_Callbacks callbacks_template = {
	/* Modules are reported with their file, so find_elf serves only
	 * separate debug files found by build-id. */
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static Dwfl_Callbacks callbacks;

/* The vdso has no file; libdwfl gets a copy of its image in a memfd. */
static void report_vdso(struct symbolizer *s, const struct module *m)
{
	int fd = memfd_create("vdso", MFD_CLOEXEC);
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

struct symbolizer *symbolizer_new(struct addrspace *as)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));
	s->as = as;
	callbacks = callbacks_template;
	s->debuginfo_path = NULL; /* default: .debug, /usr/lib/debug */
	callbacks.debuginfo_path = &s->debuginfo_path;
	s->dwfl = dwfl_begin(&callbacks);
	if (!s->dwfl)
		die(EXIT_FAILURE_, "cannot initialise libdwfl: %s", dwfl_errmsg(-1));
	dwfl_report_begin(s->dwfl);
	for (size_t i = 0; i < as->n_mods; i++) {
		struct module *m = as->mods[i];
		if (m->hi <= m->lo || !module_load(as, m) || !m->bias_known)
			continue;
		if (!strcmp(m->path, "[vdso]")) {
			report_vdso(s, m);
			continue;
		}
		char *path = module_open_path(as, m);
		dwfl_report_elf(s->dwfl, m->path, path, -1, m->bias, true);
		free(path);
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
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

/* Expand one address into frames, innermost first. Returns the count. */
static int lookup(struct symbolizer *s, uint64_t addr, struct raw_frame *out, int max)
{
	if (addr == STACK_SKIPPED_ADDR) {
		out[0] = (struct raw_frame){xstrdup("[stack not taken: --max-overhead]"), NULL,
					    NULL, 0, false};
		return 1;
	}
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	const struct mapping *map = addrspace_find(s->as, addr);
	const char *modname = map && map->mod ? base_name(map->mod->path) : NULL;
	const char *sym = NULL;
	GElf_Off off = 0;
	GElf_Sym esym;
	if (mod)
		sym = dwfl_module_addrinfo(mod, addr, &off, &esym, NULL, NULL, NULL);

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
		int ns = dwarf_getscopes(cudie, addr - bias, &scopes);
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
		char *name;
		if (sym)
			name = symbol_function_name(sym);
		else if (map && map->mod)
			name = xasprintf("%s+0x%llx", modname,
					 (unsigned long long)(addr - map->start + map->offset));
		else
			name = xasprintf("[unknown 0x%llx]", (unsigned long long)addr);
		out[n++] = (struct raw_frame){name, modname, NULL, 0, false};
	}
	return n;
}

struct frame_interner {
	struct strmap ids;
	struct profile *p;
	size_t cap;
};

static uint32_t intern_frame(struct frame_interner *fi, struct raw_frame *f, uint64_t addr)
{
	char *key = xasprintf("%s\x1f%s\x1f%s\x1f%d\x1f%d", f->function, f->module ? f->module : "",
			      f->file ? f->file : "", f->line, f->inlined);
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

/* Was any code of module m looked up (is it in some stack)? */
static bool module_used(const struct u64map *addrs, const struct module *m)
{
	for (size_t i = 0; i < addrs->n_slots; i++)
		if (addrs->vals[i] && addrs->keys[i] >= m->lo && addrs->keys[i] < m->hi)
			return true;
	return false;
}

/*
 * The binaries, with what the report needs to judge them. DWARF is looked
 * at only for binaries with code in some stack: loading (and inflating) the
 * debug info of every mapped library would cost more than the lookups.
 */
static void fill_binaries(struct symbolizer *s, struct profile *p, const struct u64map *addrs)
{
	struct addrspace *as = s->as;
	p->binaries = xcalloc(as->n_mods, sizeof(*p->binaries));
	for (size_t i = 0; i < as->n_mods; i++) {
		struct module *m = as->mods[i];
		if (m->hi <= m->lo)
			continue;
		struct profile_binary *b = &p->binaries[p->n_binaries++];
		b->path = xstrdup(m->path);
		b->build_id = m->build_id[0] ? xstrdup(m->build_id) : NULL;
		b->start = m->lo;
		b->end = m->hi;
		Dwfl_Module *dm = dwfl_addrmodule(s->dwfl, m->lo);
		if (!dm)
			continue;
		b->has_symbols = dwfl_module_getsymtab(dm) > 0;
		Dwarf_Addr bias;
		if (!module_used(addrs, m))
			continue;
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
	}
}

uint32_t *symbolize_stacks(struct symbolizer *s, const struct stack_table *raw, struct profile *p)
{
	struct u64map addr_first; /* address -> index into chain storage */
	u64map_init(&addr_first);
	uint32_t *chain = NULL; /* per address: count, then frame ids */
	size_t n_chain = 0, cap_chain = 0;
	struct frame_interner fi = {.p = p};
	strmap_init(&fi.ids);
	struct stack_table out;
	stack_table_init(&out);
	uint64_t *ids = xmalloc(sizeof(uint64_t) * MAX_FRAMES_SYMBOLIZED);
	uint32_t *map = xcalloc(raw->n ? raw->n : 1, sizeof(*map));

	for (uint32_t sid = 0; sid < raw->n; sid++) {
		uint32_t len;
		bool truncated;
		const uint64_t *addrs = stack_values(raw, sid, &len, &truncated);
		uint32_t n = 0;
		for (uint32_t k = 0; k < len; k++) {
			uint32_t at;
			if (!u64map_get(&addr_first, addrs[k], &at)) {
				struct raw_frame rf[16];
				int nf = lookup(s, addrs[k], rf, (int)ARRAY_SIZE(rf));
				at = (uint32_t)n_chain;
				GROW(chain, cap_chain, n_chain + 1 + (size_t)nf);
				chain[n_chain++] = (uint32_t)nf;
				for (int j = 0; j < nf; j++)
					chain[n_chain++] = intern_frame(&fi, &rf[j], addrs[k]);
				u64map_put(&addr_first, addrs[k], at);
			}
			for (uint32_t j = 0; j < chain[at] && n < MAX_FRAMES_SYMBOLIZED; j++)
				ids[n++] = chain[at + 1 + j];
		}
		map[sid] = stack_intern(&out, ids, n, truncated);
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
	fill_binaries(s, p, &addr_first);

	free(ids);
	free(chain);
	stack_table_release(&out);
	strmap_release(&fi.ids);
	u64map_release(&addr_first);
	return map;
}

char *symbolize_data(struct symbolizer *s, uint64_t addr)
{
	const struct mapping *map = addrspace_find(s->as, addr);
	Dwfl_Module *mod = map && map->mod ? dwfl_addrmodule(s->dwfl, addr) : NULL;
	if (mod) {
		GElf_Off off = 0;
		GElf_Sym esym;
		const char *sym = dwfl_module_addrinfo(mod, addr, &off, &esym, NULL, NULL, NULL);
		/* Only a data object that covers the address names it. */
		if (sym && GELF_ST_TYPE(esym.st_info) == STT_OBJECT &&
		    off < (esym.st_size ? esym.st_size : 1)) {
			char *name = demangle(sym);
			char *out = off ? xasprintf("%s+%llu", name ? name : sym,
						    (unsigned long long)off)
					: xstrdup(name ? name : sym);
			free(name);
			return out;
		}
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
