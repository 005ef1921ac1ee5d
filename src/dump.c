/*
 * dump.c: `wallprof dump -p PID`, one snapshot of every thread, like
 * eu-stack or py-spy dump (procdump.h), and with --chain the wait chains
 * that leave the process (chain.h).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "chain.h"
#include "commands.h"
#include "procdump.h"
#include "util.h"

static const char dump_usage[] =
	"usage: wallprof dump -p PID [--chain] [--json]\n"
	"\n"
	"Print every thread of a running process now: its state, the syscall it\n"
	"is blocked in, and its stack with demangled names, inlined frames and\n"
	"file:line. Threads blocked in a syscall are read without being stopped;\n"
	"running threads are stopped only for their registers and stack.\n"
	"\n"
	"  -p, --pid PID   the process\n"
	"  -c, --chain     follow each wait to the process and thread that can end\n"
	"                  it (pipes, Unix and TCP/UDP sockets on this host, file\n"
	"                  locks, shared mutexes, children), and name deadlocks\n"
	"                  across processes\n"
	"  -j, --json      JSON instead of text\n"
	"  -h, --help      this help\n"
	"\n"
	"Exit status: 0 every thread shown; 1 some threads could not be read;\n"
	"2 cannot attach; 64 bad command line.\n";

int cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"chain", no_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	pid_t pid = 0;
	bool json = false, chain = false;
	uint64_t v;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:cjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_uint(optarg, 1, INT32_MAX, &v)) {
				error("invalid PID '%s'", optarg);
				return EXIT_USAGE;
			}
			pid = (pid_t)v;
			break;
		case 'c': chain = true; break;
		case 'j': json = true; break;
		case 'h': fputs(dump_usage, stdout); return EXIT_OK;
		default:
			error("dump: unknown or incomplete option '%s'", argv[optind - 1]);
			hint("see 'wallprof dump --help'");
			return EXIT_USAGE;
		}
	}
	if (!pid || optind != argc) {
		error("dump: give -p PID and nothing else");
		hint("see 'wallprof dump --help'");
		return EXIT_USAGE;
	}

	struct dump_proc d;
	int code = procdump_take(pid, &d, NULL, 0);
	if (code)
		return code;
	struct chain *ch = chain ? chain_walk(&d) : NULL;
	if (json) {
		json_t *root = procdump_json(&d);
		if (ch)
			chain_add_json(ch, root);
		json_dumpf(root, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(root);
	} else {
		procdump_print_text(&d);
		if (ch)
			chain_print_text(ch);
	}
	code = d.p.n_samples >= d.n_threads ? EXIT_OK
	       : d.p.n_samples		    ? EXIT_PARTIAL
					    : EXIT_FAILURE_;
	if (code != EXIT_OK)
		warning("%zu of %zu threads could not be read (they exited meanwhile, or /proc "
			"refused)",
			d.n_threads - d.p.n_samples, d.n_threads);
	if (d.late)
		warning("%zu of %zu threads did not stop within 0.5 s (a long uninterruptible "
			"wait): shown with the state /proc gave, without their stack",
			d.late, d.n_threads);
	chain_free(ch);
	procdump_release(&d);
	return code;
}
