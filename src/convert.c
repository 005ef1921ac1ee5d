/*
 * convert.c: `wallprof convert FILE -o OUT`, a profile to another format:
 * folded stacks, an interactive SVG flame graph, speedscope, Chrome trace
 * events (Perfetto), pprof. The format comes from --format or OUT's
 * extension; the views live in src/views/.
 */
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "profile.h"
#include "util.h"
#include "views.h"

static const char convert_usage[] =
	"usage: wallprof convert [options] FILE -o OUT\n"
	"\n"
	"Write a recorded profile in another format, chosen by --format or by\n"
	"OUT's extension:\n"
	"  .svg               interactive flame graph (click to zoom, search)\n"
	"  .speedscope.json   speedscope (https://www.speedscope.app)\n"
	"  .trace.json        Chrome trace events (Perfetto UI, chrome://tracing)\n"
	"  .pb.gz             pprof (go tool pprof, Pyroscope, Parca)\n"
	"  .folded, .txt      folded stacks (flamegraph.pl, inferno)\n"
	"  .json              the wallprof profile itself\n"
	"\n"
	"  -o, --output OUT       where to write ('-' for standard output)\n"
	"      --format FMT       json, folded, svg, speedscope, trace or pprof\n"
	"      --threads          flame graph: one root per thread\n"
	"      --state LIST       only samples in these states: on-cpu, runnable,\n"
	"                         syscall, lock, sleep, disk, stopped, other,\n"
	"                         off-cpu (all but on-cpu and runnable), io\n"
	"  -h, --help             this help\n"
	"\n"
	"Exit status: 0 success; 2 unreadable profile or output; 64 bad command line.\n";

/* Options shared with diff: --format, --threads, --state. */
int convert_parse_view(const char *format, const char *out, const char *states,
		       const struct view **view, struct view_opts *vo)
{
	if (format) {
		if (!(*view = view_by_name(format)))
			return error("unknown format '%s' (known: %s)", format, view_names());
	} else if (!out || !strcmp(out, "-") || !(*view = view_by_path(out))) {
		return error("cannot tell the format of '%s' from its extension; give --format "
			     "(%s)",
			     out ? out : "-", view_names());
	}
	if (states && view_parse_states(states, &vo->state_mask) < 0)
		return error("invalid --state '%s': expected states such as on-cpu, syscall, lock, "
			     "sleep, disk, off-cpu, io",
			     states);
	return 0;
}

int convert_write(const struct view *view, const struct profile *p, const struct view_opts *vo,
		  const char *out)
{
	bool to_stdout = !strcmp(out, "-");
	/* A failed write removes the output only if it made it: never a file
	 * that was there, a symlink or a device (as root, /dev/full). */
	struct stat st;
	bool made = !to_stdout && lstat(out, &st) < 0 && errno == ENOENT;
	/* Only the native profile is gzipped by its name: .pb.gz is pprof's
	 * own compression. */
	FILE *f = to_stdout	       ? stdout
		  : view == &view_json ? fopen_profile(out, "w")
				       : fopen(out, "w");
	if (!f)
		return error_errno("cannot write '%s'", out);
	int r = view->write(p, vo, f);
	if (to_stdout ? fflush(f) != 0 : fclose(f) != 0)
		r = -1;
	if (r < 0) {
		error_errno("cannot write '%s'", out);
		if (to_stdout)
			clearerr(stdout); /* said once: not again at exit */
		if (made && lstat(out, &st) == 0 && S_ISREG(st.st_mode))
			unlink(out);
	}
	return r;
}

int cmd_convert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
		{"threads", no_argument, NULL, 't'},	  {"state", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *out = NULL, *format = NULL, *states = NULL;
	struct view_opts vo = {0};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'f': format = optarg; break;
		case 't': vo.per_thread = true; break;
		case 's': states = optarg; break;
		case 'h': fputs(convert_usage, stdout); return EXIT_OK;
		default:
			error("convert: unknown or incomplete option '%s'", argv[optind - 1]);
			hint("see 'wallprof convert --help'");
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !out) {
		error("convert: give one profile and -o OUT");
		hint("see 'wallprof convert --help'");
		return EXIT_USAGE;
	}
	const struct view *view = NULL;
	if (convert_parse_view(format, out, states, &view, &vo) < 0)
		return EXIT_USAGE;
	struct profile p;
	char err[256];
	if (profile_read_json(argv[optind], &p, err, sizeof(err)) < 0) {
		error("cannot read profile '%s': %s", argv[optind], err);
		return EXIT_FAILURE_;
	}
	int r = convert_write(view, &p, &vo, out);
	profile_release(&p);
	return r < 0 ? EXIT_FAILURE_ : EXIT_OK;
}
