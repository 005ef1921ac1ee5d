/*
 * ids: prints its real and effective user and group ids. Installed
 * set-user-ID by a test, it shows whether the privilege took effect.
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("uid %d euid %d gid %d egid %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	       (int)getegid());
	return 0;
}
