/*
 * fuzz_profile: the profile reader on arbitrary bytes. It must reject what
 * is not a valid profile with a reason and never crash, leak or read out of
 * bounds (built with ASan and UBSan by `make fuzz`).
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-profile", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		char path[64], err[256];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		struct profile p;
		if (profile_read_json(path, &p, err, sizeof(err)) == 0)
			profile_release(&p);
	}
	close(fd);
	return 0;
}
