/*
 * maps.c: mappings and module images of a target. See maps.h.
 *
 * Modules are keyed by (dev, inode, path) and outlive refreshes of the
 * mappings, so a library is opened and parsed once per run. Images are
 * mmap'ed read-only from the file the target mapped (through /proc/PID/root
 * so containers work); the [vdso] has no file and is copied from memory.
 */
#include "maps.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "procfs.h"
#include "util.h"

/* Bound on what we read from a target's /proc/PID/maps. */
#define MAPS_MAX (64u << 20)
#define VDSO_MAX (1u << 20)

static void addrspace_init(struct addrspace *as, pid_t pid)
{
	memset(as, 0, sizeof(*as));
	as->pid = pid;
}

/*
 * File images, mapped once however many processes map the file: with -f, a
 * shell's thousands of children all run libc, and a mapping of it for each
 * (its pages touched by every unwind) grew wallprof by tens of kilobytes
 * per child. Keyed by the file's identity, not its path: containers, and
 * files replaced since. Shared by the tracer and the main thread, hence
 * the lock.
 */
struct image {
	struct image *next;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	const uint8_t *data;
	int refs;
};

static struct image *images;
static pthread_mutex_t images_lock = PTHREAD_MUTEX_INITIALIZER;

static const uint8_t *image_get(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0)
		return NULL;
	pthread_mutex_lock(&images_lock);
	struct image *im = images;
	while (im &&
	       (im->dev != st.st_dev || im->ino != st.st_ino || im->size != st.st_size ||
		im->mtime.tv_sec != st.st_mtim.tv_sec || im->mtime.tv_nsec != st.st_mtim.tv_nsec))
		im = im->next;
	if (!im) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			im = xcalloc(1, sizeof(*im));
			*im = (struct image){images,	 st.st_dev, st.st_ino, st.st_size,
					     st.st_mtim, p,	    0};
			images = im;
		}
	}
	const uint8_t *data = NULL;
	if (im) {
		im->refs++;
		data = im->data;
		*len = (size_t)im->size;
	}
	pthread_mutex_unlock(&images_lock);
	return data;
}

static void image_put(const uint8_t *data)
{
	pthread_mutex_lock(&images_lock);
	for (struct image **p = &images; *p; p = &(*p)->next) {
		struct image *im = *p;
		if (im->data != data)
			continue;
		if (--im->refs == 0) {
			*p = im->next;
			munmap((void *)im->data, (size_t)im->size);
			free(im);
		}
		break;
	}
	pthread_mutex_unlock(&images_lock);
}

static void module_free(struct module *m)
{
	free(m->own_table);
	free(m->debug_frame);
	free(m->debug_table);
	if (m->image) {
		if (m->image_mmapped)
			image_put(m->image);
		else
			free((void *)m->image);
	}
	free(m->path);
	free(m);
}

void addrspace_release(struct addrspace *as)
{
	for (size_t i = 0; i < as->n_mods; i++)
		module_free(as->mods[i]);
	free(as->mods);
	free(as->maps);
	memset(as, 0, sizeof(*as));
}

void addrspace_reset(struct addrspace *as, pid_t pid)
{
	addrspace_release(as);
	addrspace_init(as, pid);
}

static bool is_elf_path(const char *path)
{
	if (!path)
		return false;
	if (!strcmp(path, "[vdso]"))
		return true;
	return path[0] == '/';
}

static struct module *module_get(struct addrspace *as, const struct map_entry *e)
{
	uint64_t dev = ((uint64_t)e->dev_major << 32) | e->dev_minor;
	for (size_t i = as->n_mods; i-- > 0;) {
		struct module *m = as->mods[i];
		if (m->dev == dev && m->inode == e->inode && !strcmp(m->path, e->path))
			return m;
	}
	struct module *m = xcalloc(1, sizeof(*m));
	m->path = xstrdup(e->path);
	m->dev = dev;
	m->inode = e->inode;
	m->lo = UINT64_MAX;
	GROW(as->mods, as->cap_mods, as->n_mods + 1);
	as->mods[as->n_mods++] = m;
	return m;
}

/* The file behind /proc/ID/exe; false if it cannot be told. */
static bool exe_identity(pid_t id, uint64_t *dev, uint64_t *inode)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)id);
	if (stat(path, &st) < 0)
		return false;
	*dev = st.st_dev;
	*inode = st.st_ino;
	return true;
}

/*
 * Whether ents are still the maps of as, and not of the program an exec put
 * under the pid. The exec's event reaches us after the kernel switched the
 * process over, and a tick in between (an unwind missing an address of the
 * new program) would otherwise read the new maps into the old process's
 * space, and every sample taken before the exec would lose its symbols.
 * With address space randomization an exec moves the vdso; without it,
 * the same program lands the same way, and another one is another file
 * behind /proc/PID/exe, read after the maps so that an exec before them
 * shows there too. Nothing a running program does moves either (a stack
 * made executable by dlopen moves the end of [stack]; a library unloaded
 * may have been the lowest code mapping: both were tried, and wrong).
 */
static bool same_mm(struct addrspace *as, const struct map_entry *ents, size_t n)
{
	struct mm_identity id = {0};
	for (size_t i = 0; i < n; i++)
		if (ents[i].path && !strcmp(ents[i].path, "[vdso]"))
			id.vdso = ents[i].start;
	exe_identity(as->pid, &id.exe_dev, &id.exe_inode);
	if (as->refreshes == 0) {
		as->id = id;
		return true;
	}
	return (!as->id.vdso || !id.vdso || as->id.vdso == id.vdso) &&
	       (!as->id.exe_inode || !id.exe_inode ||
		(as->id.exe_dev == id.exe_dev && as->id.exe_inode == id.exe_inode));
}

bool addrspace_exec_seen(struct addrspace *as, pid_t tid)
{
	uint64_t dev, inode;
	if (as->id.exe_inode && exe_identity(tid, &dev, &inode) &&
	    (dev != as->id.exe_dev || inode != as->id.exe_inode))
		as->replaced = true;
	return as->replaced;
}

int addrspace_refresh(struct addrspace *as)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)as->pid);
	char *text = read_small_file(path, MAPS_MAX, NULL);
	if (!text)
		return -errno;
	struct map_entry *ents;
	size_t n;
	procfs_parse_maps(text, &ents, &n);
	free(text);
	if (n == 0) {
		/* A process on its way out: nothing to learn, nothing lost. */
		procfs_free_maps(ents, n);
		return -ESRCH;
	}
	if (as->replaced || !same_mm(as, ents, n)) {
		as->replaced = true;
		procfs_free_maps(ents, n);
		return -ESTALE;
	}

	free(as->maps);
	as->maps = xcalloc(n, sizeof(*as->maps));
	as->n_maps = n;
	as->hint = 0;
	for (size_t i = 0; i < n; i++) {
		struct map_entry *e = &ents[i];
		struct mapping *m = &as->maps[i];
		m->start = e->start;
		m->end = e->end;
		m->offset = e->offset;
		m->readable = e->perms[0] == 'r';
		m->stack = e->path && !strcmp(e->path, "[stack]");
		m->writable = e->perms[1] == 'w';
		m->executable = e->perms[2] == 'x';
		if (is_elf_path(e->path) && (e->inode || !strcmp(e->path, "[vdso]"))) {
			struct module *mod = module_get(as, e);
			m->mod = mod;
			if (e->start < mod->lo)
				mod->lo = e->start;
			if (e->end > mod->hi)
				mod->hi = e->end;
		}
	}
	procfs_free_maps(ents, n);
	as->refreshes++;
	return 0;
}

const struct mapping *addrspace_find(const struct addrspace *as, uint64_t addr)
{
	size_t lo = 0, hi = as->n_maps;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct mapping *m = &as->maps[mid];
		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

char *module_open_path(const struct addrspace *as, const struct module *mod)
{
	char *p = xasprintf("/proc/%d/root%s", (int)as->pid, mod->path);
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return xstrdup(mod->path);
}

ssize_t target_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len};
	struct iovec remote = {(void *)(uintptr_t)addr, len};
	ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (r >= 0 || (errno != ENOSYS && errno != EPERM))
		return r;
	/* Kernels or sandboxes without process_vm_readv: /proc/PID/mem. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = pread(fd, buf, len, (off_t)addr);
	close(fd);
	return r;
}

/* The section called name, or NULL. Bounds-checked against the image. */
static const Elf64_Shdr *find_section(const struct module *m, const Elf64_Ehdr *eh,
				      const char *name)
{
	const uint8_t *img = m->image;
	size_t size = m->image_size;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size - eh->e_shoff ||
	    eh->e_shstrndx >= eh->e_shnum)
		return NULL;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
	if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset)
		return NULL;
	size_t want = strlen(name) + 1;
	for (unsigned i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_name < strs->sh_size && strs->sh_size - sh[i].sh_name >= want &&
		    !memcmp(img + strs->sh_offset + sh[i].sh_name, name, want))
			return &sh[i];
	return NULL;
}

/*
 * No PT_GNU_EH_FRAME: gcc -static links without --eh-frame-hdr, and the
 * .eh_frame is all there is. Build the table the header would have held.
 */
static void build_own_table(struct module *m, const Elf64_Ehdr *eh)
{
	const Elf64_Shdr *s = find_section(m, eh, ".eh_frame");
	if (!s || s->sh_type != SHT_PROGBITS || !s->sh_addr || s->sh_offset > m->image_size ||
	    s->sh_size > m->image_size - s->sh_offset)
		return;
	size_t n;
	if (ehframe_build_table(m->image + s->sh_offset, s->sh_size, s->sh_addr, s->sh_addr,
				&m->own_table, &n) == 0) {
		m->own_segbase_vaddr = s->sh_addr;
		m->own_segbase_offset = s->sh_offset;
		m->fde_count = n;
	}
}

/* Largest .debug_frame inflated. */
#define DEBUG_FRAME_MAX (64u << 20)

/*
 * The contents of a section, inflated if SHF_COMPRESSED (Go compresses its
 * DWARF). *owned is set if the result is malloc'ed. NULL if unusable.
 */
static const uint8_t *section_data(const struct module *m, const Elf64_Shdr *s, size_t *len,
				   uint8_t **owned)
{
	*owned = NULL;
	if (s->sh_type == SHT_NOBITS || s->sh_offset > m->image_size ||
	    s->sh_size > m->image_size - s->sh_offset)
		return NULL;
	const uint8_t *raw = m->image + s->sh_offset;
	if (!(s->sh_flags & SHF_COMPRESSED)) {
		*len = s->sh_size;
		return raw;
	}
	Elf64_Chdr ch;
	if (s->sh_size < sizeof(ch))
		return NULL;
	memcpy(&ch, raw, sizeof(ch));
	if (ch.ch_type != ELFCOMPRESS_ZLIB || ch.ch_size == 0 || ch.ch_size > DEBUG_FRAME_MAX)
		return NULL;
	uLongf out_len = (uLongf)ch.ch_size;
	uint8_t *out = xmalloc(ch.ch_size);
	if (uncompress(out, &out_len, raw + sizeof(ch), (uLong)(s->sh_size - sizeof(ch))) != Z_OK ||
	    out_len != ch.ch_size) {
		free(out);
		return NULL;
	}
	*owned = out;
	*len = ch.ch_size;
	return out;
}

/*
 * A .debug_frame in the file itself (Go binaries have no .eh_frame; code
 * built with -g and without unwind tables neither): rewritten for the
 * unwinder, which reads .eh_frame records only (ehframe.h). Served 1 GiB
 * above the module, where the table's 32-bit offsets reach the code.
 */
static void build_debug_frame(struct module *m, const Elf64_Ehdr *eh)
{
	if (!m->bias_known || m->hi <= m->lo)
		return;
	m->debug_base = ((m->hi + 0xfff) & ~0xfffULL) + (1ULL << 30);
	const Elf64_Shdr *s = find_section(m, eh, ".debug_frame");
	size_t len;
	uint8_t *owned;
	const uint8_t *data = s ? section_data(m, s, &len, &owned) : NULL;
	if (data) {
		int r = ehframe_from_debug_frame(data, len, m->bias, m->debug_base, &m->debug_frame,
						 &m->debug_frame_len, &m->debug_table,
						 &m->debug_count);
		free(owned);
		if (r == 0)
			return;
	}
	/* A Go binary without DWARF (as Debian ships them): the CFI its
	 * linker would have written, from the frame sizes of its table. */
	struct ehframe_writer w = {.base = m->debug_base};
	if (m->go.version)
		gopclntab_cfi(&m->go, m->bias, &w);
	if (ehframe_finish(&w, &m->debug_frame, &m->debug_frame_len, &m->debug_table,
			   &m->debug_count) < 0)
		m->debug_base = 0;
}

/* Go's table of functions, if the file has one. */
static void find_gopclntab(struct module *m, const Elf64_Ehdr *eh)
{
	/* A position-independent Go binary keeps it in .data.rel.ro. */
	const Elf64_Shdr *s = find_section(m, eh, ".gopclntab");
	if (!s)
		s = find_section(m, eh, ".data.rel.ro.gopclntab");
	const Elf64_Shdr *text = find_section(m, eh, ".text");
	if (!s || s->sh_type != SHT_PROGBITS || s->sh_offset > m->image_size ||
	    s->sh_size > m->image_size - s->sh_offset ||
	    !gopclntab_open(&m->go, m->image + s->sh_offset, s->sh_size, text ? text->sh_addr : 0))
		m->go.version = 0;
}

/* Facts from the ELF image: program headers, eh_frame_hdr, build-id. */
static void parse_elf(struct module *m, const struct mapping *first)
{
	const uint8_t *img = m->image;
	size_t size = m->image_size;
	if (size < sizeof(Elf64_Ehdr) || memcmp(img, ELFMAG, SELFMAG) ||
	    img[EI_CLASS] != ELFCLASS64)
		return;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size - eh->e_phoff)
		return;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type == PT_LOAD && first && !m->bias_known &&
		    first->offset >= (p->p_offset & ~0xfffULL) &&
		    first->offset < p->p_offset + p->p_filesz) {
			m->bias = first->start - first->offset - p->p_vaddr + p->p_offset;
			m->bias_known = true;
		} else if (p->p_type == PT_GNU_EH_FRAME && p->p_offset + 12 <= size) {
			const uint8_t *h = img + p->p_offset;
			/* version 1; table: datarel|sdata4; count: udata4 */
			if (h[0] == 1 && h[3] == 0x3b && h[2] == 0x03) {
				uint32_t count;
				memcpy(&count, h + 8, 4);
				if (p->p_offset + 12 + (uint64_t)count * 8 <= size) {
					m->eh_hdr_vaddr = p->p_vaddr;
					m->eh_hdr_offset = p->p_offset;
					m->fde_count = count;
				}
			}
		} else if (p->p_type == PT_NOTE && p->p_offset < size &&
			   p->p_filesz <= size - p->p_offset) {
			const uint8_t *q = img + p->p_offset, *end = q + p->p_filesz;
			while (q + sizeof(Elf64_Nhdr) <= end) {
				const Elf64_Nhdr *nh = (const Elf64_Nhdr *)q;
				const uint8_t *name = q + sizeof(*nh);
				const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
				const uint8_t *next = desc + ((nh->n_descsz + 3) & ~3u);
				if (next > end || next <= q)
					break;
				if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
				    !memcmp(name, "GNU", 4) && nh->n_descsz <= 20) {
					for (unsigned k = 0; k < nh->n_descsz; k++)
						snprintf(m->build_id + 2 * k, 3, "%02x", desc[k]);
				}
				q = next;
			}
		}
	}
	if (!m->bias_known && eh->e_type == ET_EXEC) {
		m->bias = 0;
		m->bias_known = true;
	}
	if (!m->fde_count)
		build_own_table(m, eh);
	find_gopclntab(m, eh);
	build_debug_frame(m, eh);
	/* A full symbol table: .symtab, or the one xz-compressed into
	 * .gnu_debugdata (MiniDebugInfo, as Fedora ships), which libdwfl reads. */
	const Elf64_Shdr *st = find_section(m, eh, ".symtab");
	m->has_symtab = (st && st->sh_type == SHT_SYMTAB && st->sh_size > 0) ||
			find_section(m, eh, ".gnu_debugdata");
	/* Its first entry is the null symbol. */
	const Elf64_Shdr *dyn = find_section(m, eh, ".dynsym");
	m->has_dynsym = dyn && dyn->sh_type == SHT_DYNSYM && dyn->sh_size > sizeof(Elf64_Sym);
}

static const struct mapping *first_mapping_of(const struct addrspace *as, const struct module *mod)
{
	for (size_t i = 0; i < as->n_maps; i++)
		if (as->maps[i].mod == mod)
			return &as->maps[i];
	return NULL;
}

bool module_load(struct addrspace *as, struct module *mod)
{
	if (mod->load_tried)
		return mod->image != NULL;
	mod->load_tried = true;
	const struct mapping *first = first_mapping_of(as, mod);
	if (!strcmp(mod->path, "[vdso]")) {
		if (!first || first->end - first->start > VDSO_MAX)
			return false;
		size_t len = first->end - first->start;
		uint8_t *buf = xmalloc(len);
		if (target_read(as->pid, first->start, buf, len) != (ssize_t)len) {
			free(buf);
			return false;
		}
		mod->image = buf;
		mod->image_size = len;
		mod->image_mmapped = false;
	} else {
		char *path = module_open_path(as, mod);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (fd < 0 && first) {
			/* Deleted or replaced files: the kernel still has them. */
			char mf[96];
			snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)as->pid,
				 (unsigned long long)first->start, (unsigned long long)first->end);
			fd = open(mf, O_RDONLY | O_CLOEXEC);
		}
		if (fd < 0)
			return false;
		mod->image = image_get(fd, &mod->image_size);
		close(fd);
		if (!mod->image)
			return false;
		mod->image_mmapped = true;
	}
	parse_elf(mod, first);
	return true;
}

bool addrspace_read_debug_frame(const struct addrspace *as, uint64_t addr, void *buf, size_t len)
{
	for (size_t i = 0; i < as->n_mods; i++) {
		const struct module *m = as->mods[i];
		if (!m->debug_frame || addr < m->debug_base ||
		    addr - m->debug_base + len > m->debug_frame_len)
			continue;
		if (addrspace_find(as, addr))
			return false; /* the target mapped something there since */
		memcpy(buf, m->debug_frame + (addr - m->debug_base), len);
		return true;
	}
	return false;
}

bool module_go_function(struct addrspace *as, struct module *mod, uint64_t addr, struct gofunc *f)
{
	return module_load(as, mod) && mod->go.version &&
	       gopclntab_find(&mod->go, addr - mod->bias, f);
}

static bool fde_function_start(const struct module *m, uint64_t vaddr, uint64_t *start);

bool module_function_start(const struct module *m, uint64_t vaddr, uint64_t *start)
{
	if (fde_function_start(m, vaddr, start))
		return true;
	/* Go's code: its own table knows every function. */
	struct gofunc f;
	if (m->go.version && gopclntab_find(&m->go, vaddr, &f)) {
		*start = f.entry;
		return true;
	}
	return false;
}

/* module_function_start from the .eh_frame table. */
static bool fde_function_start(const struct module *m, uint64_t vaddr, uint64_t *start)
{
	const uint8_t *tab;
	uint64_t base, base_offset; /* the vaddr rows are relative to, its file offset */
	if (!m->fde_count) {
		return false;
	} else if (m->own_table) {
		tab = (const uint8_t *)m->own_table;
		base = m->own_segbase_vaddr;
		base_offset = m->own_segbase_offset;
	} else if (m->image && m->eh_hdr_offset + 12 + m->fde_count * 8 <= m->image_size) {
		tab = m->image + m->eh_hdr_offset + 12;
		base = m->eh_hdr_vaddr;
		base_offset = m->eh_hdr_offset;
	} else {
		return false;
	}
	/* The last row starting at or below vaddr. */
	uint64_t lo = 0, hi = m->fde_count;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		int32_t rel;
		memcpy(&rel, tab + mid * 8, sizeof(rel));
		if (base + (uint64_t)(int64_t)rel <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	int32_t rel, fde;
	memcpy(&rel, tab + lo * 8, sizeof(rel));
	memcpy(&fde, tab + lo * 8 + 4, sizeof(fde));
	*start = base + (uint64_t)(int64_t)rel;
	if (*start > vaddr)
		return false;
	/* Past the end of that FDE's code, vaddr is in code no FDE covers
	 * (Go's, beside the few C functions of its runtime that have one):
	 * not that function's. The FDE lies in the same segment as the row's
	 * base (.eh_frame beside .eh_frame_hdr), read from the file. */
	uint64_t fde_start, range;
	uint64_t off = base_offset + (uint64_t)(int64_t)fde;
	if (m->image && off < m->image_size &&
	    ehframe_fde_range(m->image, m->image_size, base - base_offset, off, &fde_start,
			      &range) &&
	    fde_start == *start && vaddr - fde_start >= range)
		return false;
	return true;
}

bool addrspace_function_start(struct addrspace *as, const struct mapping *map, uint64_t addr,
			      uint64_t *start)
{
	struct module *m = map ? map->mod : NULL;
	uint64_t s;
	if (!m || !module_load(as, m) || !m->bias_known ||
	    !module_function_start(m, addr - m->bias, &s) || s + m->bias < map->start)
		return false;
	*start = s + m->bias;
	return true;
}

bool addrspace_read_image(struct addrspace *as, uint64_t addr, void *buf, size_t len)
{
	/* An unwind reads one table many times over: most reads fall in the
	 * mapping the last one did, and the search is skipped. */
	const struct mapping *m = as->hint < as->n_maps ? &as->maps[as->hint] : NULL;
	if (!m || addr < m->start || addr >= m->end) {
		m = addrspace_find(as, addr);
		if (m)
			as->hint = (size_t)(m - as->maps);
	}
	if (!m || !m->mod || m->writable || addr + len > m->end)
		return false;
	if (!module_load(as, m->mod))
		return false;
	uint64_t off = addr - m->start + m->offset;
	if (off + len > m->mod->image_size)
		return false;
	memcpy(buf, m->mod->image + off, len);
	return true;
}

long addrspace_restarted_call(struct addrspace *as, uint64_t pc)
{
	uint8_t b[7];
	if (pc < sizeof(b) || !addrspace_read_image(as, pc - sizeof(b), b, sizeof(b)) ||
	    b[0] != 0xb8 || b[5] != 0x0f || b[6] != 0x05)
		return -1;
	uint32_t nr;
	memcpy(&nr, b + 1, sizeof(nr));
	return nr < 1024 && nr != SYS_restart_syscall ? (long)nr : -1;
}
