/*
 * top.c: `wallprof top`, a live view like py-spy top: every thread with
 * what it is doing now, and the functions taking the wall-clock time over
 * the last interval and since the start. It samples exactly as record does
 * (same tracer, sampler and recorder) in a single thread that also draws
 * the screen and reads keys; stacks are symbolized as they first appear,
 * between ticks, and cached.
 *
 * Keys: q quit; o on-CPU only / all states; s sort by last interval /
 * total; i self / inclusive time.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "hashmap.h"
#include "recorder.h"
#include "sampler.h"
#include "symbols.h"
#include "tally.h"
#include "states.h"
#include "session.h"
#include "tracer.h"
#include "util.h"
#include "views.h"

static const char top_usage[] =
	"usage: wallprof top [options] (-p PID | -- COMMAND [ARGS...])\n"
	"\n"
	"A live view of where a process's wall-clock time goes, refreshed every\n"
	"second: each thread's state and what it waits on, and the functions\n"
	"taking the time over the last interval and in total.\n"
	"\n"
	"  -p, --pid PID          attach to a running process\n"
	"  -F, --frequency HZ     samples per second and thread (default 99)\n"
	"  -i, --interval SECS    refresh interval (default 1)\n"
	"  -h, --help             this help\n"
	"\n"
	"Keys: q quit; o on-CPU only or all states; s sort by the last interval\n"
	"or the total; i self or inclusive time.\n"
	"\n"
	"Exit status: 0 after attaching; a launched command's own status;\n"
	"2 cannot attach or start; 64 bad command line.\n";

struct fn_stat {
	uint64_t recent, total;
	bool wait; /* a call or lock waited in (off-CPU self time), not a function */
};

struct top {
	struct session sess;
	struct symbolizer *sym;
	unsigned refreshes_seen; /* addrspace refreshes when sym was built */
	const struct addrspace *as_seen; /* the one sym was built from */
	size_t drawn; /* samples already counted */
	struct tally fns; /* the names of fn[] */
	struct fn_stat *fn;
	size_t cap_stat;
	bool oncpu_only, by_total, inclusive;
	uint64_t interval_counted, total_counted; /* samples counted, for inclusive shares */
	struct u64map busy; /* tid -> on-CPU or runnable samples of the last interval */
	unsigned hz;
	double interval_s;
	uint64_t missed_drawn; /* ticks missed by the last redraw */
	struct termios saved;
	bool raw;
};

static struct top *active; /* for restoring the terminal at exit */

static void restore_terminal(void)
{
	if (active && active->raw) {
		tcsetattr(0, TCSANOW, &active->saved);
		active->raw = false;
		fputs("\033[?25h", stdout); /* cursor back */
		fflush(stdout);
	}
}

static void raw_terminal(struct top *t)
{
	if (!isatty(0) || tcgetattr(0, &t->saved) < 0)
		return;
	struct termios raw = t->saved;
	raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO); /* keep ISIG: Ctrl-C still quits */
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSANOW, &raw) == 0) {
		t->raw = true;
		atexit(restore_terminal);
	}
}

static struct fn_stat *fn_of(struct top *t, const char *name)
{
	size_t known = t->fns.n;
	uint32_t i = tally_add(&t->fns, name, 0);
	if (t->fns.n > known) {
		GROW(t->fn, t->cap_stat, t->fns.n);
		t->fn[i] = (struct fn_stat){0, 0, false};
	}
	return &t->fn[i];
}

/* Count the samples recorded since the last draw. */
static void absorb(struct top *t)
{
	struct addrspace *as = &t->sess.tr.main->as;
	if (!t->sym || as != t->as_seen || as->refreshes != t->refreshes_seen) {
		symbolizer_free(t->sym);
		t->sym = symbolizer_new(as);
		t->as_seen = as;
		t->refreshes_seen = as->refreshes;
	}
	for (size_t i = 0; i < t->fns.n; i++)
		t->fn[i].recent = 0;
	t->interval_counted = 0;
	u64map_release(&t->busy);
	u64map_init(&t->busy);
	for (size_t k = t->drawn; k < t->sess.rec.n_samples; k++) {
		const struct profile_sample *s = &t->sess.rec.samples[k];
		uint32_t b = 0;
		u64map_get(&t->busy, (uint64_t)(uint32_t)s->tid, &b);
		u64map_put(&t->busy, (uint64_t)(uint32_t)s->tid,
			   b + (s->state == ST_ONCPU || s->state == ST_RUNNABLE));
		if (t->oncpu_only && s->state != ST_ONCPU)
			continue;
		t->interval_counted++;
		t->total_counted++;
		struct raw_stack rs = raw_stack_get(&t->sess.rec.stacks, s->stack);
		char label[96];
		if (s->state != ST_ONCPU && !t->inclusive) {
			/* Off-CPU self time belongs to the call waited in. */
			struct fn_stat *f = fn_of(t, sample_leaf_label(s, label, sizeof(label)));
			f->recent++;
			f->total++;
			f->wait = true;
			continue;
		}
		const char *names[64];
		size_t n = 0;
		for (uint32_t j = 0; j < rs.n && j < (t->inclusive ? 64u : 1u); j++)
			names[n++] = symbolize_function(t->sym, rs.ips[j]);
		n = unique_names(names, n);
		for (size_t j = 0; j < n; j++) {
			struct fn_stat *f = fn_of(t, names[j]);
			f->recent++;
			f->total++;
		}
	}
	/* Counted: a live view keeps totals, not samples, so memory stays
	 * flat however long it runs. */
	t->sess.rec.n_samples = 0;
	t->drawn = 0;
}

static int by_stat(const void *a, const void *b, void *ctx)
{
	const struct top *t = ctx;
	const struct fn_stat *x = &t->fn[*(const size_t *)a];
	const struct fn_stat *y = &t->fn[*(const size_t *)b];
	uint64_t kx = t->by_total ? x->total : x->recent;
	uint64_t ky = t->by_total ? y->total : y->recent;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	return (x->total < y->total) - (x->total > y->total);
}

static int by_busy(const void *a, const void *b, void *ctx)
{
	const struct top *t = ctx;
	const struct thread *x = *(const struct thread *const *)a,
			    *y = *(const struct thread *const *)b;
	uint32_t bx = 0, by = 0;
	u64map_get(&t->busy, (uint64_t)(uint32_t)x->tid, &bx);
	u64map_get(&t->busy, (uint64_t)(uint32_t)y->tid, &by);
	if (bx != by)
		return bx < by ? 1 : -1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int term_rows(void)
{
	struct winsize ws;
	return ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 5 ? ws.ws_row : 40;
}

static void draw(struct top *t, mono_ns now)
{
	absorb(t);
	int rows = term_rows();
	char dur[32];
	printf("\033[H\033[2J\033[?25l");
	/* Behind if ticks were missed since the last redraw, not ever. */
	uint64_t missed = t->sess.rec.stats.ticks_missed;
	printf("wallprof top: pid %d, %s, %zu threads, %llu samples at %u Hz%s\n",
	       (int)t->sess.tr.pid, fmt_duration(dur, sizeof(dur), now - t->sess.tr.start),
	       t->sess.tr.n_threads, (unsigned long long)t->sess.rec.stats.samples, t->hz,
	       missed > t->missed_drawn ? " (falling behind)" : "");
	t->missed_drawn = missed;
	printf("showing %s, %s time, sorted by %s   [o] states  [i] self/inclusive  [s] sort  "
	       "[q] quit\n\n",
	       t->oncpu_only ? "on-CPU only" : "all states", t->inclusive ? "inclusive" : "self",
	       t->by_total ? "total" : "last interval");
	/* Threads: what each is doing at its latest sample, the busiest of
	 * the last interval first; half the screen at most. */
	size_t n_th = 0;
	const struct thread **th = xmalloc((t->sess.tr.n_threads + 1) * sizeof(*th));
	for (size_t i = 0; i < t->sess.tr.n_threads; i++)
		if (!t->sess.tr.threads[i]->foreign && t->sess.tr.threads[i]->smp->have_last)
			th[n_th++] = t->sess.tr.threads[i];
	qsort_r(th, n_th, sizeof(*th), by_busy, t);
	int budget = (rows - 6) / 2;
	printf("%-8s %-16s %6s  %s\n", "TID", "THREAD", "BUSY", "NOW");
	size_t shown_th = 0;
	for (; shown_th < n_th && (int)shown_th < budget; shown_th++) {
		const struct thread *h = th[shown_th];
		struct profile_sample s = {0,
					   h->tid,
					   h->smp->last_stack,
					   h->smp->last.state,
					   h->smp->last.syscall,
					   h->smp->last.object,
					   h->smp->last.owner};
		char state[96], obj[200] = "";
		if (h->smp->last.object >= 0 &&
		    (size_t)h->smp->last.object < t->sess.rec.n_objects) {
			const struct profile_object *o = &t->sess.rec.objects[h->smp->last.object];
			char *name =
				o->address && t->sym ? symbolize_data(t->sym, o->address) : NULL;
			snprintf(obj, sizeof(obj), " on %s", name ? name : o->name);
			free(name);
		}
		uint32_t busy = 0;
		u64map_get(&t->busy, (uint64_t)(uint32_t)h->tid, &busy);
		printf("%-8d %-16.16s %6u  %s%s\n", (int)h->tid, h->comm, busy,
		       sample_state_text(&s, state, sizeof(state)), obj);
	}
	if (shown_th < n_th)
		printf("... %zu more threads, less busy\n", n_th - shown_th);
	free(th);
	/* Shares: of the samples counted (self time adds up to 100%; an
	 * inclusive share is of the samples whose stack holds the function).
	 * Functions, then apart the calls and waits off-CPU time went to. */
	uint64_t interval_samples = 0, total = 0;
	for (size_t i = 0; i < t->fns.n; i++) {
		interval_samples += t->fn[i].recent;
		total += t->fn[i].total;
	}
	if (t->inclusive) {
		interval_samples = t->interval_counted;
		total = t->total_counted;
	}
	size_t *idx = xmalloc((t->fns.n + 1) * sizeof(*idx));
	for (size_t i = 0; i < t->fns.n; i++)
		idx[i] = i;
	qsort_r(idx, t->fns.n, sizeof(*idx), by_stat, t);
	uint64_t denom_recent = interval_samples ? interval_samples : 1;
	int lines = rows - 6 - (int)shown_th - (shown_th < n_th) - 4;
	if (lines < 6)
		lines = 6;
	for (int wait = 0; wait < 2; wait++) {
		printf("\n%8s %8s %8s  %s\n", "LAST %", "TOTAL %", "SAMPLES",
		       wait ? "WAITING IN (off-CPU: the call or lock)" : "FUNCTION");
		int left = wait ? lines / 3 : lines - lines / 3;
		for (size_t k = 0; k < t->fns.n && left > 0; k++) {
			const struct fn_stat *f = &t->fn[idx[k]];
			if (f->wait != wait || (!f->recent && !f->total))
				continue;
			printf("%7.1f%% %7.1f%% %8llu  %s\n",
			       100.0 * (double)f->recent / (double)denom_recent,
			       100.0 * (double)f->total / (double)(total ? total : 1),
			       (unsigned long long)(t->by_total ? f->total : f->recent),
			       t->fns.names[idx[k]]);
			left--;
		}
	}
	free(idx);
	fflush(stdout);
}

/* Keys: returns false to quit. A redraw follows any key. */
static bool handle_keys(struct top *t)
{
	char buf[32];
	ssize_t n = read(0, buf, sizeof(buf));
	for (ssize_t i = 0; i < n; i++) {
		switch (buf[i]) {
		case 'q': return false;
		case 'o': t->oncpu_only = !t->oncpu_only; break;
		case 's': t->by_total = !t->by_total; break;
		case 'i': t->inclusive = !t->inclusive; break;
		default: break;
		}
	}
	/* Counts depend on the view: the totals start again. */
	for (size_t i = 0; i < t->fns.n; i++)
		t->fn[i].recent = t->fn[i].total = 0;
	t->total_counted = 0;
	return true;
}

/* The refresh timer or a key: redraw, or quit on q. */
static bool ready(struct session *sess, int fd, void *ctx)
{
	(void)sess;
	struct top *t = ctx;
	uint64_t x;
	if (fd == 0 && !handle_keys(t))
		return false;
	if (fd != 0 && read(fd, &x, sizeof(x)) != (ssize_t)sizeof(x))
		return true;
	draw(t, mono_now());
	return true;
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"frequency", required_argument, NULL, 'F'},
		{"interval", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct top *t = xcalloc(1, sizeof(*t));
	t->hz = 99;
	t->interval_s = 1;
	pid_t pid = 0;
	uint64_t v;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:F:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_uint(optarg, 1, INT32_MAX, &v)) {
				error("invalid PID '%s'", optarg);
				free(t);
				return EXIT_USAGE;
			}
			pid = (pid_t)v;
			break;
		case 'F':
			if (!parse_uint(optarg, 1, 1000, &v)) {
				error("invalid frequency '%s': expected 1 to 1000 Hz", optarg);
				free(t);
				return EXIT_USAGE;
			}
			t->hz = (unsigned)v;
			break;
		case 'i':
			if (!parse_seconds(optarg, &t->interval_s) || t->interval_s < 0.05) {
				error("invalid interval '%s': expected seconds, at least 0.05",
				      optarg);
				free(t);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(top_usage, stdout);
			free(t);
			return EXIT_OK;
		default:
			error("top: unknown or incomplete option '%s'", argv[optind - 1]);
			hint("see 'wallprof top --help'");
			free(t);
			return EXIT_USAGE;
		}
	}
	char **cmd = optind < argc ? argv + optind : NULL;
	if (!pid == !cmd) {
		error("top: give either -p PID or -- COMMAND");
		hint("see 'wallprof top --help'");
		free(t);
		return EXIT_USAGE;
	}
	session_init(&t->sess, t->hz);
	session_block_signals(&t->sess);
	t->fns.own_names = true;
	u64map_init(&t->busy);
	int code = session_open_signals(&t->sess) < 0 ? EXIT_FAILURE_ : EXIT_OK;
	if (code == EXIT_OK)
		code = session_start(&t->sess, cmd, &pid, 1);
	if (code == EXIT_OK) {
		active = t;
		raw_terminal(t);
		int redraw = session_timer((uint64_t)(t->interval_s * 1e9));
		struct session_ops ops = {{redraw, 0}, t->raw ? 2 : 1, ready, NULL};
		draw(t, mono_now());
		session_run(&t->sess, &ops, t);
		close(redraw);
		restore_terminal();
		printf("\n");
		/* Like record: a launched command runs on to its end. */
		session_end(&t->sess);
		code = session_finish(&t->sess);
	}
	symbolizer_free(t->sym);
	tally_release(&t->fns);
	free(t->fn);
	u64map_release(&t->busy);
	session_release(&t->sess);
	active = NULL;
	free(t);
	return code;
}
