/*
 * seesaw: a CPU-bound thread whose stack goes deep and comes back, as a
 * compiler's does: each round recurses to a depth drawn between 1 and 4000
 * frames (about 200 KiB), burns about a millisecond there, and returns.
 * Every stack a sampler takes runs from burn() down to main().
 *
 * usage: seesaw SECONDS
 * Prints "seesaw: N rounds" and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned burn(unsigned x)
{
	double end = now() + 0.001;
	while (now() < end)
		for (int i = 0; i < 1000; i++)
			x = x * 1103515245u + 12345u;
	return x;
}

__attribute__((noinline)) static unsigned descend(int depth, unsigned x)
{
	volatile char frame[32] = {(char)depth};
	if (depth == 0)
		return burn(x) + (unsigned)frame[0];
	return descend(depth - 1, x + 1) + (unsigned)frame[0];
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seesaw SECONDS\n");
		return 2;
	}
	double end = now() + atof(argv[1]);
	unsigned x = 1, rounds = 0;
	srand(1);
	while (now() < end) {
		x = descend(1 + rand() % 4000, x);
		rounds++;
	}
	printf("seesaw: %u rounds\n", rounds + (x & 0) );
	return 0;
}
