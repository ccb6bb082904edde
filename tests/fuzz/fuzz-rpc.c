// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: a request datagram as ckptd decodes it (protobuf-c
 * with the rpc.proto descriptors), then packed again: what a client can
 * make ckptd parse before any handler runs. */
#include "rpc.pb-c.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ckpt__Rpc__Request *req = ckpt__rpc__request__unpack(NULL, size, data);
	Ckpt__Rpc__Response *resp;
	uint8_t *buf;
	size_t len;

	if (req) {
		len = ckpt__rpc__request__get_packed_size(req);
		buf = malloc(len ? len : 1);
		if (!buf || ckpt__rpc__request__pack(req, buf) != len)
			abort();
		free(buf);
		ckpt__rpc__request__free_unpacked(req, NULL);
	}
	/* and the answers a client decodes */
	resp = ckpt__rpc__response__unpack(NULL, size, data);
	if (resp)
		ckpt__rpc__response__free_unpacked(resp, NULL);
	return 0;
}
