/*
 * ehframe.c: the FDE search table of an .eh_frame that came without one.
 * See ehframe.h.
 *
 * .eh_frame is a run of records, each a length, then an id: 0 for a CIE
 * (the common part: augmentation, and with "zR" the encoding of the FDEs'
 * addresses), anything else for an FDE, whose id is the distance back to its
 * CIE and whose first field is the start of the code it covers. The format is
 * that of DWARF's .debug_frame with the changes the LSB (Linux Standard Base)
 * describes; the pointer encodings (DW_EH_PE_*) are GCC's.
 */
#include "ehframe.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PE_OMIT 0xff
#define PE_FORMAT(e) ((e)&0x0f)
#define PE_APPLY(e) ((e)&0x70)
#define PE_PCREL 0x10

/* Bounds-checked reading of one section. */
struct reader {
	const uint8_t *base;
	size_t size, pos;
	bool bad;
};

static uint64_t read_bytes(struct reader *r, size_t n)
{
	uint64_t v = 0;
	if (r->pos + n > r->size || n > 8) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->base + r->pos, n); /* little-endian, as x86_64 */
	r->pos += n;
	return v;
}

static uint64_t read_uleb(struct reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = (uint8_t)read_bytes(r, 1);
		if (r->bad)
			return 0;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static int64_t read_sleb(struct reader *r)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b;
	do {
		b = (uint8_t)read_bytes(r, 1);
		if (r->bad || shift >= 64)
			return r->bad = true, 0;
		v |= (int64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

/* A pointer in encoding enc; vaddr is the section's address, for pcrel. */
static uint64_t read_encoded(struct reader *r, uint8_t enc, uint64_t vaddr)
{
	uint64_t field = vaddr + r->pos, v;
	switch (PE_FORMAT(enc)) {
	case 0x00: v = read_bytes(r, 8); break; /* absptr */
	case 0x01: v = read_uleb(r); break;
	case 0x02: v = read_bytes(r, 2); break;
	case 0x03: v = read_bytes(r, 4); break;
	case 0x04: v = read_bytes(r, 8); break;
	case 0x09: v = (uint64_t)read_sleb(r); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)read_bytes(r, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)read_bytes(r, 4); break;
	case 0x0c: v = read_bytes(r, 8); break;
	default: r->bad = true; return 0;
	}
	if (PE_APPLY(enc) == PE_PCREL)
		v += field;
	else if (PE_APPLY(enc) != 0)
		r->bad = true; /* textrel, datarel, funcrel: not used in .eh_frame */
	return v;
}

/* The FDE pointer encoding of the CIE at offset off; false if unusable. */
static bool cie_encoding(const uint8_t *sec, size_t size, uint64_t vaddr, size_t off, uint8_t *enc)
{
	struct reader r = {sec, size, off, false};
	uint64_t len = read_bytes(&r, 4);
	if (len == 0xffffffff)
		len = read_bytes(&r, 8);
	size_t end = r.pos + len;
	if (r.bad || end > size || end < r.pos || read_bytes(&r, 4) != 0)
		return false;
	uint8_t version = (uint8_t)read_bytes(&r, 1);
	const char *aug = (const char *)sec + r.pos;
	size_t aug_len = strnlen(aug, end - r.pos);
	if (r.bad || aug_len == end - r.pos || (version != 1 && version != 3))
		return false;
	r.pos += aug_len + 1;
	if (!strncmp(aug, "eh", 2))
		r.pos += 8;
	read_uleb(&r); /* code alignment */
	read_sleb(&r); /* data alignment */
	if (version == 1)
		read_bytes(&r, 1);
	else
		read_uleb(&r); /* return address register */
	*enc = 0x00; /* absptr, unless the augmentation says otherwise */
	if (aug[0] != 'z')
		return !r.bad && aug_len == 0;
	read_uleb(&r); /* augmentation data length */
	for (const char *a = aug + 1; *a && !r.bad; a++) {
		if (*a == 'R') {
			*enc = (uint8_t)read_bytes(&r, 1);
		} else if (*a == 'P') {
			uint8_t penc = (uint8_t)read_bytes(&r, 1);
			read_encoded(&r, penc & 0x7f, vaddr); /* the personality */
		} else if (*a == 'L') {
			read_bytes(&r, 1);
		} else if (*a != 'S' && *a != 'B' && *a != 'G') {
			return false; /* an augmentation we cannot skip */
		}
	}
	return !r.bad && r.pos <= end;
}

bool ehframe_fde_range(const uint8_t *sec, size_t size, uint64_t vaddr, size_t off, uint64_t *start,
		       uint64_t *range)
{
	struct reader r = {sec, size, off, false};
	uint64_t len = read_bytes(&r, 4);
	if (len == 0xffffffff)
		len = read_bytes(&r, 8);
	size_t body = r.pos;
	uint32_t id = (uint32_t)read_bytes(&r, 4);
	uint8_t enc;
	if (r.bad || len < 4 || body + len > size || id == 0 || id > body ||
	    !cie_encoding(sec, size, vaddr, body - id, &enc) || enc == PE_OMIT)
		return false;
	*start = read_encoded(&r, enc, vaddr);
	*range = read_encoded(&r, PE_FORMAT(enc), vaddr);
	return !r.bad && r.pos <= body + len;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct eh_entry *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

int ehframe_build_table(const uint8_t *sec, size_t size, uint64_t vaddr, uint64_t segbase,
			struct eh_entry **out, size_t *n_out)
{
	struct eh_entry *v = NULL;
	size_t n = 0, cap = 0;
	size_t last_cie = SIZE_MAX;
	uint8_t enc = 0;
	bool enc_ok = false;
	struct reader r = {sec, size, 0, false};
	while (r.pos + 4 <= size) {
		size_t rec = r.pos;
		uint64_t len = read_bytes(&r, 4);
		if (len == 0)
			break; /* the terminator */
		if (len == 0xffffffff)
			len = read_bytes(&r, 8);
		size_t body = r.pos, end = body + len;
		if (r.bad || end > size || end < body || len < 4)
			break;
		uint32_t id = (uint32_t)read_bytes(&r, 4);
		if (id != 0) {
			/* An FDE: its CIE is id bytes before the id field. */
			if (id > body)
				break;
			size_t cie = body - id;
			if (cie != last_cie) {
				last_cie = cie;
				enc_ok = cie_encoding(sec, size, vaddr, cie, &enc);
			}
			uint64_t start =
				enc_ok && enc != PE_OMIT ? read_encoded(&r, enc, vaddr) : 0;
			uint64_t range = enc_ok ? read_encoded(&r, PE_FORMAT(enc), vaddr) : 0;
			int64_t s_off = (int64_t)(start - segbase);
			int64_t f_off = (int64_t)(vaddr + rec - segbase);
			if (enc_ok && !r.bad && range && s_off == (int32_t)s_off &&
			    f_off == (int32_t)f_off) {
				GROW(v, cap, n + 1);
				v[n++] = (struct eh_entry){(int32_t)s_off, (int32_t)f_off};
			}
			r.bad = false;
		}
		r.pos = end;
	}
	if (!n) {
		free(v);
		return -1;
	}
	qsort(v, n, sizeof(*v), cmp_entry);
	*out = v;
	*n_out = n;
	return 0;
}

/* ---- records written here (.debug_frame rewritten, Go's tables) ---- */

void ehframe_put(struct ehframe_writer *w, const void *p, size_t n)
{
	if (!n)
		return;
	GROW(w->buf, w->cap, w->len + n);
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_u32(struct ehframe_writer *w, uint32_t v)
{
	ehframe_put(w, &v, 4);
}

static void put_u64(struct ehframe_writer *w, uint64_t v)
{
	ehframe_put(w, &v, 8);
}

void ehframe_put_uleb(struct ehframe_writer *w, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		if (v)
			b |= 0x80;
		ehframe_put(w, &b, 1);
	} while (v);
}

static void put_sleb(struct ehframe_writer *w, int64_t v)
{
	for (;;) {
		uint8_t b = v & 0x7f;
		v >>= 7; /* arithmetic on gcc and clang */
		bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
		if (!done)
			b |= 0x80;
		ehframe_put(w, &b, 1);
		if (done)
			return;
	}
}

/* The record begun at `at` is complete: its length goes in front. */
static void close_record(struct ehframe_writer *w, size_t at)
{
	uint32_t rec_len = (uint32_t)(w->len - at - 4);
	memcpy(w->buf + at, &rec_len, 4);
}

size_t ehframe_put_cie(struct ehframe_writer *w, uint64_t code_align, int64_t data_align,
		       uint64_t ra, const uint8_t *insns, size_t n)
{
	size_t at = w->len;
	put_u32(w, 0); /* length, filled in below */
	put_u32(w, 0); /* a CIE */
	uint8_t v = ra < 256 ? 1 : 3;
	ehframe_put(w, &v, 1);
	ehframe_put(w, "zR", 3);
	ehframe_put_uleb(w, code_align);
	put_sleb(w, data_align);
	if (v == 1) {
		uint8_t b = (uint8_t)ra;
		ehframe_put(w, &b, 1);
	} else {
		ehframe_put_uleb(w, ra);
	}
	ehframe_put_uleb(w, 1);
	uint8_t enc = 0x04; /* DW_EH_PE_udata8, absolute */
	ehframe_put(w, &enc, 1);
	ehframe_put(w, insns, n);
	close_record(w, at);
	return at;
}

bool ehframe_put_fde(struct ehframe_writer *w, size_t cie, uint64_t start, uint64_t range,
		     const uint8_t *insns, size_t n)
{
	int64_t s_off = (int64_t)(start - w->base);
	if (!range || s_off != (int32_t)s_off || w->len > INT32_MAX)
		return false;
	size_t at = w->len;
	put_u32(w, 0);
	put_u32(w, (uint32_t)(w->len - cie)); /* back to its CIE */
	put_u64(w, start);
	put_u64(w, range);
	ehframe_put_uleb(w, 0); /* no augmentation data */
	ehframe_put(w, insns, n);
	close_record(w, at);
	GROW(w->table, w->cap_table, w->n + 1);
	w->table[w->n++] = (struct eh_entry){(int32_t)s_off, (int32_t)at};
	return true;
}

int ehframe_finish(struct ehframe_writer *w, uint8_t **out, size_t *out_len,
		   struct eh_entry **table, size_t *n_out)
{
	if (!w->n) {
		free(w->table);
		free(w->buf);
		return -1;
	}
	put_u32(w, 0); /* the terminator */
	/* libunwind reads the records 8 bytes at a time, and a read is
	 * served only whole (maps.c): the last one must not end short. */
	put_u64(w, 0);
	qsort(w->table, w->n, sizeof(*w->table), cmp_entry);
	*out = w->buf;
	*out_len = w->len;
	*table = w->table;
	*n_out = w->n;
	return 0;
}

/* Where a .debug_frame CIE went in the output. */
struct cie_map {
	size_t in, out;
	bool ok;
};

/*
 * Write the .debug_frame CIE at offset `in` as an .eh_frame CIE: id 0,
 * augmentation "zR" saying FDE addresses are absolute 8-byte values, then
 * its own instructions, unchanged (the two formats share them).
 */
static bool convert_cie(const uint8_t *sec, size_t size, size_t in, struct ehframe_writer *w,
			size_t *out)
{
	struct reader r = {sec, size, in, false};
	uint64_t len = read_bytes(&r, 4);
	bool is64 = len == 0xffffffff;
	if (is64)
		len = read_bytes(&r, 8);
	size_t end = r.pos + len;
	uint64_t id = read_bytes(&r, is64 ? 8 : 4);
	if (r.bad || end > size || end < r.pos || id != (is64 ? ~0ULL : 0xffffffffULL))
		return false;
	uint8_t version = (uint8_t)read_bytes(&r, 1);
	if (r.bad || r.pos >= end || sec[r.pos] != '\0' || version < 1 || version > 4)
		return false; /* an augmentation, which .debug_frame seldom has */
	r.pos++;
	if (version == 4 && (read_bytes(&r, 1) != 8 || read_bytes(&r, 1) != 0))
		return false; /* address and segment selector sizes */
	uint64_t code_align = read_uleb(&r);
	int64_t data_align = read_sleb(&r);
	uint64_t ra = version == 1 ? read_bytes(&r, 1) : read_uleb(&r);
	if (r.bad || r.pos > end)
		return false;
	*out = ehframe_put_cie(w, code_align, data_align, ra, sec + r.pos, end - r.pos);
	return true;
}

int ehframe_from_debug_frame(const uint8_t *sec, size_t size, uint64_t bias, uint64_t base,
			     uint8_t **out, size_t *out_len, struct eh_entry **table, size_t *n_out)
{
	struct ehframe_writer w = {.base = base};
	struct cie_map *cies = NULL;
	size_t n_cies = 0, cap_cies = 0;
	struct reader r = {sec, size, 0, false};
	while (r.pos + 4 <= size) {
		uint64_t len = read_bytes(&r, 4);
		bool is64 = len == 0xffffffff;
		if (is64)
			len = read_bytes(&r, 8);
		size_t body = r.pos, end = body + len;
		if (r.bad || end > size || end < body)
			break;
		uint64_t id = read_bytes(&r, is64 ? 8 : 4);
		if (r.bad || id == (is64 ? ~0ULL : 0xffffffffULL) || id >= size) {
			r.pos = end; /* a CIE, converted when an FDE needs it */
			continue;
		}
		size_t k = 0;
		while (k < n_cies && cies[k].in != id)
			k++;
		if (k == n_cies) {
			GROW(cies, cap_cies, n_cies + 1);
			cies[n_cies].in = id;
			cies[n_cies].ok = convert_cie(sec, size, id, &w, &cies[n_cies].out);
			n_cies++;
		}
		uint64_t start = read_bytes(&r, 8), range = read_bytes(&r, 8);
		if (cies[k].ok && !r.bad && r.pos <= end)
			ehframe_put_fde(&w, cies[k].out, bias + start, range, sec + r.pos,
					end - r.pos);
		r.bad = false;
		r.pos = end;
	}
	free(cies);
	return ehframe_finish(&w, out, out_len, table, n_out);
}
