/*
 * commands.h: the subcommands main() dispatches to. Each takes the
 * arguments after its name (argv[0] is the command name) and returns the
 * process exit status.
 */
#ifndef WALLPROF_COMMANDS_H
#define WALLPROF_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_top(int argc, char **argv);

struct view;
struct view_opts;
struct profile;
/* Shared by convert and diff: pick the view from --format or OUT's
 * extension and parse --state; print why and return -1 on failure. */
int convert_parse_view(const char *format, const char *out, const char *states,
		       const struct view **view, struct view_opts *vo);
/* Write p through view to OUT ('-': stdout); prints why on failure. */
int convert_write(const struct view *view, const struct profile *p, const struct view_opts *vo,
		  const char *out);

#endif
