// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: a request of the worker-to-init protocol as the
 * container's init checks it (spawn_check) before it acts on it. Byte 0
 * is the number of fds that came with it, byte 1 what init was told
 * before (bit 0: a pool at fd 64, bits 3-7: its size; bit 1: namespaces
 * set up; bit 2: a task spawned), the rest is the datagram. */
#include "spawn.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spawn_state st = { .pool_base = -1 };
	char why[160];
	int r;

	if (size < 2)
		return 0;
	if (data[1] & 1) {
		st.pool_base = 64;
		st.pool_n = data[1] >> 3;
	}
	st.ns_done = data[1] & 2;
	st.spawned = data[1] & 4;
	/* the datagram ends where the input does: reading past it is caught */
	r = spawn_check(&st, data + 2, size - 2, data[0], why, sizeof(why));
	if (r != 0 && r != -EBADMSG && r != -EINVAL && r != -EBUSY)
		abort();
	if (r < 0 && memchr(why, 0, sizeof(why)) == NULL)
		abort();
	return 0;
}
