/*
 * fuzz_bytes: the byte-string escapes on arbitrary bytes. For any string
 * without a NUL: bytes_escape gives valid UTF-8 that bytes_unescape turns
 * back into the same bytes; printable gives valid UTF-8 with no control
 * character (C0, DEL or C1); file_name_safe leaves no slash, space,
 * backslash or control byte. bytes_unescape of anything must not crash.
 * A broken property aborts, and libFuzzer reports the input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8; with controls false, also no control character (C0, DEL
 * or C1): what a terminal may be given. */
static bool valid(const unsigned char *s, bool controls)
{
	while (*s) {
		unsigned char c = *s;
		size_t n = c < 0x80		? 1
			   : (c & 0xe0) == 0xc0 ? 2
			   : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4
						: 0;
		if (!n || (!controls &&
			   (c < 0x20 || c == 0x7f || (c == 0xc2 && s[1] >= 0x80 && s[1] < 0xa0))))
			return false;
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return false;
		s += n;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	char *u = bytes_unescape(s); /* arbitrary input */
	free(u);

	size_t len = strlen(s); /* up to the first NUL: a C string */
	char *e = bytes_escape(s);
	char *back = bytes_unescape(e);
	if (!valid((const unsigned char *)e, true) || strcmp(back, s))
		abort(); /* not UTF-8, or the round trip lost or changed a byte */
	free(back);
	free(e);

	char buf[4 * 4096 + 1], small[17];
	if (len <= 4096 && !valid((const unsigned char *)printable(s, buf, sizeof(buf)), false))
		abort(); /* a control character or a bad byte reached the text */
	const char *cut = printable(s, small, sizeof(small));
	if (!valid((const unsigned char *)cut, false) || (cut == small && strlen(small) > 16))
		abort(); /* cut inside a character, or past the buffer */

	char *name = strdup(s);
	file_name_safe(name);
	if (!valid((const unsigned char *)name, false) || strpbrk(name, "/ \\"))
		abort();
	free(name);
	free(s);
	return 0;
}
