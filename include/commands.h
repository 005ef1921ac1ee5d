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

#endif
