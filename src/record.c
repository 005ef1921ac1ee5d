/*
 * record.c: `wallprof record`: its options, the profile's metadata, and the
 * two threads. The main thread parses the options and, once recording has
 * ended, symbolizes and writes the profile (output.c). The tracer thread
 * starts the session (session.c: launch or attach, the tick loop) and,
 * after it, keeps a launched command running to its exit; its own exit
 * detaches the kernel from every tracee without stopping any of them.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "events.h"
#include "output.h"
#include "profile.h"
#include "recorder.h"
#include "session.h"
#include "util.h"
#include "views.h"

#define MAX_PIDS 1024

struct record_opts {
	unsigned frequency_hz;
	double duration_s; /* 0: until the target exits or Ctrl-C */
	const char *output;
	const struct view *view;
	pid_t pids[MAX_PIDS]; /* -p, repeated or comma-separated */
	size_t n_pids;
	char **argv;
	bool quiet;
	struct event_config events; /* method TRACE_NONE unless --syscalls/--locks */
	double max_overhead_pct; /* 0: no limit */
	int realtime; /* SCHED_FIFO priority of the tracer thread, 0: none */
	bool follow_forks; /* -f */
};

struct record {
	struct record_opts opts;
	struct session sess;
	int result; /* exit code if the session failed to start */
	bool started;
	mono_ns duration_ns;
	mono_ns last_status; /* when the status line was last drawn */
	uint64_t start_unix_ns;
	mono_ns end;
	int exit_status_at_end; /* the command's, if it exited while recording; else -1 */
	sem_t recorded; /* posted by the tracer thread when recording ends */
	struct output out;
};

static const char record_usage[] =
	"usage: wallprof record [options] (-p PID | -- COMMAND [ARGS...])\n"
	"\n"
	"Sample every thread of a process, whatever its state (on CPU, runnable,\n"
	"blocked in a syscall, waiting for a lock, sleeping, in disk wait), and\n"
	"write a profile.\n"
	"\n"
	"  -p, --pid PID[,PID...] attach to running processes (all their threads); may\n"
	"                         be repeated. With -f, their children as well\n"
	"  -F, --frequency HZ     samples per second and thread (default 99, 1-10000)\n"
	"  -d, --duration SECS    stop after SECS seconds (default: until exit or Ctrl-C)\n"
	"  -o, --output FILE      where to write (default wallprof-COMM-PID.json)\n"
	"      --format FMT       json, folded, svg, speedscope, trace or pprof\n"
	"                         (default: from FILE's extension: .json, .folded,\n"
	"                         .svg, .speedscope.json, .trace.json, .pb.gz)\n"
	"  -q, --quiet            no status line\n"
	"  -f, --follow-forks     profile the processes it forks too (and theirs):\n"
	"                         each sample's thread carries its pid\n"
	"      --syscalls[=LIST]  trace syscalls exactly: count, latency, arguments,\n"
	"                         and the stack of calls longer than --threshold.\n"
	"                         LIST: names and classes (file, network, io, lock,\n"
	"                         sleep, default, all); default: the blocking calls\n"
	"      --locks            trace futex waits exactly, as lock waits with the\n"
	"                         lock's name and owner\n"
	"      --max-overhead PCT stop no thread for more than PCT% of wall time: over\n"
	"                         it, running threads are sampled without a stop (state\n"
	"                         exact, stack not taken; counted in stops_skipped)\n"
	"  -r, --realtime[=PRIO]  run the sampling thread SCHED_FIFO (priority 1, or PRIO),\n"
	"                         so that busy threads of the target cannot delay its\n"
	"                         ticks (needs root or CAP_SYS_NICE)\n"
	"      --threshold DUR    keep traced calls at least DUR long individually\n"
	"                         (default 1ms; e.g. 250us, 0 for all)\n"
	"  -h, --help             this help\n"
	"\n"
	"A launched command is traced through a seccomp filter: untraced calls run\n"
	"at full speed. An attached process is traced with PTRACE_SYSCALL, which\n"
	"stops every thread at every syscall, as strace does.\n"
	"\n"
	"Ctrl-C, SIGTERM or SIGHUP end recording and the profile is written. An\n"
	"attached process is detached and goes on untouched. A launched command\n"
	"keeps running (it gets the terminal's Ctrl-C itself) and wallprof waits\n"
	"for it; a second Ctrl-C writes the profile at once and ends the command\n"
	"with wallprof.\n"
	"\n"
	"Exit status: a launched command's own status (128+N if killed by signal\n"
	"N); 0 after attaching; 2 if recording failed; 64 for a bad command line;\n"
	"126/127 if COMMAND cannot be run or is not found; 126 also if it is\n"
	"set-user-ID (or set-group-ID, or has file capabilities) and wallprof lacks\n"
	"CAP_SYS_PTRACE: traced, it would run without those privileges.\n";

/* "123", "123,456": add to o->pids. -1 with a message on garbage. */
static int parse_pid_list(const char *arg, struct record_opts *o)
{
	char *copy = xstrdup(arg), *save = NULL;
	int r = 0;
	char *tok = strtok_r(copy, ",", &save);
	if (!tok || strspn(arg, ",") == strlen(arg) || strstr(arg, ",,") ||
	    arg[strlen(arg) - 1] == ',')
		r = error("invalid PID list '%s': expected PID or PID,PID,...", arg);
	for (; tok && !r; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		if (!parse_uint(tok, 1, INT32_MAX, &v))
			r = error("invalid PID '%s'", tok);
		else if (o->n_pids == MAX_PIDS)
			r = error("too many processes: at most %d", MAX_PIDS);
		else
			o->pids[o->n_pids++] = (pid_t)v;
	}
	free(copy);
	return r;
}

static int parse_record_opts(int argc, char **argv, struct record_opts *o)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"frequency", required_argument, NULL, 'F'},
		{"duration", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f' + 512},
		{"quiet", no_argument, NULL, 'q'},
		{"syscalls", optional_argument, NULL, 'S'},
		{"locks", no_argument, NULL, 'L'},
		{"threshold", required_argument, NULL, 'T'},
		{"max-overhead", required_argument, NULL, 'M'},
		{"realtime", optional_argument, NULL, 'r'},
		{"follow-forks", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->frequency_hz = 99;
	o->events.threshold_ns = 1000 * 1000;
	const char *format = NULL;
	uint64_t v;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:F:d:o:qrfh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pid_list(optarg, o) < 0)
				return -1;
			break;
		case 'F':
			if (!parse_uint(optarg, 1, 10000, &v))
				return error("invalid frequency '%s': expected 1 to 10000 Hz",
					     optarg);
			o->frequency_hz = (unsigned)v;
			break;
		case 'd':
			if (!parse_seconds(optarg, &o->duration_s) || o->duration_s < 0.001)
				return error(
					"invalid duration '%s': expected seconds, at least 0.001",
					optarg);
			break;
		case 'o': o->output = optarg; break;
		case 'f' + 512: format = optarg; break;
		case 'q': o->quiet = true; break;
		case 'S': {
			char err[256];
			o->events.syscalls = true;
			if (!optarg)
				syscall_set_default(&o->events.set);
			else if (syscall_set_parse(optarg, &o->events.set, err, sizeof(err)) < 0)
				return error("--syscalls: %s", err);
			break;
		}
		case 'L': o->events.locks = true; break;
		case 'M':
			if (!parse_seconds(optarg, &o->max_overhead_pct) ||
			    o->max_overhead_pct > 50)
				return error("invalid --max-overhead '%s': expected a percentage, "
					     "above 0 and at most 50",
					     optarg);
			break;
		case 'f': o->follow_forks = true; break;
		case 'r':
			/* "-r 5" would run a command named 5: say how it is spelled. */
			if (!optarg && optind < argc && parse_uint(argv[optind], 0, UINT32_MAX, &v))
				return error("-r takes no value; the priority is given as "
					     "--realtime=%s",
					     argv[optind]);
			if (!optarg)
				v = 1;
			else if (!parse_uint(optarg, 1, 99, &v))
				return error("invalid --realtime priority '%s': expected 1 to 99",
					     optarg);
			o->realtime = (int)v;
			break;
		case 'T':
			if (!parse_duration_ns(optarg, &o->events.threshold_ns))
				return error("invalid threshold '%s': expected a duration such as "
					     "1ms, 250us or 0",
					     optarg);
			break;
		case 'h': fputs(record_usage, stdout); exit(EXIT_OK);
		default:
			if (optopt)
				return error("record: option '-%c' %s", optopt,
					     strchr("pFdo", optopt) ? "needs a value"
								    : "is unknown");
			return error("record: unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->argv = argv + optind;
	if (!o->n_pids == !o->argv)
		return error("record: give either -p PID or -- COMMAND");
	if (format) {
		if (!(o->view = view_by_name(format)))
			return error("unknown format '%s' (known: %s)", format, view_names());
	} else if (o->output) {
		o->view = view_by_path(o->output);
		if (!o->view)
			o->view = &view_json;
	} else {
		o->view = &view_json;
	}
	return 0;
}

static char *default_output(struct record *s);

/* ---- the tracer thread ---- */

static void status_line(struct record *s, mono_ns now, bool final)
{
	static bool shown;
	if (s->opts.quiet || !isatty(2))
		return;
	if (final) {
		if (shown && write(2, "\r\033[K", 4) < 0) {
			/* ignore */
		}
		return;
	}
	char buf[160];
	const struct profile_stats *st = &s->sess.rec.stats;
	int n = snprintf(buf, sizeof(buf), "\r\033[Kwallprof: %.1f s, %llu samples, %zu threads",
			 (double)(now - s->sess.tr.start) / 1e9, (unsigned long long)st->samples,
			 s->sess.tr.n_threads);
	if (st->ticks_missed)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ", ticks missed: %llu",
			      (unsigned long long)st->ticks_missed);
	if (write(2, buf, (size_t)n) < 0) {
		/* ignore */
	}
	shown = true;
}

/* After each tick: the duration, the status line, and what is on disk. */
static bool ticked(struct session *sess, mono_ns now, void *ctx)
{
	struct record *s = ctx;
	if (s->duration_ns && now - sess->tr.start >= s->duration_ns)
		return false;
	if (now - s->last_status < 250 * 1000 * 1000ULL)
		return true;
	status_line(s, now, false);
	s->last_status = now;
	/* What is on disk survives even a SIGKILL of wallprof. A write that
	 * fails (disk full, quota, EIO) ends the recording now, with what was
	 * written kept. */
	if (sess->rec.stream && fflush_profile(sess->rec.stream) < 0) {
		error_errno("cannot write '%s'; recording stopped", s->out.path);
		s->out.write_failed = true;
		return false;
	}
	return true;
}

/*
 * The tracer thread: start, record until the end, then (a launched
 * command) keep the command running until it exits while the main thread
 * writes the profile. Returning ends this thread, and with it the kernel
 * detaches what it traced.
 */
static void *tracer_main(void *arg)
{
	struct record *s = arg;
	struct tracer *tr = &s->sess.tr;
	s->result = EXIT_FAILURE_;
	if (session_open_signals(&s->sess) < 0)
		goto fail;
	if (s->opts.realtime && tracer_set_realtime(s->opts.realtime) < 0) {
		error_errno("cannot run at real-time priority %d (needs root or CAP_SYS_NICE)",
			    s->opts.realtime);
		goto fail;
	}
	int r = session_start(&s->sess, s->opts.argv, s->opts.pids, s->opts.n_pids);
	if (r) {
		s->result = r;
		goto fail;
	}
	if (!tr->launched && tr->events && tr->events->method == TRACE_PTRACE)
		tracer_arm_syscalls(tr);
	if (!tr->events && !s->opts.quiet)
		tracer_warn_ptrace_users(tr);
	/* Launch mode: a failure from here on returns with the command
	 * traced with EXITKILL, which ends it with us, as a failed start
	 * would. */
	if (!s->out.path)
		s->out.path = default_output(s);
	struct profile_head head = {s->opts.frequency_hz, realtime_ns(), (int)tr->pid};
	if (output_open(&s->out, s->opts.view, &s->sess.rec, &head) < 0)
		goto fail;
	s->started = true;
	s->result = EXIT_OK;
	s->start_unix_ns = realtime_ns();
	const struct session_ops ops = {.ticked = ticked};
	session_run(&s->sess, &ops, s);
	status_line(s, 0, true);
	s->end = mono_now();
	session_end(&s->sess);
	s->exit_status_at_end = tr->launched && tr->target_exited ? tr->exit_status : -1;
	sem_post(&s->recorded);
	if (tr->launched && !tr->target_exited && !s->opts.quiet)
		warning("recording ended; waiting for the command (pid %d) to exit; "
			"Ctrl-C ends it",
			(int)tr->pid);
	session_finish(&s->sess);
	return NULL;
fail:
	sem_post(&s->recorded);
	return NULL;
}

/* ---- metadata and output ---- */

static void fill_metadata(struct record *s, struct profile *p, mono_ns end)
{
	struct tracer *tr = &s->sess.tr;
	if (s->opts.argv) {
		for (char **a = s->opts.argv; *a; a++)
			p->argc++;
		p->argv = xcalloc((size_t)p->argc + 1, sizeof(char *));
		for (int i = 0; i < p->argc; i++)
			p->argv[i] = xstrdup(s->opts.argv[i]);
	} else {
		p->argc = procfs_read_argv(tracer_io_pid(tr), &p->argv);
	}
	p->pid = tr->pid;
	p->mode = xstrdup(tr->launched ? "launch" : "attach");
	p->start_unix_ns = s->start_unix_ns;
	p->duration_ns = end - tr->start;
	p->frequency_hz = s->opts.frequency_hz;
	struct utsname u;
	if (uname(&u) == 0) {
		p->host = xstrdup(u.nodename);
		p->kernel = xstrdup(u.release);
	}
	p->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	p->version = xstrdup(WALLPROF_VERSION);
	p->exit_status = s->exit_status_at_end;
	const struct event_config *ev = &s->opts.events;
	if (ev->method != TRACE_NONE) {
		p->tracing.syscalls = ev->syscalls;
		p->tracing.locks = ev->locks;
		p->tracing.method = xstrdup(ev->method == TRACE_SECCOMP ? "seccomp"
					    : ev->method == TRACE_WATCH ? "watch"
									: "ptrace");
		p->tracing.threshold_ns = ev->threshold_ns;
		p->tracing.names = xcalloc(SYSCALL_SET_MAX + 1, sizeof(char *));
		if (ev->set.all)
			p->tracing.names[p->tracing.n_names++] = xstrdup("all");
		for (int nr = 0; nr < SYSCALL_SET_MAX && !ev->set.all; nr++)
			if (ev->set.on[nr] && syscall_name(nr))
				p->tracing.names[p->tracing.n_names++] = xstrdup(syscall_name(nr));
	}
}

/* Choose how to trace exactly, and compile the filter. */
static int setup_events(struct record *s)
{
	struct event_config *ev = &s->opts.events;
	if (!ev->syscalls && !ev->locks)
		return 0;
	if (s->opts.n_pids && !ev->syscalls) {
		/* --locks alone, attached: follow the waits the ticks see,
		 * stop at no other call. */
		ev->method = TRACE_WATCH;
	} else if (s->opts.n_pids) {
		ev->method = TRACE_PTRACE;
		if (!s->opts.quiet)
			warning("exact tracing of an attached process stops every thread at every "
				"syscall (PTRACE_SYSCALL, as strace); expect the process to slow down");
	} else if (!events_seccomp_available()) {
		ev->method = TRACE_PTRACE;
		warning("seccomp filters are not available here; tracing with PTRACE_SYSCALL, "
			"which stops at every syscall");
	} else {
		ev->method = TRACE_SECCOMP;
		if (events_compile(ev) < 0)
			return -1;
	}
	events_start(&s->sess.tr, ev);
	s->sess.rec.threshold_ns = ev->threshold_ns;
	return 0;
}

/* wallprof-COMM-PID.EXT, from the process as it is at the start. */
static char *default_output(struct record *s)
{
	char comm[64] = "";
	if (procfs_read_comm(s->sess.tr.pid, s->sess.tr.pid, comm, sizeof(comm)) < 0 || !comm[0])
		snprintf(comm, sizeof(comm), "%s",
			 s->opts.argv ? base_name(s->opts.argv[0]) : "target");
	file_name_safe(comm);
	return xasprintf("wallprof-%s-%d%s", comm, (int)s->sess.tr.pid, s->opts.view->exts[0]);
}

int cmd_record(int argc, char **argv)
{
	struct record *s = xcalloc(1, sizeof(*s));
	if (parse_record_opts(argc, argv, &s->opts) < 0) {
		hint("see 'wallprof record --help'");
		free(s);
		return EXIT_USAGE;
	}
	s->duration_ns = (mono_ns)(s->opts.duration_s * 1e9);

	/* Fail on an unwritable output before touching the target, and
	 * without touching the output: it is opened once the target is ours. */
	if (s->opts.output) {
		if (output_check(s->opts.output) < 0) {
			error_errno("cannot write '%s'", s->opts.output);
			free(s);
			return EXIT_FAILURE_;
		}
		s->out.path = xstrdup(s->opts.output);
	}
	if (!s->opts.output && access(".", W_OK) < 0) {
		error_errno("cannot write a profile in the current directory");
		hint("give a writable path with -o FILE");
		free(s);
		return EXIT_FAILURE_;
	}

	session_init(&s->sess, s->opts.frequency_hz);
	s->sess.tr.max_overhead = s->opts.max_overhead_pct / 100.0;
	s->sess.tr.follow_forks = s->opts.follow_forks;
	if (setup_events(s) < 0) {
		output_release(&s->out);
		session_release(&s->sess);
		free(s);
		return EXIT_FAILURE_;
	}
	session_block_signals(&s->sess);

	sem_init(&s->recorded, 0, 0);
	pthread_t th;
	if (pthread_create(&th, NULL, tracer_main, s) != 0)
		die(EXIT_FAILURE_, "cannot start the tracer thread");
	while (sem_wait(&s->recorded) < 0 && errno == EINTR)
		;
	bool joined = false;
	if (!s->started || !s->sess.tr.launched) {
		/* Attach mode: the tracer thread is about to exit, which
		 * detaches; wait for that, then let a further Ctrl-C end
		 * wallprof at once while it writes. */
		pthread_join(th, NULL);
		joined = true;
		pthread_sigmask(SIG_SETMASK, &s->sess.orig_mask, NULL);
	}

	int code = s->result;
	if (s->started) {
		struct profile p;
		profile_init(&p);
		fill_metadata(s, &p, s->end);
		struct addrspace **spaces = tracer_spaces(&s->sess.tr);
		recorder_finish(&s->sess.rec, spaces, s->sess.tr.n_procs, &p);
		free(spaces);
		code = output_write(&s->out, &p, s->opts.quiet) < 0 || s->out.write_failed
			       ? EXIT_FAILURE_
			       : EXIT_OK;
		profile_release(&p);
	}
	if (!joined)
		pthread_join(th, NULL); /* launch mode: until the command exits */
	if (s->started && code == EXIT_OK && s->sess.tr.launched)
		code = s->sess.tr.target_exited ? s->sess.tr.exit_status : 128 + SIGINT;
	if (s->started && s->sess.tr.launched && s->sess.tr.term_signal &&
	    s->sess.tr.term_signal != SIGINT && s->sess.tr.term_signal != SIGTERM &&
	    s->sess.tr.term_signal != SIGHUP)
		/* The shell would have said so for the command itself. */
		warning("the command (pid %d) was killed by signal %d (%s)", (int)s->sess.tr.pid,
			s->sess.tr.term_signal, strsignal(s->sess.tr.term_signal));
	output_release(&s->out);
	session_release(&s->sess);
	events_config_release(&s->opts.events);
	free(s);
	return code;
}
