/*
 * gopclntab.c: Go's table of functions. See gopclntab.h.
 *
 * The section starts with a header: a magic number naming the layout, the
 * pc quantum, the pointer size, the number of functions, and where its
 * parts begin: the function names, a table of file numbers per compilation
 * unit, the file names, the pc-value tables, and the function table. That
 * last holds, per function, its entry (an offset from the start of the code
 * since Go 1.18, an address before) and where its record is; one more entry
 * gives the end of the last function. A record starts with the entry again,
 * the offset of the name, and the offsets of its pc-value tables.
 *
 * A pc-value table is a run of pairs of varints: a change of the value
 * (zigzag-encoded) and how many quanta of code that value then holds for.
 * It starts at the entry with the value -1, and ends with a change of 0
 * anywhere but first.
 *
 * Everything is bounds-checked: the section comes from a file on disk, and
 * a damaged one yields fewer names, never a read outside it.
 */
#include "gopclntab.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Magic numbers of the layouts read. */
#define MAGIC_116 0xfffffffau
#define MAGIC_118 0xfffffff0u
#define MAGIC_120 0xfffffff1u

/* The pc-data table telling inlined code (_PCDATA_InlTreeIndex). */
#define PCDATA_INLINE 2

static bool get32(const struct gopclntab *t, size_t off, uint32_t *v)
{
	if (off > t->size || t->size - off < 4)
		return false;
	memcpy(v, t->data + off, 4);
	return true;
}

static bool get64(const struct gopclntab *t, size_t off, uint64_t *v)
{
	if (off > t->size || t->size - off < 8)
		return false;
	memcpy(v, t->data + off, 8);
	return true;
}

bool gopclntab_open(struct gopclntab *t, const uint8_t *sec, size_t size, uint64_t text)
{
	memset(t, 0, sizeof(*t));
	t->data = sec;
	t->size = size;
	uint32_t magic;
	if (!get32(t, 0, &magic) || size < 72 || sec[4] || sec[5] || sec[7] != 8)
		return false;
	if (magic == MAGIC_116)
		t->version = 116;
	else if (magic == MAGIC_118)
		t->version = 118;
	else if (magic == MAGIC_120)
		t->version = 120;
	else
		return false;
	t->quantum = sec[6];
	uint64_t nfunc, v[5], text_start = 0;
	size_t at = 24;
	if (t->version >= 118) {
		get64(t, at, &text_start);
		at += 8;
	}
	get64(t, 8, &nfunc);
	for (int i = 0; i < 5; i++)
		get64(t, at + 8 * (size_t)i, &v[i]);
	for (int i = 0; i < 5; i++)
		if (v[i] >= size)
			return false;
	size_t entry_size = t->version >= 118 ? 8 : 16;
	if (!t->quantum || nfunc == 0 || nfunc >= UINT32_MAX ||
	    (nfunc + 1) * entry_size > size - v[4])
		return false;
	t->nfunc = (uint32_t)nfunc;
	/* A position-independent binary may hold 0 here on disk, relocated
	 * at load: then the start of .text. */
	t->text = text_start ? text_start : text;
	t->funcnames = v[0];
	t->cutab = v[1];
	t->filetab = v[2];
	t->pctab = v[3];
	t->functab = v[4];
	struct gofunc f;
	return gopclntab_func(t, 0, &f) && gopclntab_name(t, &f);
}

/* Entry i of the function table: its address and its record's offset. */
static bool entry(const struct gopclntab *t, uint32_t i, uint64_t *pc, uint64_t *rec)
{
	if (t->version >= 118) {
		uint32_t off, r;
		if (!get32(t, t->functab + 8 * (size_t)i, &off) ||
		    !get32(t, t->functab + 8 * (size_t)i + 4, &r))
			return false;
		*pc = t->text + off;
		*rec = r;
		return true;
	}
	return get64(t, t->functab + 16 * (size_t)i, pc) &&
	       get64(t, t->functab + 16 * (size_t)i + 8, rec);
}

bool gopclntab_func(const struct gopclntab *t, uint32_t i, struct gofunc *f)
{
	uint64_t rec, next_rec;
	if (i >= t->nfunc || !entry(t, i, &f->entry, &rec) ||
	    !entry(t, i + 1, &f->end, &next_rec) || f->end <= f->entry ||
	    rec >= t->size - t->functab)
		return false;
	f->at = t->functab + rec;
	/* The record starts with the entry again. */
	if (t->version >= 118) {
		uint32_t off;
		return get32(t, f->at, &off) && t->text + off == f->entry;
	}
	uint64_t pc;
	return get64(t, f->at, &pc) && pc == f->entry;
}

bool gopclntab_find(const struct gopclntab *t, uint64_t vaddr, struct gofunc *f)
{
	uint32_t lo = 0, hi = t->nfunc;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t pc, rec;
		if (!entry(t, mid, &pc, &rec))
			return false;
		if (pc <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && gopclntab_func(t, lo - 1, f) && vaddr < f->end;
}

/* A field of f's record: a 32-bit word at this offset in the 1.18 layout
 * (1.16 has an 8-byte entry first, so 4 more). */
static bool field(const struct gopclntab *t, const struct gofunc *f, size_t off118, uint32_t *v)
{
	return get32(t, f->at + off118 + (t->version == 116 ? 4 : 0), v);
}

/* funcFlag_SPWRITE, in the flag byte after the funcID (Go 1.17 on; 1.16
 * has a zero there). */
#define FUNCFLAG_SPWRITE 2

bool gopclntab_switches_stack(const struct gopclntab *t, const struct gofunc *f)
{
	size_t at = f->at + (t->version == 118 ? 37 : 41);
	return at < t->size && (t->data[at] & FUNCFLAG_SPWRITE);
}

/* A NUL-terminated string at off of the section, or NULL. */
static const char *string_at(const struct gopclntab *t, size_t off)
{
	if (off >= t->size || !memchr(t->data + off, '\0', t->size - off))
		return NULL;
	return (const char *)t->data + off;
}

const char *gopclntab_name(const struct gopclntab *t, const struct gofunc *f)
{
	uint32_t name;
	if (!field(t, f, 4, &name) || name >= t->size - t->funcnames)
		return NULL;
	const char *s = string_at(t, t->funcnames + name);
	return s && s[0] ? s : NULL;
}

/* A pc-value table being read. */
struct pcwalk {
	const struct gopclntab *t;
	size_t pos;
	uint64_t pc; /* where the current value starts */
	int32_t value;
	bool first;
};

static bool varint(struct pcwalk *w, uint32_t *v)
{
	uint32_t r = 0;
	for (unsigned shift = 0; shift < 35; shift += 7) {
		if (w->pos >= w->t->size)
			return false;
		uint8_t b = w->t->data[w->pos++];
		r |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* The next run: value over [*from, *to). false at the table's end. */
static bool pc_step(struct pcwalk *w, uint64_t *from, uint64_t *to)
{
	uint32_t dv, dpc;
	/* A run of no code never comes from Go's linker: a damaged table,
	 * which would otherwise be walked to its end for every function. */
	if (!varint(w, &dv) || (dv == 0 && !w->first) || !varint(w, &dpc) || dpc == 0)
		return false;
	w->first = false;
	/* Zigzag; wrapping, as Go's int32 arithmetic does. */
	w->value = (int32_t)((uint32_t)w->value + (-(dv & 1) ^ (dv >> 1)));
	*from = w->pc;
	w->pc += (uint64_t)dpc * w->t->quantum;
	*to = w->pc;
	return true;
}

static bool pc_walk_init(const struct gopclntab *t, const struct gofunc *f, uint32_t table,
			 struct pcwalk *w)
{
	*w = (struct pcwalk){t, t->pctab + table, f->entry, -1, true};
	return table != 0 && table < t->size - t->pctab;
}

/* The value of table at vaddr; false if it does not say. */
static bool pc_value(const struct gopclntab *t, const struct gofunc *f, uint32_t table,
		     uint64_t vaddr, int32_t *value)
{
	struct pcwalk w;
	uint64_t from, to;
	if (!pc_walk_init(t, f, table, &w))
		return false;
	while (pc_step(&w, &from, &to) && from < f->end)
		if (vaddr >= from && vaddr < to) {
			*value = w.value;
			return true;
		}
	return false;
}

bool gopclntab_line(const struct gopclntab *t, const struct gofunc *f, uint64_t vaddr,
		    const char **file, int *line)
{
	uint32_t pcfile, pcln, npcdata, cu, inl;
	int32_t fileno, ln, inlined;
	*file = NULL;
	*line = 0;
	if (!field(t, f, 20, &pcfile) || !field(t, f, 24, &pcln) || !field(t, f, 28, &npcdata) ||
	    !field(t, f, 32, &cu))
		return false;
	/* The pc-data offsets follow the record's fixed part. */
	size_t fixed = t->version == 118 ? 40 : 44;
	if (npcdata > PCDATA_INLINE && get32(t, f->at + fixed + 4 * PCDATA_INLINE, &inl) && inl &&
	    pc_value(t, f, inl, vaddr, &inlined) && inlined >= 0)
		return false;
	uint32_t name;
	if (!pc_value(t, f, pcfile, vaddr, &fileno) || fileno < 0 ||
	    !pc_value(t, f, pcln, vaddr, &ln) || ln <= 0 ||
	    (uint64_t)cu + (uint64_t)fileno >= (t->size - t->cutab) / 4 ||
	    !get32(t, t->cutab + 4 * ((size_t)cu + (size_t)fileno), &name) || name == UINT32_MAX ||
	    name >= t->size - t->filetab)
		return false;
	*file = string_at(t, t->filetab + name);
	*line = ln;
	return *file != NULL;
}

/* DWARF call frame instructions used below. */
#define CFA_ADVANCE_LOC 0x40
#define CFA_ADVANCE_LOC1 0x02
#define CFA_ADVANCE_LOC2 0x03
#define CFA_ADVANCE_LOC4 0x04
#define CFA_DEF_CFA 0x0c
#define CFA_DEF_CFA_OFFSET 0x0e
#define CFA_OFFSET 0x80
#define REG_RSP 7
#define REG_RA 16

static void emit_byte(struct ehframe_writer *in, uint8_t b)
{
	ehframe_put(in, &b, 1);
}

static void emit_advance(struct ehframe_writer *in, uint64_t delta)
{
	if (!delta)
		return;
	if (delta < 0x40) {
		emit_byte(in, CFA_ADVANCE_LOC | (uint8_t)delta);
	} else if (delta <= UINT8_MAX) {
		emit_byte(in, CFA_ADVANCE_LOC1);
		emit_byte(in, (uint8_t)delta);
	} else if (delta <= UINT16_MAX) {
		uint16_t d = (uint16_t)delta;
		emit_byte(in, CFA_ADVANCE_LOC2);
		ehframe_put(in, &d, 2);
	} else {
		uint32_t d = (uint32_t)delta;
		emit_byte(in, CFA_ADVANCE_LOC4);
		ehframe_put(in, &d, 4);
	}
}

size_t gopclntab_cfi(const struct gopclntab *t, uint64_t bias, struct ehframe_writer *w)
{
	/* On entry the return address is at sp: CFA = sp + 8, RA at CFA - 8. */
	static const uint8_t init[] = {CFA_DEF_CFA, REG_RSP, 8, CFA_OFFSET | REG_RA, 1};
	size_t cie = ehframe_put_cie(w, 1, -8, REG_RA, init, sizeof(init));
	struct ehframe_writer in = {.buf = NULL}; /* one function's instructions */
	size_t written = 0;
	for (uint32_t i = 0; i < t->nfunc; i++) {
		struct gofunc f;
		uint32_t pcsp;
		struct pcwalk pw;
		if (!gopclntab_func(t, i, &f) || !field(t, &f, 16, &pcsp) ||
		    !pc_walk_init(t, &f, pcsp, &pw))
			continue;
		in.len = 0;
		uint64_t from, to, loc = f.entry;
		int32_t cur = 0;
		while (pc_step(&pw, &from, &to) && from < f.end && pw.value >= 0) {
			if (pw.value == cur)
				continue;
			emit_advance(&in, from - loc);
			emit_byte(&in, CFA_DEF_CFA_OFFSET);
			ehframe_put_uleb(&in, (uint64_t)pw.value + 8);
			loc = from;
			cur = pw.value;
		}
		written += ehframe_put_fde(w, cie, bias + f.entry, f.end - f.entry, in.buf, in.len);
	}
	free(in.buf);
	return written;
}
