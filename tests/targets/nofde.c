/*
 * nofde: a busy loop in code no unwind table covers: top-level assembly
 * without CFI, so no FDE of .eh_frame spans it. A stripped copy of this
 * binary is what tests/test_trust.py names frames in.
 *
 * usage: nofde ROUNDS   (each round 10 million iterations of the loop)
 */
#include <stdlib.h>

__asm__(".text\n"
	".globl nofde_spin\n"
	".type nofde_spin, @function\n"
	"nofde_spin:\n"
	"1: dec %rdi\n"
	"   jnz 1b\n"
	"   ret\n"
	".size nofde_spin, .-nofde_spin\n");

void nofde_spin(long n);

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 100;
	for (long i = 0; i < rounds; i++)
		nofde_spin(10000000);
	return 0;
}
