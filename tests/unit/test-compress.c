// SPDX-License-Identifier: GPL-2.0-or-later
/* Compressed page chunks: a round trip through the image stream, and every
 * way a hostile frame must be refused (compress.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
#include <cmocka.h>

#include "compress.h"
#include "image.h"

#define PG 4096u

/* n pages: the first half text-like, the rest pseudo-random */
static unsigned char *pages(size_t n)
{
	unsigned char *p = malloc(n * PG);
	uint64_t x = 88172645463325252ull;

	assert_non_null(p);
	for (size_t i = 0; i < n * PG; i++) {
		if (i < n * PG / 2) {
			p[i] = "the compressible half\n"[i % 22];
			continue;
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* One zstd frame of src, made with the parameters given. */
static size_t frame(void *dst, size_t cap, const void *src, size_t len, int checksum, int size_flag)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t n;

	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum);
	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, size_flag);
	n = ZSTD_compress2(c, dst, cap, src, len);
	ZSTD_freeCCtx(c);
	assert_false(ZSTD_isError(n));
	return n;
}

static void test_chunk_round_trip(void **state)
{
	struct compress_state s = { 0 }, d = { 0 };
	unsigned char *p = pages(16);
	char why[160];
	ssize_t n, m;
	void *z;

	(void)state;
	n = compress_chunk(&s, p, 16 * PG);
	assert_true(n > 0 && n < 16 * PG);
	z = malloc(n);
	memcpy(z, s.buf, n);
	m = decompress_chunk(&d, z, n, 16 * PG, PG, why, sizeof(why));
	assert_int_equal(m, 16 * PG);
	assert_memory_equal(d.buf, p, 16 * PG);
	free(z);
	free(p);
	compress_free(&s);
	compress_free(&d);
}

static void test_hostile_frames(void **state)
{
	size_t cap = ZSTD_compressBound(32 * PG);
	unsigned char *p = pages(32), *z = malloc(cap);
	struct compress_state d = { 0 };
	char why[160];
	size_t n;

	(void)state;
	/* states more than the bound */
	n = frame(z, cap, p, 32 * PG, 1, 1);
	assert_int_equal(decompress_chunk(&d, z, n, 16 * PG, PG, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "stating"));
	/* not whole pages */
	n = frame(z, cap, p, PG + 1, 1, 1);
	assert_int_equal(decompress_chunk(&d, z, n, 16 * PG, PG, why, sizeof(why)), -EBADMSG);
	/* no stated size */
	n = frame(z, cap, p, 2 * PG, 1, 0);
	assert_int_equal(decompress_chunk(&d, z, n, 16 * PG, PG, why, sizeof(why)), -EBADMSG);
	/* no content checksum */
	n = frame(z, cap, p, 2 * PG, 0, 1);
	assert_int_equal(decompress_chunk(&d, z, n, 16 * PG, PG, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "checksum"));
	/* trailing bytes after the frame */
	n = frame(z, cap, p, 2 * PG, 1, 1);
	assert_int_equal(decompress_chunk(&d, z, n + 1, 16 * PG, PG, why, sizeof(why)), -EBADMSG);
	/* cut short */
	assert_int_equal(decompress_chunk(&d, z, n - 3, 16 * PG, PG, why, sizeof(why)), -EBADMSG);
	/* a damaged byte in the middle: the content checksum or the decoder */
	z[n / 2] ^= 0x5a;
	assert_int_equal(decompress_chunk(&d, z, n, 16 * PG, PG, why, sizeof(why)), -EBADMSG);
	/* not zstd at all */
	memset(z, 0, 64);
	assert_int_equal(decompress_chunk(&d, z, 64, 16 * PG, PG, why, sizeof(why)), -EBADMSG);
	free(z);
	free(p);
	compress_free(&d);
}

/* A compressing writer: the compressible chunk becomes ZPAGES, the random
 * one stays PAGES; a reader hands out both as PAGES, identical; a copying
 * reader (raw_pages) sees the ZPAGES record. */
static void test_stream(void **state)
{
	unsigned char *p = pages(32);
	const void *payload;
	struct image_writer w;
	struct image_reader r;
	uint32_t type;
	size_t len;
	int fd[2], ret;
	FILE *tmp = tmpfile();

	(void)state;
	assert_non_null(tmp);
	fd[0] = fileno(tmp);
	image_writer_init(&w, fd[0]);
	image_writer_set_compress(&w, true);
	assert_int_equal(image_write_record(&w, IMG_HEADER, "h", 1), 0);
	assert_int_equal(image_write_record(&w, IMG_PAGES, p, 16 * PG), 0);
	assert_int_equal(image_write_record(&w, IMG_PAGES, p + 16 * PG, 16 * PG), 0);
	assert_int_equal(image_write_tail(&w), 0);
	assert_int_equal(w.pages_in, 32 * PG);
	assert_true(w.pages_out < 24 * PG && w.pages_out > 16 * PG);
	image_writer_free(&w);

	for (int raw = 0; raw < 2; raw++) {
		fd[1] = dup(fd[0]);
		assert_int_equal(lseek(fd[1], 0, SEEK_SET), 0);
		image_reader_init(&r, fd[1]);
		r.raw_pages = raw;
		assert_int_equal(image_read_record(&r, &type, &payload, &len), 1);
		assert_int_equal(type, IMG_HEADER);
		assert_int_equal(image_read_record(&r, &type, &payload, &len), 1);
		assert_int_equal(type, raw ? IMG_ZPAGES : IMG_PAGES);
		if (!raw) {
			assert_int_equal(len, 16 * PG);
			assert_memory_equal(payload, p, 16 * PG);
		}
		assert_int_equal(image_read_record(&r, &type, &payload, &len), 1);
		assert_int_equal(type, IMG_PAGES);
		assert_memory_equal(payload, p + 16 * PG, 16 * PG);
		ret = image_read_record(&r, &type, &payload, &len);
		if (ret != 0)
			fail_msg("tail: %d (%s)", ret, r.error);
		image_reader_free(&r);
		close(fd[1]);
	}
	fclose(tmp);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_round_trip),
		cmocka_unit_test(test_hostile_frames),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
