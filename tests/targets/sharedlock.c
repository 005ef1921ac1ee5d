/*
 * sharedlock: a process-shared mutex in shared memory, held by one
 * process and awaited by another, for wait chains across processes.
 *
 * The parent maps a shared page, initialises a PTHREAD_PROCESS_SHARED
 * mutex in it, takes it, forks, prints the child's pid and sleeps 60 s.
 * The child waits for the mutex (a futex wait without the private flag,
 * whose lock word names the parent's thread).
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pthread_mutex_t *m =
		mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return perror("mmap"), 1;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &a);
	pthread_mutex_lock(m);
	pid_t child = fork();
	if (child == 0) {
		pthread_mutex_lock(m); /* until the parent lets go */
		pthread_mutex_unlock(m);
		_exit(0);
	}
	printf("%d\n", (int)child);
	fflush(stdout);
	sleep(60);
	pthread_mutex_unlock(m);
	waitpid(child, NULL, 0);
	return 0;
}
