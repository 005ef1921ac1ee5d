/*
 * chain.h: wait chains across processes. From the blocked threads of a
 * process, each wait is followed to the process and thread that can end
 * it, on this host, with ptrace and /proc alone: a pipe's other end, a
 * Unix socket's peer, the local end of a TCP or UDP connection, a lock's
 * owner (inside the process, or in shared memory), a file lock's holder, a
 * child waited for. Each process reached is snapshot in turn (procdump.h)
 * and its own waits followed, up to CHAIN_MAX_PROCS processes. A wait
 * that leads nowhere visible ends its chain with the reason; cycles are
 * named as deadlocks wherever they close. docs/chains.md describes the
 * links and their evidence.
 */
#ifndef WALLPROF_CHAIN_H
#define WALLPROF_CHAIN_H

#include <jansson.h>

#include "procdump.h"

/* Processes snapshot at most in one walk, the first included. */
#define CHAIN_MAX_PROCS 32

struct chain;

/* Walk the chains from the threads of start (which stays the caller's). */
struct chain *chain_walk(struct dump_proc *start);
void chain_free(struct chain *c);

/* The chains and deadlocks as text, after the start's own dump. */
void chain_print_text(const struct chain *c);
/* Into the start's JSON object: "chains", "processes" (the others' own
 * dumps), and the cycles across processes appended to "deadlocks". */
void chain_add_json(const struct chain *c, json_t *root);

#endif
