/*
 * sandbox: a program with a seccomp filter of its own that hands two calls
 * to a tracer (SECCOMP_RET_TRACE): getppid, and nanosleep, which wallprof
 * --syscalls traces too. With no tracer to handle them they fail with
 * ENOSYS (seccomp(2)), and so they must under wallprof: a profiler that let
 * them run would have opened the program's sandbox. It then sleeps in
 * clock_nanosleep five times (allowed, and traced by wallprof --syscalls),
 * prints what each call did and exits 0 if both trapped calls failed with
 * ENOSYS.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int install_filter(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_nanosleep, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(insns) / sizeof(insns[0]), insns};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static const char *outcome(long r)
{
	return r == -1 && errno == ENOSYS ? "ENOSYS" : r == -1 ? strerror(errno) : "ran";
}

int main(void)
{
	if (install_filter() < 0) {
		perror("sandbox: seccomp");
		return 2;
	}
	long a = syscall(SYS_getppid);
	const char *ppid = outcome(a);
	struct timespec ts = {0, 1000};
	long b = syscall(SYS_nanosleep, &ts, NULL);
	const char *sleep = outcome(b);
	struct timespec ms = {0, 2 * 1000 * 1000};
	for (int i = 0; i < 5; i++)
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
	printf("getppid=%s nanosleep=%s\n", ppid, sleep);
	return strcmp(ppid, "ENOSYS") || strcmp(sleep, "ENOSYS");
}
