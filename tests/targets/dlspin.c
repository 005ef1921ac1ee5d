/*
 * dlspin: a program that loads a library late and runs in it, for
 * test_trust. usage: dlspin LIBRARY SECONDS
 * Sleeps 0.5 s, dlopens LIBRARY (this same file built with -DAS_LIBRARY,
 * -shared and -z execstack: glibc then makes the main stack executable,
 * which splits its mapping), and spins in its dlspin_work for SECONDS.
 * Prints "done" and exits 0.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifdef AS_LIBRARY
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) double dlspin_work(double secs)
{
	volatile double x = 0;
	double end = now() + secs;
	while (now() < end)
		for (int i = 0; i < 10000; i++)
			x += i * 0.5;
	return x;
}
#else
int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: dlspin LIBRARY SECONDS\n");
		return 2;
	}
	usleep(500000);
	void *h = dlopen(argv[1], RTLD_NOW);
	double (*work)(double) = h ? (double (*)(double))dlsym(h, "dlspin_work") : NULL;
	if (!work) {
		fprintf(stderr, "dlspin: %s\n", dlerror());
		return 1;
	}
	work(atof(argv[2]));
	printf("done\n");
	return 0;
}
#endif
