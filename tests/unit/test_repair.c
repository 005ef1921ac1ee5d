/*
 * test_repair: repair.c on a real tracee. A child writes 1 MiB with one
 * blocking write into a pipe already full; the test interrupts it the way
 * the sampler does and checks what repair.c makes of each stop:
 *
 *  - the stop as it looks once the kernel has set the cut write up to run
 *    again (rip back on the syscall instruction, rax back to the call's
 *    number, 1 for write): not a write of one byte, nothing to repair. A
 *    second interrupt right after an exit stop that showed -ERESTARTSYS
 *    sees exactly that, and continuing it moved rip back twice, into the
 *    instruction before: the target died of SIGSEGV;
 *  - a write cut after moving part of its buffer: continued, and the
 *    program's one write returns the whole MiB, every byte in order.
 *
 * And which stops after an interrupt are checked at all
 * (tracer_stop_is_ours), stop sequence by stop sequence.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "profile.h"
#include "repair.h"
#include "tracer.h"
#include "unit.h"

#define TOTAL (1 << 20)
#define ERESTARTSYS_ 512

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

/* The child: fill the pipe, then one write of TOTAL bytes; its exit status
 * says whether that write returned TOTAL. */
static void writer(int wfd)
{
	static unsigned char buf[TOTAL];
	int fl = fcntl(wfd, F_GETFL);
	fcntl(wfd, F_SETFL, fl | O_NONBLOCK);
	unsigned char zero[4096] = {0};
	while (write(wfd, zero, sizeof(zero)) > 0)
		;
	fcntl(wfd, F_SETFL, fl);
	for (size_t i = 0; i < TOTAL; i++)
		buf[i] = pattern(i);
	ssize_t n = write(wfd, buf, TOTAL);
	_exit(n == TOTAL ? 0 : 1);
}

/* Wait until pid sleeps in write(2). */
static bool blocked_in_write(pid_t pid)
{
	for (int i = 0; i < 2000; i++) {
		struct task_stat st;
		char path[64], text[256] = "";
		snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(text, sizeof(text), f))
				text[0] = '\0';
			fclose(f);
		}
		if (procfs_read_stat(pid, pid, &st) == 0 && st.state == 'S' &&
		    !strncmp(text, "1 ", 2))
			return true;
		usleep(1000);
	}
	return false;
}

/* Interrupt pid and wait for the stop; its registers in *regs. */
static bool interrupt(pid_t pid, struct user_regs_struct *regs, int *event, int *sig)
{
	int status;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 || waitpid(pid, &status, __WALL) != pid ||
	    !WIFSTOPPED(status))
		return false;
	*sig = WSTOPSIG(status);
	*event = (int)((unsigned)status >> 16);
	return ptrace(PTRACE_GETREGS, pid, 0, regs) == 0;
}

/* Read what the pipe has, up to limit bytes, checking it against the
 * pattern from *off on (the zeros that filled it first are skipped); true
 * if the data is right. */
static bool drain(int rfd, size_t limit, size_t *zeros, size_t *off)
{
	unsigned char buf[65536];
	ssize_t n;
	bool ok = true;
	while (limit && (n = read(rfd, buf, limit < sizeof(buf) ? limit : sizeof(buf))) > 0) {
		limit -= (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			if (*zeros) {
				ok = ok && buf[i] == 0;
				(*zeros)--;
				continue;
			}
			ok = ok && buf[i] == pattern(*off);
			(*off)++;
		}
	}
	return ok;
}

enum { ENTRY = PTRACE_SYSCALL_INFO_ENTRY, EXIT = PTRACE_SYSCALL_INFO_EXIT };

/* A stop of t after the events before it: 1 if checked, 0 if not. */
static int stop(struct thread *t, int event, int op)
{
	return tracer_stop_is_ours(t, event, op) ? 1 : 0;
}

static void test_ours(void)
{
	struct thread t = {0};
	int none = PTRACE_SYSCALL_INFO_NONE;
	/* Running or blocked in an untraced call: the interrupt stop. */
	tracer_interrupt_sent(&t);
	CHECK(stop(&t, PTRACE_EVENT_STOP, none) == 1 && stop(&t, PTRACE_EVENT_SECCOMP, none) == 0);
	/* A traced call cut: its exit stop; the restarted call after it is
	 * not ours, its exit included. */
	tracer_interrupt_sent(&t);
	CHECK(stop(&t, 0, EXIT) == 1);
	CHECK(stop(&t, 0, ENTRY) == 0 && stop(&t, PTRACE_EVENT_SECCOMP, none) == 0 &&
	      stop(&t, 0, EXIT) == 0);
	/* Answered at a call's entry: that call's exit is ours, after its
	 * seccomp stop too; the next call is not. */
	tracer_interrupt_sent(&t);
	CHECK(stop(&t, 0, ENTRY) == 1 && stop(&t, PTRACE_EVENT_SECCOMP, none) == 1 &&
	      stop(&t, 0, EXIT) == 1);
	CHECK(stop(&t, PTRACE_EVENT_SECCOMP, none) == 0 && stop(&t, 0, EXIT) == 0);
	/* An exit stop under way when the interrupt was sent: the interrupt
	 * stop that follows shows the same call, and is not checked again. */
	tracer_interrupt_sent(&t);
	CHECK(stop(&t, 0, EXIT) == 1 && stop(&t, PTRACE_EVENT_STOP, none) == 0);
	/* A signal stop under way: the stop after it is ours. */
	tracer_interrupt_sent(&t);
	CHECK(stop(&t, 0, none) == 1 && stop(&t, PTRACE_EVENT_STOP, none) == 1 &&
	      stop(&t, 0, none) == 0);
	/* A signal stop or a clone event that took the trap: a call entered
	 * after it (in the handler, in user code) is not ours to its exit. */
	tracer_interrupt_sent(&t);
	CHECK(stop(&t, 0, none) == 1 && stop(&t, 0, ENTRY) == 1 && stop(&t, 0, EXIT) == 0);
	tracer_interrupt_sent(&t);
	CHECK(stop(&t, PTRACE_EVENT_CLONE, none) == 1 &&
	      stop(&t, PTRACE_EVENT_SECCOMP, none) == 1 && stop(&t, 0, EXIT) == 0);
}

int main(void)
{
	test_ours();
	int p[2];
	if (pipe(p) < 0)
		return 2;
	size_t filled = (size_t)fcntl(p[1], F_GETPIPE_SZ);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		writer(p[1]);
	}
	close(p[1]);
	CHECK(ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD) == 0);
	CHECK(blocked_in_write(pid));

	struct profile_stats stats = {0};
	struct repair r = {.pid = pid, .tid = pid, .stats = &stats};
	struct user_regs_struct regs;
	int event = 0, sig = 0;
	CHECK(interrupt(pid, &regs, &event, &sig));
	CHECK(event == PTRACE_EVENT_STOP && sig == SIGTRAP);
	/* Nothing moved yet: the kernel restarts the write by itself. */
	CHECK((long)regs.orig_rax == 1 && (long)regs.rax == -ERESTARTSYS_);
	CHECK(!repair_after_interrupt(&r, &regs, event, sig));

	/* The same stop, as a second one sees it once the restart is set up:
	 * the registers are made here as the kernel makes them (rip back on
	 * the syscall instruction, rax the call's number); the code they point
	 * at is the child's. And as restart_syscall would be set up. */
	struct user_regs_struct restarted = regs;
	restarted.rip -= 2;
	restarted.rax = restarted.orig_rax;
	CHECK(!repair_after_interrupt(&r, &restarted, PTRACE_EVENT_STOP, SIGTRAP));
	restarted.rax = SYS_restart_syscall;
	CHECK(!repair_after_interrupt(&r, &restarted, PTRACE_EVENT_STOP, SIGTRAP));
	CHECK(r.kind == REPAIR_NONE && stats.eintr_risk == 0);

	/* Let part of the MiB go, then cut the write again: it returns that
	 * part unless continued. */
	CHECK(ptrace(PTRACE_CONT, pid, 0, 0) == 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	size_t zeros = filled, off = 0;
	bool data_ok = true;
	for (int i = 0; i < 2000 && (zeros || off == 0); i++) {
		data_ok &= drain(p[0], zeros + 4096 - off, &zeros, &off);
		usleep(1000);
	}
	CHECK(off > 0 && off < TOTAL);
	CHECK(blocked_in_write(pid));
	CHECK(interrupt(pid, &regs, &event, &sig));
	CHECK((long)regs.orig_rax == 1 && (long)regs.rax > 0 && (long)regs.rax < TOTAL);
	CHECK(repair_after_interrupt(&r, &regs, event, sig));
	CHECK(r.kind == REPAIR_CONTINUED);

	/* Follow it to its end, draining the pipe meanwhile. */
	int req = repair_resume_request(&r, PTRACE_CONT);
	CHECK(req == PTRACE_SYSCALL);
	ptrace(req, pid, 0, 0);
	int status = 0;
	for (;;) {
		data_ok &= drain(p[0], SIZE_MAX, &zeros, &off);
		pid_t w = waitpid(pid, &status, __WALL | WNOHANG);
		if (w == 0) {
			usleep(200);
			continue;
		}
		if (w != pid || !WIFSTOPPED(status))
			break;
		event = (int)((unsigned)status >> 16);
		sig = WSTOPSIG(status);
		if (r.kind != REPAIR_NONE)
			repair_follow(&r, event, sig);
		bool deliver = event == 0 && sig != (SIGTRAP | 0x80);
		ptrace(repair_resume_request(&r, PTRACE_CONT), pid, 0, deliver ? sig : 0);
	}
	data_ok &= drain(p[0], SIZE_MAX, &zeros, &off);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(off == TOTAL && data_ok);
	CHECK(stats.transfers_continued == 1 && stats.eintr_risk == 0);
	return unit_done();
}
