/*
 * main.c: parse the command name and hand over to it. docs/architecture.md
 * follows a sample from the tick to the report, module by module.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "commands.h"
#include "util.h"

static const char usage[] =
	"usage: wallprof COMMAND [options]\n"
	"\n"
	"A wall-clock profiler for Linux that needs only ptrace: it samples every\n"
	"thread whether it runs or waits, and says where the time went.\n"
	"\n"
	"commands:\n"
	"  record   sample a process (-p PID) or a command (-- CMD) into a profile\n"
	"  report   print where the wall-clock time went, from a profile\n"
	"  dump     one snapshot of every thread of a live process: state, stack\n"
	"  convert  a profile to a flame graph (svg), speedscope, Chrome trace or pprof\n"
	"  diff     what grew and what shrank between two profiles\n"
	"  top      a live view of a process, refreshed every second\n"
	"\n"
	"'wallprof COMMAND --help' describes each; man wallprof has the details.\n"
	"\n"
	"Exit status: 0 success; 1 partial (some threads unreadable); 2 failure;\n"
	"64 bad command line; record of a command returns the command's status.\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{"record", cmd_record},	  {"report", cmd_report}, {"dump", cmd_dump},
	{"convert", cmd_convert}, {"diff", cmd_diff},	  {"top", cmd_top},
};

static void raise_fd_limit(void)
{
	/* Three /proc files are kept open per thread of the target. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * What a command printed must have reached its destination: a full disk, a
 * closed pipe reader or /dev/full is a failure (exit 2), said in one line,
 * not a silent success with half a report.
 */
static int finish_stdout(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		error_errno("cannot write the output");
		return EXIT_FAILURE_;
	}
	return code;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		fputs(usage, stdout);
		return finish_stdout(EXIT_OK);
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
		printf("wallprof %s\n", WALLPROF_VERSION);
		return EXIT_OK;
	}
	raise_fd_limit();
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return finish_stdout(commands[i].run(argc - 1, argv + 1));
	error("unknown command '%s'", name);
	hint("commands are record, report, dump, convert, diff and top; see 'wallprof --help'");
	return EXIT_USAGE;
}
