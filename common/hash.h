// SPDX-License-Identifier: GPL-2.0-or-later
/* Fast non-cryptographic 64-bit checksum for image integrity (several GB/s). */
#pragma once
#include <stddef.h>
#include <stdint.h>

uint64_t ckpt_hash64(const void *data, size_t len, uint64_t seed);

/* Incremental form: feed pieces, then finish; equals ckpt_hash64 of the concatenation. */
struct ckpt_hash_state {
	uint64_t v[4];
	uint64_t seed;
	uint64_t total;
	unsigned char buf[32];
	size_t buffered;
};
void ckpt_hash_init(struct ckpt_hash_state *s, uint64_t seed);
void ckpt_hash_update(struct ckpt_hash_state *s, const void *data, size_t len);
uint64_t ckpt_hash_final(const struct ckpt_hash_state *s);
