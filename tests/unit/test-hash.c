// SPDX-License-Identifier: GPL-2.0-or-later
/* ckpt_hash64 is XXH64: published vectors, and incremental == one-shot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hash.h"

#define PRIME32 2654435761ull
#define PRIME64 11400714785074694797ull
#define SANITY_LEN 4096

/* xxHash's own sanity buffer: bytes from a multiplicative generator. */
static unsigned char *sanity_buffer(void)
{
	unsigned char *b = malloc(SANITY_LEN);
	uint64_t g = PRIME32;

	assert_non_null(b);
	for (size_t i = 0; i < SANITY_LEN; i++) {
		b[i] = (unsigned char)(g >> 56);
		g *= PRIME64;
	}
	return b;
}

static void test_strings(void **state)
{
	assert_int_equal(ckpt_hash64("", 0, 0), 0xEF46DB3751D8E999ull);
	assert_int_equal(ckpt_hash64(NULL, 0, 0), 0xEF46DB3751D8E999ull);
	assert_int_equal(ckpt_hash64("a", 1, 0), 0xD24EC4F1A98C6E5Bull);
	assert_int_equal(ckpt_hash64("abc", 3, 0), 0x44BC2CF5AD770999ull);
	assert_int_equal(ckpt_hash64("xxhash", 6, 0), 0x32DD38952C4BC720ull);
	assert_int_equal(ckpt_hash64("Nobody inspects the spammish repetition", 39, 0), 0xFBCEA83C8A378BF1ull);
}

static void test_sanity_buffer(void **state)
{
	static const struct { size_t len; uint64_t seed, want; } v[] = {
		{ 0, 0, 0xEF46DB3751D8E999ull },   { 0, PRIME32, 0xAC75FDA2929B17EFull },
		{ 1, 0, 0xE934A84ADB052768ull },   { 1, PRIME32, 0x5014607643A9B4C3ull },
		{ 14, 0, 0x8282DCC4994E35C8ull },  { 14, PRIME32, 0xC3BD6BF63DEB6DF0ull },
		{ 222, 0, 0xB641AE8CB691C174ull }, { 222, PRIME32, 0x20CB8AB7AE10C14Aull },
		{ 4096, 0, 0xAB77F4AF85F4E70Bull }, { 4096, PRIME32, 0xCB8B60CBA513125Dull },
	};
	unsigned char *b = sanity_buffer();

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct ckpt_hash_state s;

		assert_int_equal(ckpt_hash64(b, v[i].len, v[i].seed), v[i].want);
		ckpt_hash_init(&s, v[i].seed);
		ckpt_hash_update(&s, b, v[i].len);
		assert_int_equal(ckpt_hash_final(&s), v[i].want);
	}
	free(b);
}

/* Every length 0..600, random split points, unaligned starts. */
static void test_incremental(void **state)
{
	unsigned char *b = sanity_buffer();

	srand(12345);
	for (size_t len = 0; len <= 600; len++) {
		for (int round = 0; round < 4; round++) {
			size_t start = (size_t)rand() % 8;
			uint64_t seed = round == 0 ? 0 : ((uint64_t)rand() << 32) ^ (uint64_t)rand();
			struct ckpt_hash_state s;
			size_t off = 0;

			ckpt_hash_init(&s, seed);
			while (off < len) {
				size_t n = (size_t)rand() % (round == 3 ? 3 : 70);

				n = n > len - off ? len - off : n;
				ckpt_hash_update(&s, b + start + off, n);
				off += n;
			}
			assert_int_equal(ckpt_hash_final(&s), ckpt_hash64(b + start, len, seed));
		}
	}
	free(b);
}

/* A few MiB, as the image writer feeds pages: random splits from 1 byte to
 * 1 MiB, unaligned, must give the one-shot hash of the whole. */
static void test_incremental_large(void **state)
{
	const size_t len = (3u << 20) + 17;
	unsigned char *b = malloc(len + 8);
	uint64_t x = 0x9E3779B97F4A7C15ull;

	assert_non_null(b);
	for (size_t i = 0; i < len + 8; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;   /* xorshift64 */
		b[i] = (unsigned char)x;
	}
	srand(777);
	for (int round = 0; round < 6; round++) {
		size_t start = (size_t)round, off = 0;
		uint64_t seed = (uint64_t)round * PRIME64;
		struct ckpt_hash_state s;

		ckpt_hash_init(&s, seed);
		while (off < len) {
			size_t n = round % 2 ? (size_t)rand() % (1u << 20) + 1 : (size_t)rand() % 100;

			n = n > len - off ? len - off : n;
			ckpt_hash_update(&s, b + start + off, n);
			off += n;
		}
		assert_int_equal(ckpt_hash_final(&s), ckpt_hash64(b + start, len, seed));
	}
	free(b);
}

/* final() doesn't consume the state: more data may follow. */
static void test_final_is_a_peek(void **state)
{
	unsigned char *b = sanity_buffer();
	struct ckpt_hash_state s;

	ckpt_hash_init(&s, 7);
	ckpt_hash_update(&s, b, 100);
	assert_int_equal(ckpt_hash_final(&s), ckpt_hash64(b, 100, 7));
	ckpt_hash_update(&s, b + 100, 1000);
	assert_int_equal(ckpt_hash_final(&s), ckpt_hash64(b, 1100, 7));
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_sanity_buffer),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_incremental_large),
		cmocka_unit_test(test_final_is_a_peek),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
