/*
 * recorder.h: what recording accumulates: interned raw stacks, samples,
 * thread records and the run's own statistics. At the end,
 * recorder_finish() symbolizes the raw stacks and moves everything into a
 * profile.
 */
#ifndef WALLPROF_RECORDER_H
#define WALLPROF_RECORDER_H

#include <stdint.h>

#include "maps.h"
#include "profile.h"
#include "hashmap.h"
#include "stacks.h"

/* Latency histogram of one traced syscall: 32 buckets per power of two,
 * so a percentile read from it is within 1/64 (1.6%) of the true value. */
#define LATENCY_BUCKETS (32 + 59 * 32)
struct syscall_acc {
	uint64_t count, errors, total_ns, max_ns;
	uint32_t *buckets; /* LATENCY_BUCKETS counts, allocated on first use */
};

struct recorder {
	struct stack_table stacks; /* raw lookup addresses, innermost first */
	struct profile_sample *samples; /* kept in memory unless streamed */
	size_t n_samples, cap_samples;
	/* Streaming: rows go to the profile file as they are taken, so a
	 * long recording holds no samples in memory (recorder_stream). */
	FILE *stream;
	uint64_t n_streamed;
	struct profile_thread *threads;
	size_t n_threads, cap_threads;
	struct profile_process *processes;
	size_t n_processes, cap_processes;
	struct syscall_acc stops; /* stop durations: the same histogram, for p50/p99 */
	struct profile_stats stats;

	struct strmap object_ids; /* "kind\tname" -> object id */
	struct profile_object *objects;
	size_t n_objects, cap_objects;
	/* Per object, from its first waiting sample (samples may be streamed
	 * out): a raw stack, to tell the kind of lock, and an owner. */
	uint32_t *object_stack; /* UINT32_MAX: none */
	int32_t *object_owner;
	uint32_t *object_proc; /* the process (tracer proc index) of a lock */
	size_t cap_object_extra;

	/* Exact tracing (--syscalls, --locks). */
	struct syscall_acc *acc; /* SYSCALL_SET_MAX entries once tracing */
	struct profile_event *events; /* kept: longer than threshold_ns */
	size_t n_events, cap_events;
	struct strmap wait_set_ids; /* text -> 1 + index in wait_sets */
	char **wait_sets;
	size_t n_wait_sets, cap_wait_sets;
	uint64_t threshold_ns;
	/* Frames keep their own addresses (symbolize_stacks): dump. */
	bool frames_by_address;
};

void recorder_init(struct recorder *r);
/*
 * From now on write samples to f, the profile file being made, instead of
 * keeping them: writes the document's head and opens its "samples" array.
 * recorder_finish and profile_write_json complete the document.
 */
void recorder_stream(struct recorder *r, FILE *f, const struct profile_head *h);
void recorder_release(struct recorder *r);

/* The title and executable of process pid, as last read (kept when it
 * exits); "" leaves a field as it was. */
void recorder_process(struct recorder *r, int pid, const char *title, const char *exe);

/* A new thread record (tid, first name, first seen). Returns its index. */
uint32_t recorder_thread(struct recorder *r, int tid, int pid, const char *name, uint64_t t_ns);
/* Note a new name for a thread record, if it differs from its last one. */
void recorder_thread_rename(struct recorder *r, uint32_t info, const char *name);

void recorder_sample(struct recorder *r, uint32_t info, uint64_t t_ns, int tid, uint32_t stack,
		     uint8_t state, int16_t syscall, int32_t object, int32_t owner);

/*
 * The id of the object (file, socket, lock) of this kind and name, adding
 * it if new. fd is the descriptor it was seen as (-1 for locks), address
 * the futex word of a lock (0 otherwise), in the address space of process
 * proc (the index of its symbolizer at the end; 0 for files and sockets).
 */
/* The same for a pipe or socket whose other end is recorded process peer
 * (0: none): one object per peer. */
int32_t recorder_object_peer(struct recorder *r, const char *kind, const char *name, int fd,
			     uint64_t address, uint32_t proc, pid_t peer);
int32_t recorder_object(struct recorder *r, const char *kind, const char *name, int fd,
			uint64_t address, uint32_t proc);
/* A traced call on an object: its duration and the bytes it moved. */
void recorder_object_call(struct recorder *r, int32_t object, uint64_t duration_ns, uint64_t read,
			  uint64_t written);

/* Bytes a traced call on another object moved through this one too
 * (sendfile's input file), not counted as a call of its own. */
void recorder_object_bytes(struct recorder *r, int32_t object, uint64_t read, uint64_t written);

/* One finished traced call: counted always, kept if long enough. */
void recorder_syscall(struct recorder *r, const struct profile_event *e);
/* Would an event of this duration be kept (so its stack is wanted)? */
bool recorder_keeps(const struct recorder *r, uint64_t duration_ns);
/* A kept event's wait set ("fd 3 in, fd 7 in|out"), each text stored
 * once: the value for profile_event.wait_set. */
uint32_t recorder_wait_set(struct recorder *r, const char *text);
void recorder_stop_time(struct recorder *r, uint64_t ns);

/*
 * Symbolize and move the recording into p (metadata is the caller's). The
 * profile's stacks are indexed by the recorder's raw stack ids, so samples
 * (kept or already streamed) need no rewriting. A raw stack starts with the
 * index of its process in spaces[].
 */
void recorder_finish(struct recorder *r, struct addrspace *const *spaces, size_t n_spaces,
		     struct profile *p);

/*
 * The latency histogram's buckets: exact below 32 ns, then 32 per power of
 * two (within 1/32 of the value). The bucket of a duration, and the middle
 * of a bucket's range.
 */
unsigned latency_bucket(uint64_t ns);
uint64_t latency_value(unsigned idx);

#endif
