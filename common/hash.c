// SPDX-License-Identifier: GPL-2.0-or-later
/* XXH64, written from its public description: four 64-bit lanes of
 * multiply-rotate over 32-byte stripes, the lanes merged, the tail folded in
 * 8, 4 and 1 bytes at a time, then an avalanche. Output matches the reference
 * XXH64 for the same input and seed, so images can be checked by other tools. */
#include <string.h>

#include "hash.h"

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Unaligned little-endian loads; memcpy compiles to one mov on x86_64. */
static inline uint64_t read64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? v : __builtin_bswap64(v);
}

static inline uint32_t read32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? v : __builtin_bswap32(v);
}

static inline uint64_t hash_round(uint64_t acc, uint64_t input)
{
	acc += input * P2;
	acc = rotl64(acc, 31);
	return acc * P1;
}

static inline uint64_t hash_merge(uint64_t acc, uint64_t val)
{
	acc ^= hash_round(0, val);
	return acc * P1 + P4;
}

static void lanes_init(uint64_t v[4], uint64_t seed)
{
	v[0] = seed + P1 + P2;
	v[1] = seed + P2;
	v[2] = seed;
	v[3] = seed - P1;
}

/* Consume whole stripes; returns the bytes consumed (a multiple of 32). */
static size_t lanes_stripes(uint64_t v[4], const unsigned char *p, size_t len)
{
	uint64_t v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3];
	const unsigned char *start = p, *end = p + (len & ~(size_t)31);

	while (p < end) {
		v0 = hash_round(v0, read64(p));
		v1 = hash_round(v1, read64(p + 8));
		v2 = hash_round(v2, read64(p + 16));
		v3 = hash_round(v3, read64(p + 24));
		p += 32;
	}
	v[0] = v0, v[1] = v1, v[2] = v2, v[3] = v3;
	return (size_t)(p - start);
}

static uint64_t lanes_merge(const uint64_t v[4])
{
	uint64_t h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18);

	for (int i = 0; i < 4; i++)
		h = hash_merge(h, v[i]);
	return h;
}

/* Fold in the last < 32 bytes and avalanche. */
static uint64_t hash_finish(uint64_t h, const unsigned char *p, size_t len)
{
	while (len >= 8) {
		h ^= hash_round(0, read64(p));
		h = rotl64(h, 27) * P1 + P4;
		p += 8, len -= 8;
	}
	if (len >= 4) {
		h ^= (uint64_t)read32(p) * P1;
		h = rotl64(h, 23) * P2 + P3;
		p += 4, len -= 4;
	}
	while (len--) {
		h ^= (uint64_t)*p++ * P5;
		h = rotl64(h, 11) * P1;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

uint64_t ckpt_hash64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h;

	if (len >= 32) {
		uint64_t v[4];
		size_t done;

		lanes_init(v, seed);
		done = lanes_stripes(v, p, len);
		h = lanes_merge(v);
		p += done;
		h += len;
		return hash_finish(h, p, len - done);
	}
	h = seed + P5 + len;
	return hash_finish(h, p, len);
}

void ckpt_hash_init(struct ckpt_hash_state *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	lanes_init(s->v, seed);
}

void ckpt_hash_update(struct ckpt_hash_state *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	if (!len)
		return;
	s->total += len;
	if (s->buffered) {
		/* top up the partial stripe first */
		n = sizeof(s->buf) - s->buffered;
		if (n > len)
			n = len;
		memcpy(s->buf + s->buffered, p, n);
		s->buffered += n;
		p += n, len -= n;
		if (s->buffered < sizeof(s->buf))
			return;
		lanes_stripes(s->v, s->buf, sizeof(s->buf));
		s->buffered = 0;
	}
	n = lanes_stripes(s->v, p, len);
	p += n, len -= n;
	memcpy(s->buf, p, len);
	s->buffered = len;
}

uint64_t ckpt_hash_final(const struct ckpt_hash_state *s)
{
	uint64_t h;

	if (s->total >= 32)
		h = lanes_merge(s->v);
	else
		h = s->seed + P5;
	h += s->total;
	return hash_finish(h, s->buf, s->buffered);
}
