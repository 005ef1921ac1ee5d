/*
 * unwind.c: libunwind (remote, x86_64) over a stack copy. See unwind.h.
 *
 * Unwind tables are found the way the target's own unwinder finds them:
 * from the module's PT_GNU_EH_FRAME header, whose sorted FDE table is
 * searched with libunwind's exported _Ux86_64_dwarf_search_unwind_table.
 * The table, the FDEs and the CIEs are read from the module image cached in
 * the addrspace, so an unwind makes no syscall at all. This also covers the
 * [vdso], for which libunwind 1.6 finds no remote unwind info by itself.
 */
#include "unwind.h"

#define UNW_REMOTE_ONLY
#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "procfs.h"
#include "util.h"

/* Exported by libunwind but not declared in its headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/* A stack deeper than MAX_FRAMES keeps HEAD_FRAMES innermost frames, one
 * marker and TAIL_FRAMES outermost ones. No stack copy holds more frames
 * than STEP_LIMIT (16 bytes each at least): more is a loop. */
#define HEAD_FRAMES (MAX_FRAMES / 2)
#define TAIL_FRAMES (MAX_FRAMES - HEAD_FRAMES - 1)
#define STEP_LIMIT (STACK_COPY_MAX / 16)

/* Re-read maps for an unknown address at most this often (dlopen, JIT);
 * and, while the address space keeps its size, at most once a second. */
#define REFRESH_INTERVAL_NS (50 * 1000 * 1000ULL)
#define REFRESH_SAME_SIZE_NS (1000 * 1000 * 1000ULL)

/*
 * libunwind takes its locks (the memory pools of its DWARF parser, used at
 * most steps whose state is not cached) with every signal blocked, so that
 * a program unwinding itself from a signal handler cannot deadlock on them:
 * two rt_sigprocmask calls per lock, three of every four syscalls wallprof
 * made at 999 Hz on PostgreSQL. wallprof unwinds other processes, one
 * thread at a time per address space, and none of its signal handlers
 * unwinds, so while a thread of it unwinds the masking is skipped.
 * libunwind reaches sigprocmask through its PLT, where the program's own
 * definition comes first; every other caller's request is carried out.
 * A skipped call leaves *old alone: only the matching skipped call reads
 * it back, within the same unwind step.
 */
static __thread bool unwinding;

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (unwinding)
		return 0;
	int err = pthread_sigmask(how, set, old);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

struct unwinder {
	unw_addr_space_t uas;
	struct addrspace *as;
	mono_ns last_refresh, last_full_refresh;
	uint64_t vm_pages; /* the address space's size at the last refresh */

	/* The unwind in progress. */
	const struct user_regs_struct *regs;
	bool full_regs;
	const struct stack_copy *stack;
	size_t stack_used;
	bool overrun;
	bool rbp_wanted; /* the unwind needed rbp, which a no-stop sample lacks */
	bool rbp_guessed; /* rbp is guess_rbp: a candidate being tried */
	uint64_t guess_rbp;
	uint64_t tail[TAIL_FRAMES]; /* unwind_once's ring of outermost frames */
};

size_t stack_copy_window(size_t old, size_t used, bool overrun)
{
	size_t want;
	if (old == 0 || old > STACK_COPY_MAX)
		old = STACK_COPY_MAX;
	if (overrun) {
		want = 2 * old;
	} else {
		/* A stack goes deeper and comes back: fitting each copy to
		 * the last unwind cut one deep stack in ten of a compiler's
		 * (the copy of a stop is unwound after the thread goes on,
		 * so an overrun cannot be read again). Shrink slowly, to
		 * the deepest need of the last hundred samples or so. */
		want = used + used / 4 + 2048;
		if (want < old - old / 64)
			want = old - old / 64;
	}
	want = (want + 4095) & ~(size_t)4095;
	return want < STACK_COPY_MIN   ? STACK_COPY_MIN
	       : want > STACK_COPY_MAX ? STACK_COPY_MAX
				       : want;
}

int stack_copy_read(pid_t pid, uint64_t sp, size_t max_bytes, struct stack_copy *out)
{
	enum { PAGE = 4096, NIOV = STACK_COPY_MAX / PAGE + 1 };
	struct iovec remote[NIOV];
	uint64_t start = sp >= 128 ? sp - 128 : 0;
	uint64_t addr = start;
	size_t total = 0;
	int n = 0;
	/* One iovec per page: a partial read stops at the first unmapped page
	 * instead of failing the whole copy. */
	if (max_bytes > STACK_COPY_MAX || max_bytes == 0)
		max_bytes = STACK_COPY_MAX;
	while (total < max_bytes && n < NIOV) {
		uint64_t next = (addr & ~(uint64_t)(PAGE - 1)) + PAGE;
		size_t len = (size_t)(next - addr);
		if (total + len > max_bytes)
			len = max_bytes - total;
		remote[n].iov_base = (void *)(uintptr_t)addr;
		remote[n].iov_len = len;
		n++;
		total += len;
		addr += len;
	}
	struct iovec local = {out->data, total};
	out->base = start;
	ssize_t r = process_vm_readv(pid, &local, 1, remote, (unsigned long)n, 0);
	if (r < 0 && (errno == ENOSYS || errno == EPERM))
		r = target_read(pid, start, out->data, total);
	if (r <= 0) {
		out->len = 0;
		return r < 0 ? -errno : -EFAULT;
	}
	out->len = (size_t)r;
	return 0;
}

/*
 * An address in no known mapping: maps may have changed (dlopen, a JIT's new
 * code), or the address is garbage (a frame unwound wrongly). Reading and
 * parsing maps is costly for a large process, and a server's unwinds meet
 * garbage addresses at every tick, so maps is read again only if the
 * address space changed size since (/proc/PID/statm, one short read), or a
 * second has passed (a mapping replaced by one of the same size).
 */
void unwinder_maybe_refresh(struct unwinder *uw)
{
	mono_ns now = mono_now();
	if (now - uw->last_refresh < REFRESH_INTERVAL_NS)
		return;
	uw->last_refresh = now;
	uint64_t pages = 0;
	if (procfs_read_vm_pages(uw->as->pid, &pages) < 0)
		pages = 0;
	if (pages && pages == uw->vm_pages && now - uw->last_full_refresh < REFRESH_SAME_SIZE_NS)
		return;
	uw->vm_pages = pages;
	uw->last_full_refresh = now;
	if (addrspace_refresh(uw->as) == 0)
		unw_flush_cache(uw->uas, 0, 0);
}

static const struct mapping *find_mapping(struct unwinder *uw, uint64_t addr)
{
	const struct mapping *m = addrspace_find(uw->as, addr);
	/* A guessed rbp that leads nowhere is no news about the maps. */
	if (!m && !uw->rbp_guessed) {
		unwinder_maybe_refresh(uw);
		m = addrspace_find(uw->as, addr);
	}
	return m;
}

/*
 * Tables built by ehframe.c are given to libunwind at non-canonical
 * addresses (bit 63 set, below the kernel's half), which no process can
 * map: OWN_TABLE_BASE + the module's index << 32 + the offset in the table.
 */
#define OWN_TABLE_BASE 0x8000000000000000ULL

static uint64_t own_table_addr(const struct unwinder *uw, const struct module *mod)
{
	size_t i = 0;
	while (i < uw->as->n_mods && uw->as->mods[i] != mod)
		i++;
	return OWN_TABLE_BASE + ((uint64_t)i << 32);
}

/* In an own_table_addr: the table of the module's .debug_frame instead. */
#define DEBUG_TABLE_BIT (1ULL << 31)

static bool read_own_table(const struct unwinder *uw, uint64_t addr, unw_word_t *val)
{
	if ((addr & 0xffff000000000000ULL) != OWN_TABLE_BASE)
		return false;
	uint64_t i = (addr - OWN_TABLE_BASE) >> 32, off = addr & 0x7fffffffULL;
	if (i >= uw->as->n_mods)
		return false;
	const struct module *mod = uw->as->mods[i];
	const struct eh_entry *t = addr & DEBUG_TABLE_BIT ? mod->debug_table : mod->own_table;
	size_t n = addr & DEBUG_TABLE_BIT ? mod->debug_count : mod->fde_count;
	if (!t || off + sizeof(*val) > n * sizeof(struct eh_entry))
		return false;
	memcpy(val, (const uint8_t *)t + off, sizeof(*val));
	return true;
}

static int find_proc_info(unw_addr_space_t uas, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct unwinder *uw = arg;
	const struct mapping *m = find_mapping(uw, ip);
	if (!m || !m->mod || !module_load(uw->as, m->mod))
		return -UNW_ENOINFO;
	struct module *mod = m->mod;
	if ((!mod->fde_count && !mod->debug_count) || !mod->bias_known)
		return -UNW_ENOINFO;
	unw_dyn_info_t di;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = mod->lo;
	di.end_ip = mod->hi;
	int r = -UNW_ENOINFO;
	if (mod->fde_count) {
		if (mod->own_table) {
			/* Our own table (ehframe.h) lives here, not in the
			 * target: it is read through access_mem at an address
			 * no target has. */
			di.u.rti.segbase = mod->bias + mod->own_segbase_vaddr;
			di.u.rti.table_data = own_table_addr(uw, mod);
		} else {
			di.u.rti.segbase = mod->bias + mod->eh_hdr_vaddr;
			/* 12 bytes of header; each entry is two 4-byte values. */
			di.u.rti.table_data = di.u.rti.segbase + 12;
		}
		di.u.rti.table_len = mod->fde_count * 8 / sizeof(unw_word_t);
		r = _Ux86_64_dwarf_search_unwind_table(uas, ip, &di, pi, need_unwind_info, arg);
	}
	/* Code .eh_frame does not cover: the rewritten .debug_frame, or the
	 * CFI made from Go's table (maps.h). A Go program using cgo has both:
	 * .eh_frame for its few C functions, the rest in Go's. */
	if (r == -UNW_ENOINFO && mod->debug_count) {
		di.u.rti.segbase = mod->debug_base;
		di.u.rti.table_data = own_table_addr(uw, mod) | DEBUG_TABLE_BIT;
		di.u.rti.table_len = mod->debug_count * 8 / sizeof(unw_word_t);
		r = _Ux86_64_dwarf_search_unwind_table(uas, ip, &di, pi, need_unwind_info, arg);
	}
	return r;
}

static void put_unwind_info(unw_addr_space_t uas, unw_proc_info_t *pi, void *arg)
{
	/* libunwind frees table-format info itself; we hand out no other kind. */
}

static int get_dyn_info_list_addr(unw_addr_space_t uas, unw_word_t *addr, void *arg)
{
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t uas, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct unwinder *uw = arg;
	if (write)
		return -UNW_EINVAL;
	const struct stack_copy *st = uw->stack;
	if (addr >= st->base && addr + sizeof(*val) <= st->base + st->len) {
		size_t end = (size_t)(addr - st->base) + sizeof(*val);
		memcpy(val, st->data + (addr - st->base), sizeof(*val));
		if (end > uw->stack_used)
			uw->stack_used = end;
		return 0;
	}
	if (addrspace_read_image(uw->as, addr, val, sizeof(*val)) ||
	    read_own_table(uw, addr, val) ||
	    addrspace_read_debug_frame(uw->as, addr, val, sizeof(*val)))
		return 0;
	/* Beyond our copy of the stack: the live stack has moved on since,
	 * and reading it would mix two moments. */
	if (addr >= st->base && addr < st->base + STACK_COPY_MAX * 4) {
		uw->overrun = true;
		return -UNW_EINVAL;
	}
	const struct mapping *m = addrspace_find(uw->as, addr);
	if (!m || !m->readable)
		return -UNW_EINVAL;
	uw->as->slow_reads++;
	if (target_read(uw->as->pid, addr, val, sizeof(*val)) != (ssize_t)sizeof(*val))
		return -UNW_EINVAL;
	return 0;
}

static int access_reg(unw_addr_space_t uas, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	struct unwinder *uw = arg;
	const struct user_regs_struct *r = uw->regs;
	if (write)
		return -UNW_EREADONLYREG;
	switch (reg) {
	case UNW_X86_64_RIP: *val = r->rip; return 0;
	case UNW_X86_64_RSP: *val = r->rsp; return 0;
	default: break;
	}
	if (reg == UNW_X86_64_RBP && uw->rbp_guessed) {
		*val = uw->guess_rbp;
		return 0;
	}
	if (!uw->full_regs) {
		uw->rbp_wanted |= reg == UNW_X86_64_RBP;
		return -UNW_EBADREG;
	}
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_R8: *val = r->r8; break;
	case UNW_X86_64_R9: *val = r->r9; break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	default: return -UNW_EBADREG;
	}
	return 0;
}

static int access_fpreg(unw_addr_space_t uas, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t uas, unw_cursor_t *c, void *arg)
{
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t uas, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	/* Names come from the symbolizer, after recording. */
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

struct unwinder *unwinder_new(struct addrspace *as)
{
	struct unwinder *uw = xcalloc(1, sizeof(*uw));
	uw->as = as;
	uw->uas = unw_create_addr_space(&accessors, 0);
	if (!uw->uas)
		die(EXIT_FAILURE_, "cannot create a libunwind address space");
	/* The default for a new address space is UNW_CACHE_NONE. The
	 * per-thread cache needs no lock: we unwind from one thread. */
	unw_set_caching_policy(uw->uas, UNW_CACHE_PER_THREAD);
	return uw;
}

void unwinder_free(struct unwinder *uw)
{
	if (!uw)
		return;
	unw_destroy_addr_space(uw->uas);
	free(uw);
}

/*
 * Is ip the kernel's way back from a signal handler: glibc's __restore_rt,
 * "mov $15, %rax; syscall" (rt_sigreturn)? libunwind knows only once it
 * has stepped through it, too late to look the frame up at ip, not ip - 1.
 */
static bool is_sigreturn(struct unwinder *uw, uint64_t ip)
{
	static const uint8_t code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
	uint8_t b[sizeof(code)];
	return addrspace_read_image(uw->as, ip, b, sizeof(b)) && !memcmp(b, code, sizeof(b));
}

/* Is addr in a Go function that switches stacks (gopclntab.h)? */
static bool go_switches_stack(struct unwinder *uw, const struct mapping *m, uint64_t addr)
{
	struct gofunc f;
	return m->mod && module_go_function(uw->as, m->mod, addr, &f) &&
	       gopclntab_switches_stack(&m->mod->go, &f);
}

/* One unwind from the registers in uw; see unwinder_unwind. */
static void unwind_once(struct unwinder *uw, struct unwind_result *out, uint64_t *last_sp)
{
	const struct user_regs_struct *regs = uw->regs;
	out->n = 0;
	out->truncated = false;
	*last_sp = regs->rsp;
	unw_cursor_t c;
	if (unw_init_remote(&c, uw->uas, uw) < 0) {
		out->ips[out->n++] = regs->rip;
		out->truncated = true;
		return;
	}
	uint64_t prev_sp = 0;
	bool prev_signal = false;
	uint64_t total = 0; /* frames found, kept or not */
	uint64_t *tail = uw->tail; /* the outermost frames so far, a ring */
	for (;;) {
		unw_word_t ip = 0, sp = 0;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0) {
			out->truncated = true;
			break;
		}
		if (ip == 0)
			break; /* the outermost frame clears its return address */
		/* libunwind does not validate remote memory when it falls back
		 * to the frame-pointer chain: check what it found. */
		const struct mapping *m = find_mapping(uw, ip);
		if (!m || !m->executable || (total > 0 && sp < prev_sp)) {
			out->truncated = true;
			break;
		}
		/* Return addresses point after the call; the call itself is at
		 * ip - 1, except in the frame a signal interrupted and in the
		 * signal trampoline (__restore_rt), which nothing called. */
		bool signal_frame = unw_is_signal_frame(&c) > 0 || is_sigreturn(uw, ip);
		uint64_t lookup = (total == 0 || prev_signal || signal_frame) ? ip : ip - 1;
		if (total < HEAD_FRAMES)
			out->ips[out->n++] = lookup;
		else
			tail[(total - HEAD_FRAMES) % TAIL_FRAMES] = lookup;
		total++;
		*last_sp = sp;
		if (total == STEP_LIMIT) {
			out->truncated = true;
			break;
		}
		prev_signal = signal_frame;
		prev_sp = sp;
		/* Go's scheduler switches stacks (mcall, systemstack): above
		 * them its own traceback ends, and so does this one, whole.
		 * (Read on, the unwind found a stale return address there:
		 * runtime.newproc under 5-11% of samples of restic and hugo.) */
		if (go_switches_stack(uw, m, lookup))
			break;
		int r = unw_step(&c);
		if (r == 0)
			break;
		if (r < 0) {
			out->truncated = true;
			break;
		}
	}
	if (total > HEAD_FRAMES) {
		/* The marker, then the outermost frames in order. */
		uint64_t kept =
			total - HEAD_FRAMES < TAIL_FRAMES ? total - HEAD_FRAMES : TAIL_FRAMES;
		uint64_t elided = total - HEAD_FRAMES - kept;
		if (elided)
			out->ips[out->n++] = STACK_ELIDED_TAG | elided;
		for (uint64_t k = total - kept; k < total; k++)
			out->ips[out->n++] = tail[(k - HEAD_FRAMES) % TAIL_FRAMES];
	}
	if (out->n == 0) {
		out->ips[out->n++] = regs->rip;
		out->truncated = true;
	}
}

/* Does code at ret follow a call instruction: is it a return address? */
static bool after_call(struct unwinder *uw, uint64_t ret)
{
	uint8_t b[7];
	const struct mapping *m = addrspace_find(uw->as, ret);
	if (!m || !m->executable || ret < sizeof(b) ||
	    !addrspace_read_image(uw->as, ret - sizeof(b), b, sizeof(b)))
		return false;
	if (b[2] == 0xe8) /* call rel32 */
		return true;
	/* call r/m64 (ff /2), two, three, six or seven bytes long */
	static const int len[] = {2, 3, 6, 7};
	for (size_t i = 0; i < ARRAY_SIZE(len); i++) {
		const uint8_t *op = b + sizeof(b) - len[i];
		if (op[0] == 0xff && ((op[1] >> 3) & 7) == 2)
			return true;
	}
	return false;
}

/*
 * Could the call before the return address ret have entered the function
 * starting at fn? An indirect call could have; a direct one (call rel32)
 * names its callee, and a callee in the same module that is not fn is
 * another function's call. A callee elsewhere is a PLT stub or a jump
 * stub: nothing to say.
 */
static bool call_may_enter(struct unwinder *uw, uint64_t ret, uint64_t fn)
{
	uint8_t b[5];
	int32_t rel;
	if (!addrspace_read_image(uw->as, ret - sizeof(b), b, sizeof(b)) || b[0] != 0xe8)
		return true;
	memcpy(&rel, b + 1, sizeof(rel));
	uint64_t target = ret + (uint64_t)(int64_t)rel;
	const struct mapping *a = addrspace_find(uw->as, target), *f = addrspace_find(uw->as, fn);
	return target == fn || !a || !f || a->mod != f->mod;
}

static uint64_t stack_word(const struct stack_copy *st, uint64_t addr)
{
	uint64_t v;
	memcpy(&v, st->data + (addr - st->base), sizeof(v));
	return v;
}

/*
 * A thread read without a stop comes with sp and pc only (/proc/TID/syscall).
 * That is enough for code whose CFA is sp-based, which is most of it, but a
 * function built with frame pointers (PostgreSQL, Go, much of what is built
 * with -fno-omit-frame-pointer) finds its frame through rbp. If no frame
 * inside it saved rbp, rbp still is that function's frame pointer, which its
 * prologue pointed at the saved rbp, right below its return address:
 *
 *   rbp -> [ caller's rbp ][ return address ] <- CFA = rbp + 16
 *
 * So above the sp of the frame that needed it, rbp is a stack slot that
 * holds 0 or a higher stack address, followed by a word that returns just
 * after a call instruction. Each such slot, lowest first, is tried: the
 * unwind is run again with it as rbp, and the first that unwinds to the
 * outermost frame (or farther than any other) is kept. A wrong slot gives a
 * CFA whose return address is garbage and stops the unwind, which is what
 * the validation is for.
 *
 * A function's locals that it never wrote still hold what deeper calls made
 * before left there, frame records included, and a chain of stale records
 * can lead to the outermost frame as well as the true one. The true slot's
 * return address follows the call that entered the function that needed
 * rbp: a slot whose direct call went to another function is passed over.
 * If none is left, the stack stays cut short, and a stop (full registers)
 * may do better.
 */
static void recover_rbp(struct unwinder *uw, struct unwind_result *out, uint64_t from_sp)
{
	const struct stack_copy *st = uw->stack;
	struct unwind_result *best = xmalloc(sizeof(*best)), *tryr = xmalloc(sizeof(*tryr));
	*best = *out;
	uint64_t end = st->base + st->len, last, fn = 0;
	/* The frame that needed rbp is the last one the unwind reached. */
	uint64_t at = out->n > 0 ? out->ips[out->n - 1] : 0;
	bool fn_known = at && addrspace_function_start(uw->as, addrspace_find(uw->as, at), at, &fn);
	int tried = 0;
	for (uint64_t a = (from_sp + 7) & ~7ULL; a + 16 <= end && tried < 16; a += 8) {
		uint64_t saved = stack_word(st, a), ret = stack_word(st, a + 8);
		if (saved && (saved <= a || saved >= end))
			continue;
		if (!after_call(uw, ret) || (fn_known && !call_may_enter(uw, ret, fn)))
			continue;
		tried++;
		uw->rbp_guessed = true;
		uw->guess_rbp = a;
		unwind_once(uw, tryr, &last);
		if (tryr->n > best->n && (!tryr->truncated || tryr->n > out->n + 1)) {
			*best = *tryr;
			if (!tryr->truncated)
				break;
		}
	}
	uw->rbp_guessed = false;
	*out = *best;
	free(best);
	free(tryr);
}

void unwinder_unwind(struct unwinder *uw, const struct user_regs_struct *regs, bool full_regs,
		     const struct stack_copy *stack, struct unwind_result *out)
{
	uw->regs = regs;
	uw->full_regs = full_regs;
	uw->stack = stack;
	uw->stack_used = 0;
	uw->overrun = false;
	uw->rbp_wanted = uw->rbp_guessed = false;
	uint64_t last_sp;
	unwinding = true;
	unwind_once(uw, out, &last_sp);
	if (out->truncated && uw->rbp_wanted && !uw->overrun)
		recover_rbp(uw, out, last_sp);
	unwinding = false;
	out->stack_used = uw->stack_used;
	out->overrun = uw->overrun;
}
