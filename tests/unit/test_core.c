/*
 * test_core: unit tests for the pure code: stack interning, the /proc
 * parsers, the folded writer and the JSON round trip of a profile built by
 * hand, whose every number is known.
 */
#include <elfutils/libdwfl.h>
#include <glob.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>

#include "fds.h"
#include "locks.h"
#include "peers.h"
#include "procfs.h"
#include "profile.h"
#include "recorder.h"
#include "sampler.h"
#include "stacks.h"
#include "symbols.h"
#include "syscalls.h"
#include "util.h"
#include "waitset.h"
#include "views.h"
#include "unit.h"

static void test_stacks(void)
{
	struct stack_table t;
	stack_table_init(&t);
	uint64_t a[] = {1, 2, 3}, b[] = {1, 2, 4}, c[] = {1, 2};
	uint32_t ia = stack_intern(&t, a, 3, false);
	uint32_t ib = stack_intern(&t, b, 3, false);
	uint32_t ic = stack_intern(&t, c, 2, false);
	uint32_t ia2 = stack_intern(&t, a, 3, false);
	uint32_t iat = stack_intern(&t, a, 3, true);
	CHECK(ia == 0 && ib == 1 && ic == 2);
	CHECK(ia2 == ia);
	CHECK(iat == 3); /* truncated is part of identity */
	uint32_t len;
	bool tr;
	const uint64_t *v = stack_values(&t, ib, &len, &tr);
	CHECK(len == 3 && v[2] == 4 && !tr);
	/* Many distinct stacks force rehashing; ids stay dense and stable. */
	bool ok = true;
	for (uint64_t i = 0; i < 5000; i++) {
		uint64_t s[2] = {i, i * 7};
		ok &= stack_intern(&t, s, 2, false) == 4 + i;
	}
	for (uint64_t i = 0; i < 5000; i++) {
		uint64_t s[2] = {i, i * 7};
		ok &= stack_intern(&t, s, 2, false) == 4 + i;
	}
	CHECK(ok);
	CHECK(t.n == 5004);
	stack_table_release(&t);
}

static void test_procfs(void)
{
	struct task_stat st;
	CHECK(procfs_parse_stat("123 (a (b) c) S 1 2 3", &st) == 0 && st.cpu == -1);
	/* "processor" is field 39: here fields 4 to 52 are their own numbers. */
	char fields[256] = "7 (x) S";
	for (int f = 4; f <= 52; f++)
		snprintf(fields + strlen(fields), sizeof(fields) - strlen(fields), " %d", f);
	struct task_stat st2;
	CHECK(procfs_parse_stat(fields, &st2) == 0 && st2.cpu == 39 && st2.state == 'S');
	CHECK_STR(st.comm, "a (b) c");
	CHECK(st.state == 'S');
	CHECK(procfs_parse_stat("123 (x", &st) < 0);
	CHECK(procfs_parse_stat("", &st) < 0);

	struct schedstat ss;
	CHECK(procfs_parse_schedstat("100 200 3\n", &ss) == 0 && ss.run_ns == 100 &&
	      ss.wait_ns == 200 && ss.slices == 3);
	CHECK(procfs_parse_schedstat("garbage", &ss) < 0);
	CHECK(procfs_parse_schedstat("100 200\n", &ss) < 0);
	CHECK(procfs_parse_schedstat("100 200x 3\n", &ss) < 0);
	CHECK(procfs_parse_schedstat("18446744073709551615 0 1", &ss) == 0 &&
	      ss.run_ns == UINT64_MAX && ss.slices == 1);

	struct syscall_state sc;
	CHECK(procfs_parse_syscall("running\n", &sc) == 0 && sc.running);
	CHECK(procfs_parse_syscall("-1 0x7ffd1000 0x401000\n", &sc) == 0 && sc.nr == -1 &&
	      sc.sp == 0x7ffd1000 && sc.pc == 0x401000);
	CHECK(procfs_parse_syscall("202 0x55 0x80 0x2 0x0 0x0 0x0 0x7ffc 0x7f12\n", &sc) == 0 &&
	      sc.nr == 202 && sc.args[1] == 0x80 && sc.sp == 0x7ffc && sc.pc == 0x7f12);
	CHECK(procfs_parse_syscall("202 0x55", &sc) < 0);
	CHECK(procfs_parse_syscall("99999 0 0 0 0 0 0 0 0", &sc) < 0);

	struct map_entry *m;
	size_t n;
	procfs_parse_maps("55d0-55d8 r-xp 00001000 fd:01 1234 /usr/bin/x y\n"
			  "7ffe-7fff rw-p 00000000 00:00 0 [stack]\nnot a map line\n",
			  &m, &n);
	CHECK(n == 2);
	CHECK(m[0].start == 0x55d0 && m[0].end == 0x55d8 && m[0].offset == 0x1000 &&
	      m[0].inode == 1234);
	CHECK_STR(m[0].path, "/usr/bin/x y");
	CHECK_STR(m[1].path, "[stack]");
	procfs_free_maps(m, n);

	/* /proc/PID/status fields and fdinfo flags (repair.c, tracer.c). */
	const char *status = "Name:\tx\nTgid:\t4242\nSigPnd:\t0000000000000200\n"
			     "ShdPnd:\t0000000000000000\nSigBlk:\tfffffffe7ffbfeff\n";
	uint64_t h;
	CHECK(procfs_parse_status_hex(status, "SigPnd", &h) == 0 && h == 0x200);
	CHECK(procfs_parse_status_hex(status, "SigBlk", &h) == 0 && h == 0xfffffffe7ffbfeffULL);
	CHECK(procfs_parse_status_int(status, "Tgid", &h) == 0 && h == 4242);
	CHECK(procfs_parse_status_hex(status, "SigIgn", &h) < 0); /* absent */
	CHECK(procfs_parse_status_hex("XSigPnd:\t1\n", "SigPnd", &h) < 0); /* not at a line start */
	CHECK(procfs_parse_status_hex("SigPnd:\tzz\n", "SigPnd", &h) < 0);
	CHECK(procfs_parse_fdinfo_flags("pos:\t0\nflags:\t0104002\nmnt_id:\t15\n", &h) == 0 &&
	      h == 0104002 && (h & 04000));
	CHECK(procfs_parse_fdinfo_flags("flags:\t9\n", &h) < 0); /* octal */
	uint64_t ids[4];
	CHECK(procfs_parse_status_ids("Uid:\t1000\t1001\t1002\t1003\nGid:\t5\n", "Uid", ids, 4) ==
		      4 &&
	      ids[0] == 1000 && ids[3] == 1003);
	CHECK(procfs_parse_status_ids("NSpid:\t4321\t7\n", "NSpid", ids, 4) == 2 && ids[1] == 7);
	CHECK(procfs_parse_status_ids("NSpid:\t4321\t7\n", "NSpid", ids, 1) == 1 && ids[0] == 4321);
	CHECK(procfs_parse_status_ids("Uid:\tx\n", "Uid", ids, 4) == 0);
	CHECK(procfs_parse_status_ids("Gid:\t1\n", "Uid", ids, 4) == 0);
	pid_t kids[3];
	CHECK(procfs_parse_children("12 345 6 ", kids, 3) == 3 && kids[0] == 12 && kids[2] == 6);
	CHECK(procfs_parse_children("12 345 6 7 ", kids, 3) == 3);
	CHECK(procfs_parse_children("", kids, 3) == 0);
	CHECK(procfs_parse_children("12 x 6", kids, 3) == 1);
	CHECK(procfs_parse_children("-1 ", kids, 3) == 0);

	uint64_t v;
	CHECK(parse_uint("99", 1, 100, &v) && v == 99);
	CHECK(!parse_uint("0", 1, 100, &v) && !parse_uint("-5", 0, 100, &v) &&
	      !parse_uint("5x", 0, 100, &v));
}

static void test_syscalls(void)
{
	CHECK_STR(syscall_name(SYS_read), "read");
	CHECK_STR(syscall_name(SYS_epoll_wait), "epoll_wait");
	uint64_t wait[6] = {0, 0x80 /* FUTEX_WAIT|PRIVATE */}, wake[6] = {0, 0x81};
	CHECK(syscall_wait_state(SYS_futex, wait) == ST_LOCK);
	CHECK(syscall_wait_state(SYS_futex, wake) == ST_SYSCALL);
	CHECK(syscall_wait_state(SYS_clock_nanosleep, wait) == ST_SLEEP);
	bool fd;
	CHECK(!syscall_restarts_after_interrupt(SYS_epoll_wait, &fd));
	CHECK(syscall_restarts_after_interrupt(SYS_read, &fd) && fd);
	CHECK(syscall_restarts_after_interrupt(SYS_futex, &fd) && !fd);
}

/*
 * The sorted symbol tables against libdwfl's own lookup, on real binaries:
 * every sized symbol's start, middle and last byte, and every label, in a
 * sample of at most `budget` addresses spread over the table (the libdwfl
 * side scans the whole table per address).
 */
static size_t symtab_mismatches(const char *path, size_t budget, size_t *compared)
{
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
	};
	Dwfl *dwfl = dwfl_begin(&cb);
	Dwfl_Module *mod = dwfl_report_offline(dwfl, path, path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	size_t bad = 0;
	*compared = 0;
	int n = mod ? dwfl_module_getsymtab(mod) : 0;
	struct symtab *t = mod ? symtab_new(mod) : NULL;
	size_t step = n > 0 && (size_t)n * 3 > budget ? (size_t)n * 3 / budget + 1 : 1;
	for (int i = 1; i < n; i += (int)step) {
		GElf_Sym sym;
		GElf_Addr a;
		if (!dwfl_module_getsym_info(mod, i, &sym, &a, NULL, NULL, NULL) || !a)
			continue;
		uint64_t probes[3] = {a, a + sym.st_size / 2,
				      a + (sym.st_size ? sym.st_size - 1 : 0)};
		for (int k = 0; k < 3; k++) {
			GElf_Off off;
			GElf_Sym es;
			const char *want =
				dwfl_module_addrinfo(mod, probes[k], &off, &es, NULL, NULL, NULL);
			const char *got = symtab_lookup(t, probes[k], NULL);
			(*compared)++;
			if ((want == NULL) != (got == NULL) || (want && strcmp(want, got))) {
				if (bad++ < 5)
					printf("     %s+0x%llx: libdwfl %s, symtab %s\n", path,
					       (unsigned long long)probes[k], want ? want : "-",
					       got ? got : "-");
			}
		}
	}
	symtab_free(t);
	dwfl_end(dwfl);
	return bad;
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (strstr(info->dlpi_name, "/libc.so"))
		snprintf(arg, 4096, "%s", info->dlpi_name);
	return 0;
}

static void test_symtab(void)
{
	size_t n, bad;
	char self[4096] = "", libc[4096] = "";
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[len > 0 ? len : 0] = '\0';
	bad = symtab_mismatches(self, 6000, &n);
	printf("     %zu addresses in %s\n", n, self);
	CHECK(n > 1000 && bad == 0);
	dl_iterate_phdr(find_libc, libc);
	bad = symtab_mismatches(libc, 3000, &n);
	printf("     %zu addresses in %s\n", n, libc);
	CHECK(n > 1000 && bad == 0);
	/* A large Rust and C++ binary, when rustup has installed one. */
	glob_t g;
	char pat[4200];
	snprintf(pat, sizeof(pat), "%s/.rustup/toolchains/*/lib/librustc_driver-*.so",
		 getenv("HOME") ? getenv("HOME") : "/root");
	if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc) {
		bad = symtab_mismatches(g.gl_pathv[0], 600, &n);
		printf("     %zu addresses in %s\n", n, g.gl_pathv[0]);
		CHECK(n > 300 && bad == 0);
	} else {
		printf("note no librustc_driver under ~/.rustup: its symbol tables not compared\n");
	}
	globfree(&g);
}

static void test_demangle(void)
{
	char *s = demangle("_ZN3foo3barEv");
	CHECK_STR(s, "foo::bar");
	free(s);
	s = demangle("_ZN10rust_locks5check17h0123456789abcdefE");
	CHECK_STR(s, "rust_locks::check");
	free(s);
	s = demangle("_RNvCs1234_10rust_locks5check");
	CHECK(s && strstr(s, "rust_locks::check") != NULL);
	free(s);
	CHECK(demangle("plain_c") == NULL);
}

/* A profile whose every number is known: 2 threads, 3 frames, 2 stacks. */
static void build_profile(struct profile *p)
{
	profile_init(p);
	p->argc = 2;
	p->argv = xcalloc(3, sizeof(char *));
	p->argv[0] = xstrdup("./app");
	p->argv[1] = xstrdup("--fast");
	p->pid = 42;
	p->mode = xstrdup("launch");
	p->duration_ns = 2000000000ULL;
	p->frequency_hz = 100;
	p->exit_status = 3;
	p->n_threads = 2;
	p->threads = xcalloc(2, sizeof(*p->threads));
	p->threads[0] =
		(struct profile_thread){.tid = 42, .n_names = 1, .first_ns = 0, .last_ns = 10};
	p->threads[0].names = xcalloc(1, sizeof(char *));
	p->threads[0].names[0] = xstrdup("app");
	p->threads[1] =
		(struct profile_thread){.tid = 43, .n_names = 2, .first_ns = 5, .last_ns = 20};
	p->threads[1].names = xcalloc(2, sizeof(char *));
	p->threads[1].names[0] = xstrdup("app");
	p->threads[1].names[1] = xstrdup("io;worker");
	p->n_frames = 3;
	p->frames = xcalloc(3, sizeof(*p->frames));
	p->frames[0] = (struct profile_frame){xstrdup("main"), xstrdup("app"), xstrdup("app.c"), 10,
					      false,	       0x1000};
	p->frames[1] = (struct profile_frame){
		xstrdup("ns::f<int>"), xstrdup("app"), NULL, 0, true, 0x1010};
	p->frames[2] = (struct profile_frame){xstrdup("read"), xstrdup("libc.so.6"), NULL, 0, false,
					      0x7000};
	p->n_stacks = 2;
	p->stacks = xcalloc(2, sizeof(*p->stacks));
	p->stacks[0] = (struct profile_stack){xcalloc(2, 4), 2, false};
	p->stacks[0].frames[0] = 1;
	p->stacks[0].frames[1] = 0;
	p->stacks[1] = (struct profile_stack){xcalloc(3, 4), 3, true};
	p->stacks[1].frames[0] = 2;
	p->stacks[1].frames[1] = 1;
	p->stacks[1].frames[2] = 0;
	p->n_samples = 5;
	p->samples = xcalloc(5, sizeof(*p->samples));
	p->samples[0] = (struct profile_sample){0, 42, 0, ST_ONCPU, -1, -1, 0};
	p->samples[1] = (struct profile_sample){10, 42, 0, ST_ONCPU, -1, -1, 0};
	p->samples[2] = (struct profile_sample){10, 43, 1, ST_SYSCALL, SYS_read, 0, 0};
	p->samples[3] = (struct profile_sample){20, 43, 1, ST_SYSCALL, SYS_read, 0, 0};
	p->samples[4] = (struct profile_sample){20, 43, 1, ST_LOCK, SYS_futex, 1, 42};
	p->n_objects = 2;
	p->objects = xcalloc(2, sizeof(*p->objects));
	p->objects[0] = (struct profile_object){
		xstrdup("file"), xstrdup("/data/x.db"), 5, 0, NULL, 4096, 0, 0, 0, 0};
	p->objects[1] = (struct profile_object){
		xstrdup("lock"), xstrdup("lock_a"), -1, 0x601040, xstrdup("mutex"), 0, 0, 0, 0, 0};
	p->n_events = 2;
	p->events = xcalloc(2, sizeof(*p->events));
	p->events[0] = (struct profile_event){
		7, 2500000, 43, SYS_read, {5, 0x7ffd0000, 4096, 0, 0, 0}, -11, 1, 0, 0, false, 0};
	p->events[1] = (struct profile_event){
		9, 3000000, 43, SYS_poll, {0x7ffd1000, 2, 3, 0, 0, 0}, 0, 1, -1, 0, false, 1};
	p->n_wait_sets = 1;
	p->wait_sets = xcalloc(1, sizeof(*p->wait_sets));
	p->wait_sets[0] = xstrdup("fd 3 in, fd 7 in|out");
	p->n_syscalls = 1;
	p->syscalls = xcalloc(1, sizeof(*p->syscalls));
	p->syscalls[0] =
		(struct profile_syscall){SYS_read, 10, 1, 3000000, 2500000, 20000, 2500000};
	p->tracing.syscalls = true;
	p->tracing.method = xstrdup("seccomp");
	p->tracing.threshold_ns = 1000000;
	p->tracing.n_names = 1;
	p->tracing.names = xcalloc(1, sizeof(char *));
	p->tracing.names[0] = xstrdup("read");
	p->stats.samples = 5;
	p->stats.stops = 2;
	p->stats.stop_ns_p50 = 12345;
}

static void test_folded(void)
{
	struct profile p;
	build_profile(&p);
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	CHECK(folded_write(&p, NULL, f) == 0);
	fclose(f);
	CHECK_STR(buf, "app (42);main;ns::f<int>;[on-cpu] 2\n"
		       "io:worker (43);main;ns::f<int>;read;[blocked: read] 2\n"
		       "io:worker (43);main;ns::f<int>;read;[blocked: futex] 1\n");
	free(buf);
	profile_release(&p);
}

static void test_json_round_trip(void)
{
	struct profile p, q;
	build_profile(&p);
	char path[] = "/tmp/wallprof-unit-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	CHECK(profile_write_json(&p, f) == 0);
	fclose(f);
	char err[256] = "";
	CHECK(profile_read_json(path, &q, err, sizeof(err)) == 0);
	if (err[0])
		printf("     reader said: %s\n", err);
	CHECK(q.argc == 2 && !strcmp(q.argv[1], "--fast") && q.pid == 42 && q.exit_status == 3);
	CHECK(q.duration_ns == p.duration_ns && q.frequency_hz == 100 && !strcmp(q.mode, "launch"));
	CHECK(q.n_threads == 2 && q.threads[1].n_names == 2 &&
	      !strcmp(q.threads[1].names[1], "io;worker"));
	CHECK(q.threads[1].first_ns == 5 && q.threads[1].last_ns == 20);
	CHECK(q.n_frames == 3 && !strcmp(q.frames[1].function, "ns::f<int>") &&
	      q.frames[1].inlined && q.frames[0].line == 10 && q.frames[1].file == NULL &&
	      q.frames[2].address == 0x7000);
	CHECK(q.n_stacks == 2 && q.stacks[1].n == 3 && q.stacks[1].truncated &&
	      q.stacks[1].frames[0] == 2);
	bool same = q.n_samples == p.n_samples;
	for (size_t i = 0; same && i < q.n_samples; i++)
		same = q.samples[i].t_ns == p.samples[i].t_ns &&
		       q.samples[i].tid == p.samples[i].tid &&
		       q.samples[i].stack == p.samples[i].stack &&
		       q.samples[i].state == p.samples[i].state &&
		       q.samples[i].syscall == p.samples[i].syscall &&
		       q.samples[i].object == p.samples[i].object &&
		       q.samples[i].owner == p.samples[i].owner;
	CHECK(same);
	CHECK(q.stats.samples == 5 && q.stats.stops == 2 && q.stats.stop_ns_p50 == 12345);
	CHECK(q.n_objects == 2 && !strcmp(q.objects[0].name, "/data/x.db") &&
	      q.objects[0].fd == 5 && q.objects[0].bytes_read == 4096 &&
	      q.objects[1].address == 0x601040 && !strcmp(q.objects[1].lock_kind, "mutex") &&
	      q.objects[1].fd == -1);
	CHECK(q.n_events == 2 && q.n_wait_sets == 1 && !q.events[0].wait_set &&
	      !strcmp(profile_event_wait_set(&q, &q.events[1]), "fd 3 in, fd 7 in|out"));
	CHECK(q.events[0].duration_ns == 2500000 && q.events[0].syscall == SYS_read &&
	      q.events[0].args[2] == 4096 && q.events[0].result == -11 && q.events[0].stack == 1 &&
	      q.events[0].object == 0);
	CHECK(q.n_syscalls == 1 && q.syscalls[0].nr == SYS_read && q.syscalls[0].count == 10 &&
	      q.syscalls[0].errors == 1 && q.syscalls[0].p99_ns == 2500000);
	CHECK(q.tracing.syscalls && !q.tracing.locks && !strcmp(q.tracing.method, "seccomp") &&
	      q.tracing.threshold_ns == 1000000 && q.tracing.n_names == 1);
	profile_release(&q);
	profile_release(&p);
	unlink(path);
}

static void test_locks(void)
{
	const char *mutex[] = {"futex_wait", "__GI___lll_lock_wait", "__pthread_mutex_lock",
			       "take"};
	const char *cond[] = {"__futex_abstimed_wait_common", "__pthread_cond_wait_common", "wait"};
	const char *join[] = {"__futex_abstimed_wait_common", "__pthread_clockjoin_ex", "main"};
	const char *rust[] = {"std::sys::pal::unix::futex::futex_wait",
			      "std::sys::sync::mutex::futex::Mutex::lock_contended",
			      "rust_locks::take"};
	const char *other[] = {"syscall", "my_own_wait"};
	CHECK_STR(lock_classify(mutex, 4), "mutex");
	CHECK_STR(lock_classify(cond, 3), "condvar");
	CHECK_STR(lock_classify(join, 3), "join");
	CHECK_STR(lock_classify(rust, 3), "rust-mutex");
	CHECK_STR(lock_classify(other, 2), "futex");
	CHECK(lock_kind_has_owner("mutex") && !lock_kind_has_owner("condvar"));
	bool pi;
	CHECK(futex_op_is_wait(FUTEX_WAIT_PRIVATE, &pi) && !pi);
	CHECK(futex_op_is_wait(FUTEX_LOCK_PI_PRIVATE, &pi) && pi);
	CHECK(!futex_op_is_wait(FUTEX_WAKE_PRIVATE, &pi));
	/* 0 -> 1 -> 2 -> 0 is a cycle; 3 -> 0 leads into it; 4 waits for no one;
	 * 5 <-> 6 is a second cycle. */
	int waits[] = {1, 2, 0, 0, -1, 6, 5};
	int cycles[7];
	size_t lens[7];
	size_t n = locks_find_cycles(waits, 7, cycles, lens);
	CHECK(n == 2 && lens[0] == 3 && lens[1] == 2);
	CHECK(cycles[0] == 0 && cycles[1] == 1 && cycles[2] == 2 && cycles[3] == 5 &&
	      cycles[4] == 6);
}

static void collect(void *ctx, uint64_t inode, const char *desc)
{
	char *out = ctx;
	size_t len = strlen(out);
	snprintf(out + len, 512 - len, "%llu=%s|", (unsigned long long)inode, desc);
}

static void test_waitset(void)
{
	struct wait_fd w[2];
	size_t total;
	char ev[64];
	/* /proc/PID/fdinfo of nginx's epoll descriptor, three watched fds. */
	int n = waitset_parse_epoll(
		"pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n"
		"tfd:        8 events: 80000019 data:                8  pos:0\n"
		"tfd:        6 events:     2019 data:                6  pos:0\n"
		"tfd:        5 events: 10000019 data:                5  pos:0\n",
		w, 2, &total);
	CHECK(n == 2 && total == 3);
	CHECK(w[0].fd == 8 && w[1].fd == 6);
	CHECK_STR(wait_events_text(w[0].events, ev, sizeof(ev)), "in|et");
	CHECK_STR(wait_events_text(w[1].events, ev, sizeof(ev)), "in|rdhup");
	CHECK_STR(wait_events_text(0x10000001, ev, sizeof(ev)), "in|exclusive");
	CHECK_STR(wait_events_text(0, ev, sizeof(ev)), "none");
	CHECK(waitset_parse_epoll("tfd: -1 events: 1\ntfd: x\n", w, 2, &total) == 0 && total == 0);
	CHECK(waitset_parse_epoll("tfd:\n5 events: 1\ntfd: 7 events: -1\n", w, 2, &total) == 0);
	/* As a traced wait shows it: eight at most, then a count. */
	char text[256];
	n = waitset_parse_epoll("tfd: 8 events: 80000019 data: 8\ntfd: 6 events: 2019 data: 6\n"
				"tfd: 5 events: 1 data: 5\n",
				w, 2, &total);
	CHECK_STR(waitset_text(w, (size_t)n, total, false, text, sizeof(text)),
		  "fd 8 in|et, fd 6 in|rdhup, and 1 more");
	CHECK_STR(waitset_text(w, 0, 0, false, text, sizeof(text)), "none");
	CHECK_STR(waitset_text(w, (size_t)n, 900, true, text, sizeof(text)),
		  "fd 8 in|et, fd 6 in|rdhup, and at least 898 more");
	/* A server's list: 20,000 descriptors, all counted. */
	size_t big = 20000, len = 0;
	char *lines = xmalloc(big * 48 + 1);
	for (size_t i = 0; i < big; i++)
		len += (size_t)sprintf(lines + len, "tfd: %8zu events: 19 data: %zu\n", i + 3, i);
	CHECK(waitset_parse_epoll(lines, w, 2, &total) == 2 && total == big && w[1].fd == 4);
	free(lines);
}

/* Calls decoded as strace names their arguments. */
static void test_call_text(void)
{
	struct profile p;
	profile_init(&p);
	char buf[256];
	const uint64_t w4[6] = {(uint64_t)-1, 0, WNOHANG | WUNTRACED | 0x4000, 0, 0, 0};
	CHECK_STR(call_text(&p, SYS_wait4, w4, -1, NULL, buf, sizeof(buf)),
		  "wait4(any child, WNOHANG|WUNTRACED|0x4000)");
	const uint64_t wid[6] = {P_PID, 42, 0, WEXITED | WSTOPPED, 0, 0};
	CHECK_STR(call_text(&p, SYS_waitid, wid, -1, NULL, buf, sizeof(buf)),
		  "waitid(P_PID 42, WSTOPPED|WEXITED)");
	const uint64_t cns[6] = {CLOCK_MONOTONIC, TIMER_ABSTIME, 0, 0, 0, 0};
	CHECK_STR(call_text(&p, SYS_clock_nanosleep, cns, -1, NULL, buf, sizeof(buf)),
		  "clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...)");
	const uint64_t ep[6] = {5, 20, 64, 30, 0, 0};
	CHECK_STR(call_text(&p, SYS_epoll_wait, ep, -1, "fd 3 in, fd 7 in|et", buf, sizeof(buf)),
		  "epoll_wait(fd 5 = epoll [fd 3 in, fd 7 in|et], timeout 30 ms)");
	const uint64_t ep2[6] = {7, 20, 64, (uint64_t)-1, 0, 0};
	CHECK_STR(call_text(&p, SYS_epoll_wait, ep2, -1, "fd 5 in|exclusive", buf, sizeof(buf)),
		  "epoll_wait(fd 7 = epoll [fd 5 in|exclusive], no timeout)");
	const uint64_t pl[6] = {0x1000, 2, 50, 0, 0, 0};
	CHECK_STR(call_text(&p, SYS_poll, pl, -1, NULL, buf, sizeof(buf)),
		  "poll([2 fds], timeout 50 ms)");
	profile_release(&p);
}

static void test_fds(void)
{
	char out[512] = "";
	fds_parse_inet(
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n"
		"   1: 0100007F:A2C4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0 20 4 30 10 -1\n"
		"   2: garbage\n",
		"tcp", false, collect, out);
	CHECK_STR(out, "111=tcp listen 127.0.0.1:8080|222=tcp 127.0.0.1:41668 -> 127.0.0.1:8080|");
	out[0] = '\0';
	fds_parse_inet(
		"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		"   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0\n",
		"tcp", true, collect, out);
	CHECK_STR(out, "333=tcp listen [::1]:80|");
	out[0] = '\0';
	fds_parse_unix("Num       RefCount Protocol Flags    Type St Inode Path\n"
		       "0000000000000000: 00000002 00000000 00010000 0001 01 444 /run/app.sock\n"
		       "0000000000000000: 00000003 00000000 00000000 0001 03 555\n",
		       collect, out);
	CHECK_STR(out, "444=unix /run/app.sock|555=unix (unnamed)|");
}

static void test_syscall_sets(void)
{
	struct syscall_set set;
	char err[256] = "";
	CHECK(syscall_set_parse("read,fsync,sleep", &set, err, sizeof(err)) == 0);
	CHECK(set.on[SYS_read] && set.on[SYS_fsync] && set.on[SYS_nanosleep] &&
	      set.on[SYS_clock_nanosleep] && !set.on[SYS_write] && !set.all);
	CHECK(syscall_set_parse("network", &set, err, sizeof(err)) == 0 && set.on[SYS_connect] &&
	      set.on[SYS_accept4] && !set.on[SYS_read]);
	CHECK(syscall_set_parse("read,bogus_call", &set, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bogus_call") != NULL);
	syscall_set_default(&set);
	CHECK(set.on[SYS_read] && set.on[SYS_futex] && set.on[SYS_epoll_wait] &&
	      set.on[SYS_wait4] && set.on[SYS_fsync] && set.on[SYS_clock_nanosleep] &&
	      !set.on[SYS_getpid] && !set.on[SYS_mmap]);
	CHECK(syscall_takes_fd(SYS_read) && syscall_takes_fd(SYS_fsync) &&
	      !syscall_takes_fd(SYS_futex));
}

static void test_classify(void)
{
	struct syscall_state sleep = {.nr = SYS_clock_nanosleep}, futex = {.nr = SYS_futex},
			     none = {.nr = -1};
	futex.args[1] = FUTEX_WAIT_PRIVATE;
	struct run_split split = {0};
	CHECK(sampler_classify('D', &none, &split, NULL, NULL) == ST_DISK);
	CHECK(sampler_classify('S', &sleep, &split, NULL, NULL) == ST_SLEEP);
	CHECK(sampler_classify('S', &futex, &split, NULL, NULL) == ST_LOCK);
	CHECK(sampler_classify('S', &none, &split, NULL, NULL) == ST_OTHER);
	CHECK(sampler_classify('T', &none, &split, NULL, NULL) == ST_STOPPED);
	CHECK(split.samples == 0);
	/* R: 3 ms on a CPU and 1 ms waiting for one, so of 8 R samples 6
	 * are on-CPU, whatever their order. */
	struct schedstat a = {0, 0, 0}, b = {3000000, 1000000, 4};
	int oncpu = 0;
	for (int i = 0; i < 8; i++)
		oncpu += sampler_classify('R', &none, &split, i ? NULL : &a, &b) == ST_ONCPU;
	CHECK(oncpu == 6 && split.samples == 8 && split.oncpu == 6);
	CHECK(split.run_ns == 3000000 && split.wait_ns == 1000000);
	/* A counter that went backwards (a reused tid) adds nothing. */
	run_split_add(&split, &b, &a);
	CHECK(split.run_ns == 3000000 && split.wait_ns == 1000000);
}

static void test_durations(void)
{
	uint64_t ns = 0;
	CHECK(parse_duration_ns("10", &ns) && ns == 10000000); /* ms by default */
	CHECK(parse_duration_ns("5us", &ns) && ns == 5000);
	CHECK(parse_duration_ns("1.5s", &ns) && ns == 1500000000);
	CHECK(parse_duration_ns("0ns", &ns) && ns == 0);
	CHECK(!parse_duration_ns("0x10", &ns));
	CHECK(!parse_duration_ns("-1", &ns));
	CHECK(!parse_duration_ns("", &ns));
	CHECK(!parse_duration_ns("10 ms", &ns));
	CHECK(!parse_duration_ns("10m", &ns));
	CHECK(!parse_duration_ns("1e10s", &ns));
	CHECK(!parse_duration_ns("nan", &ns));

	/* Buckets: exact to 31 ns, then within 1/32, and in order. */
	bool exact = true, close = true, ordered = true;
	for (uint64_t v = 0; v < 32; v++)
		exact &= latency_value(latency_bucket(v)) == v;
	unsigned last = 0;
	for (uint64_t v = 32; v < (1ULL << 40); v += v / 7 + 1) {
		uint64_t mid = latency_value(latency_bucket(v));
		close &= (mid > v ? mid - v : v - mid) * 32 <= v;
		ordered &= latency_bucket(v) >= last;
		last = latency_bucket(v);
	}
	CHECK(exact && close && ordered);
	CHECK(latency_bucket(32) == 32 && latency_bucket(63) == 63 && latency_bucket(64) == 64);
}

/* /proc/locks as the kernel writes it: a holder, its waiters one level in,
 * a waiter blocked by a waiter one more; OFD requests with pid -1. */
static void test_peers(void)
{
	static const char locks[] = "1: POSIX  ADVISORY  WRITE 31329 fe:00:10953034 0 EOF\n"
				    "1: -> POSIX  ADVISORY  WRITE 31372 fe:00:10953034 0 EOF\n"
				    "1:  -> POSIX  ADVISORY  READ 31374 fe:00:10953034 0 EOF\n"
				    "2: FLOCK  ADVISORY  WRITE 31322 fe:00:10953032 0 EOF\n"
				    "2: -> FLOCK  ADVISORY  WRITE 31326 fe:00:10953032 0 EOF\n"
				    "3: OFDLCK ADVISORY  WRITE -1 08:01:77 0 EOF\n"
				    "3: -> OFDLCK ADVISORY  WRITE -1 08:01:77 0 EOF\n";
	struct file_lock_wait w;
	CHECK(peers_parse_locks(locks, 31372, 0xfe, 0, 10953034, &w) == 0 && w.holder == 31329 &&
	      w.write && !strcmp(w.kind, "POSIX"));
	CHECK(peers_parse_locks(locks, 31374, 0xfe, 0, 10953034, &w) == 0 && w.holder == 31329 &&
	      !w.write);
	CHECK(peers_parse_locks(locks, 31326, 0xfe, 0, 10953032, &w) == 0 && w.holder == 31322 &&
	      !strcmp(w.kind, "FLOCK"));
	CHECK(peers_parse_locks(locks, 31329, 0xfe, 0, 10953034, &w) == -1); /* the holder */
	CHECK(peers_parse_locks(locks, 31326, 0xfe, 0, 10953034, &w) == -1); /* another file */
	CHECK(peers_parse_locks(locks, 500, 8, 1, 77, &w) == 0 && w.holder == -1 &&
	      !strcmp(w.kind, "OFDLCK"));
	CHECK(peers_parse_locks("", 1, 0, 0, 1, &w) == -1 &&
	      peers_parse_locks("garbage\n1: ->\n", 1, 0, 0, 1, &w) == -1);

	char out[200];
	CHECK(peers_swap_inet("tcp 127.0.0.1:5000 -> 127.0.0.1:41234", out, sizeof(out)) &&
	      !strcmp(out, "tcp 127.0.0.1:41234 -> 127.0.0.1:5000"));
	CHECK(peers_swap_inet("udp [::1]:53 -> [::1]:9", out, sizeof(out)) &&
	      !strcmp(out, "udp [::1]:9 -> [::1]:53"));
	CHECK(!peers_swap_inet("tcp listen 0.0.0.0:80", out, sizeof(out)) &&
	      !peers_swap_inet("udp 0.0.0.0:68", out, sizeof(out)));

	struct task_stat st;
	CHECK(procfs_parse_stat("12 (a) b) S 7 12 12 0", &st) == 0 && st.ppid == 7 &&
	      st.state == 'S');
}

int main(void)
{
	test_peers();
	test_classify();
	test_durations();
	test_locks();
	test_fds();
	test_call_text();
	test_waitset();
	test_syscall_sets();
	test_stacks();
	test_procfs();
	test_syscalls();
	test_demangle();
	test_symtab();
	test_folded();
	test_json_round_trip();
	return unit_done();
}
