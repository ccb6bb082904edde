// SPDX-License-Identifier: GPL-2.0-or-later
/* Lazy reads of page payloads (image_lazy.h): a keyed writer ends a page-MAC
 * segment after every page record; a lazy reader leaves chosen payloads in
 * the file, and image_lazy_read gives them back later, in any order, only
 * after their segment's tag matched. Altered payloads, altered tags, images
 * whose segments hold several payloads, and readers without a key are
 * refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <endian.h>

#include "image.h"
#include "image_lazy.h"
#include "image.pb-c.h"
#include "imgtest.h"
#include "mac.h"

#define HDR sizeof(struct image_rec_hdr)
#define PG 4096u

/* The page records of the test image: pages each, and whether their bytes
 * compress (ZPAGES) or not (PAGES). 16 pages and more go through the MAC
 * thread (MACPIPE_MIN), which may run ahead of the writer. */
static const struct {
	size_t pages;
	bool zip;
} recs[] = {
	{ 1, false }, { 16, true }, { 512, false }, { 3, true },
	{ 33, false }, { 1, true }, { 64, true }, { 2, false },
};
#define NRECS (sizeof(recs) / sizeof(recs[0]))

static void fill(unsigned char *buf, size_t k)
{
	size_t len = recs[k].pages * PG;
	uint64_t x = 0x9e3779b97f4a7c15ull * (k + 1);

	for (size_t i = 0; i < len; i++) {
		if (recs[k].zip) {
			buf[i] = (unsigned char)(k * 31 + i / PG);
			continue;
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
}

/* HEADER, a metadata record, then for each of recs a PAGEMAP and its page
 * record, TAIL; shared: the layout before per-record page MACs; bound: the
 * writer's page_seg_bound. */
static int write_image_bound(const struct mac_key *key, bool shared, uint64_t bound)
{
	static unsigned char buf[512 * PG];
	struct image_writer w;
	Ckpt__Img__Header h;
	int fd = imgtest_writer(&w, key);

	imgtest_header(&h);
	w.shared_page_seg = shared;
	w.page_seg_bound = bound;
	image_writer_set_compress(&w, true);
	assert_int_equal(image_write_msg(&w, IMG_HEADER, &h.base), 0);
	assert_int_equal(image_write_record(&w, IMG_TASK, "task", 4), 0);
	assert_int_equal(image_write_mac(&w), 0);
	for (size_t k = 0; k < NRECS; k++) {
		Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;

		pm.vaddr = 0x10000000 + k * (1 << 24);
		pm.nr_pages = recs[k].pages;
		fill(buf, k);
		assert_int_equal(image_write_msg(&w, IMG_PAGEMAP, &pm.base), 0);
		assert_int_equal(image_write_record(&w, IMG_PAGES, buf, recs[k].pages * PG), 0);
	}
	assert_int_equal(image_write_tail(&w), 0);
	image_writer_free(&w);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static int write_image(const struct mac_key *key, bool shared)
{
	return write_image_bound(key, shared, 0);
}

/* The type of the record after the one at off. */
static uint32_t next_type(int fd, off_t *off)
{
	struct image_rec_hdr h;

	assert_int_equal(pread(fd, &h, HDR, *off), (ssize_t)HDR);
	*off += HDR + le64toh(h.length);
	return le32toh(h.type);
}

/* The offset of the nth (from 0) record of type, or of a page record. */
static off_t record_of(int fd, uint32_t type, int nth)
{
	off_t end = lseek(fd, 0, SEEK_END), off = 0, at;

	while (off < end) {
		uint32_t t;

		at = off;
		t = next_type(fd, &off);
		if ((t == type || (type == IMG_PAGES && t == IMG_ZPAGES)) && nth-- == 0)
			return at;
	}
	fail_msg("no record %u", type);
	return -1;
}

/* Read fd in lazy mode, leaving the page records with skip[k] in the file;
 * the others are compared at once. Returns the reader's last result; the
 * extent of page record k in ext[k] (-1: read). */
static int lazy_pass(int fd, const struct mac_key *key, const bool *skip, struct image_lazy **ret_lz, ssize_t *ext,
		     char *err, size_t errlen)
{
	static unsigned char want[512 * PG];
	struct image_reader r;
	const void *p;
	uint32_t type;
	size_t len, k = 0;
	int ret;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	assert_int_equal(image_reader_verify(&r, key, 1), 0);
	assert_int_equal(image_reader_set_lazy(&r, ret_lz), 0);
	assert_int_equal(image_lazy_last(*ret_lz), -1);
	for (;;) {
		if (k < NRECS && skip[k])
			image_reader_skip_next(&r);
		ret = image_read_record(&r, &type, &p, &len);
		if (ret != 1)
			break;
		assert_int_not_equal(type, IMG_ZPAGES);
		if (type == IMG_PAGEMAP) {
			Ckpt__Img__Pagemap *pm = ckpt__img__pagemap__unpack(NULL, len, p);

			/* the MAC after a page record leaves the next record whole */
			assert_non_null(pm);
			assert_true(k < NRECS);
			assert_int_equal(pm->nr_pages, recs[k].pages);
			protobuf_c_message_free_unpacked(&pm->base, NULL);
		}
		if (type != IMG_PAGES)
			continue;
		assert_true(k < NRECS);
		ext[k] = -1;
		if (skip[k]) {
			assert_null(p);
			ext[k] = image_lazy_last(*ret_lz);
			assert_int_equal(ext[k], (ssize_t)image_lazy_count(*ret_lz) - 1);
		} else {
			fill(want, k);
			assert_int_equal(len, recs[k].pages * PG);
			assert_memory_equal(p, want, len);
		}
		k++;
	}
	if (ret == 0) {
		assert_int_equal(k, NRECS);
		assert_true(r.mac_ok);
	}
	snprintf(err, errlen, "%s", r.error);
	image_reader_free(&r);
	return ret;
}

/* Every page record is followed by a MAC or the tail, its own segment. */
static void test_writer_segments(void **state)
{
	struct mac_key key;
	off_t off = 0, end;
	size_t pages = 0, zpages = 0;
	int fd;

	(void)state;
	imgtest_key(&key, 0x61);
	fd = write_image(&key, false);
	end = lseek(fd, 0, SEEK_END);
	while (off < end) {
		uint32_t t = next_type(fd, &off);

		if (t != IMG_PAGES && t != IMG_ZPAGES)
			continue;
		pages += t == IMG_PAGES;
		zpages += t == IMG_ZPAGES;
		assert_true(off < end);
		t = next_type(fd, &off);
		assert_true(t == IMG_MAC || t == IMG_TAIL);
	}
	assert_int_equal(pages + zpages, NRECS);
	assert_true(pages > 0 && zpages > 0);
	close(fd);
	/* the old layout: one segment for all of them */
	fd = write_image(&key, true);
	off = record_of(fd, IMG_PAGES, 0);
	next_type(fd, &off);
	assert_int_equal(next_type(fd, &off), IMG_PAGEMAP);
	close(fd);
}

/* An image with a parent: a segment ends once it holds page_seg_bound
 * bytes, so small page records share one; the eager reader verifies each
 * segment at its MAC, and a flipped payload byte (the chain fixed up, as
 * anyone can) is refused. */
static void test_bounded_segments(void **state)
{
	struct mac_key key;
	struct image_reader r;
	size_t macs = 0, pages = 0;
	off_t off, end;
	const void *p;
	uint32_t type;
	size_t len;
	int fd, ret;

	(void)state;
	imgtest_key(&key, 0x66);
	for (int flipped = 0; flipped < 2; flipped++) {
		fd = write_image_bound(&key, false, 128 * PG);
		end = lseek(fd, 0, SEEK_END);
		off = record_of(fd, IMG_PAGES, 0);
		for (macs = pages = 0; off < end;) {
			uint32_t t = next_type(fd, &off);

			macs += t == IMG_MAC;
			pages += t == IMG_PAGES || t == IMG_ZPAGES;
		}
		assert_int_equal(pages, NRECS);
		/* after the 512 pages, and none after the small ones around */
		assert_true(macs >= 1 && macs < NRECS - 1);
		if (flipped) {
			imgtest_flip(fd, record_of(fd, IMG_PAGES, 4) + HDR + 17);
			imgtest_rechecksum(fd);
		}
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		image_reader_init(&r, fd);
		assert_int_equal(image_reader_verify(&r, &key, 1), 0);
		while ((ret = image_read_record(&r, &type, &p, &len)) == 1)
			;
		if (ret != (flipped ? -EKEYREJECTED : 0))
			fail_msg("flipped %d: %d (%s)", flipped, ret, r.error);
		image_reader_free(&r);
		close(fd);
	}
}

/* Skip every other page record, then read them back in reverse order after
 * the reader and the image's own fd are gone. */
static void test_round_trip(void **state)
{
	static unsigned char want[512 * PG], got[512 * PG];
	bool skip[NRECS];
	ssize_t ext[NRECS];
	struct image_lazy *lz;
	struct mac_key key;
	size_t zipped = 0, plain = 0;
	char err[256];
	int fd;

	(void)state;
	imgtest_key(&key, 0x62);
	for (size_t k = 0; k < NRECS; k++)
		skip[k] = k % 2 == 1 || k == 2;
	fd = write_image(&key, false);
	assert_int_equal(lazy_pass(fd, &key, skip, &lz, ext, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(image_lazy_count(lz), 5);
	for (size_t k = NRECS; k-- > 0;) {
		if (!skip[k])
			continue;
		fill(want, k);
		memset(got, 0xee, sizeof(got));
		assert_int_equal(image_lazy_read(lz, (size_t)ext[k], got, recs[k].pages * PG), 0);
		assert_memory_equal(got, want, recs[k].pages * PG);
		zipped += recs[k].zip;
		plain += !recs[k].zip;
		/* a size its PAGEMAP did not say */
		if (recs[k].pages > 1)
			assert_int_equal(image_lazy_read(lz, (size_t)ext[k], got, (recs[k].pages - 1) * PG), -EPROTO);
	}
	assert_true(zipped > 0 && plain > 0);
	assert_int_equal(image_lazy_read(lz, image_lazy_count(lz), got, PG), -ERANGE);
	image_lazy_free(lz);
}

/* What a PAGEMAP says of a payload left in the file is bounded by the
 * payload's stored length before anything is read: whole pages for PAGES,
 * fewer bytes than the pages for a ZPAGES frame. */
static void test_fits(void **state)
{
	bool skip[NRECS];
	ssize_t ext[NRECS];
	struct image_lazy *lz;
	struct mac_key key;
	char err[256];
	int fd;

	(void)state;
	imgtest_key(&key, 0x66);
	for (size_t k = 0; k < NRECS; k++)
		skip[k] = true;
	fd = write_image(&key, false);
	assert_int_equal(lazy_pass(fd, &key, skip, &lz, ext, err, sizeof(err)), 0);
	close(fd);
	for (size_t k = 0; k < NRECS; k++) {
		size_t i = (size_t)ext[k];

		assert_int_equal(image_lazy_fits(lz, i, recs[k].pages), 0);
		assert_int_equal(image_lazy_fits(lz, i, 0), -EPROTO);
		assert_int_equal(image_lazy_fits(lz, i, IMAGE_MAX_PAGES / PG + 1), -EPROTO);
		/* a frame says its size only when read: a PAGEMAP of more pages
		 * than a frame's stored bytes is left to that read */
		if (!recs[k].zip)
			assert_int_equal(image_lazy_fits(lz, i, recs[k].pages + 1), -EPROTO);
		if (recs[k].pages > 1 && !recs[k].zip)
			assert_int_equal(image_lazy_fits(lz, i, recs[k].pages - 1), -EPROTO);
	}
	assert_int_equal(image_lazy_fits(lz, image_lazy_count(lz), 1), -ERANGE);
	image_lazy_free(lz);
}

/* A flipped payload byte: the lazy pass cannot see it, image_lazy_read
 * refuses it and leaves nothing of it in buf; the eager reader refuses the
 * image as before. */
static void test_flipped_payload(void **state)
{
	static unsigned char want[512 * PG], got[512 * PG];
	bool skip[NRECS];
	ssize_t ext[NRECS];
	struct image_lazy *lz;
	struct mac_key key;
	struct image_reader r;
	const void *p;
	uint32_t type;
	size_t len;
	char err[256];
	int fd, ret;

	(void)state;
	imgtest_key(&key, 0x63);
	for (size_t k = 0; k < NRECS; k++)
		skip[k] = true;
	for (size_t victim = 2; victim <= 3; victim++) {
		fd = write_image(&key, false);
		imgtest_flip(fd, record_of(fd, IMG_PAGES, (int)victim) + HDR + 17);
		assert_int_equal(lazy_pass(fd, &key, skip, &lz, ext, err, sizeof(err)), 0);
		memset(got, 0xaa, sizeof(got));
		assert_int_equal(image_lazy_read(lz, (size_t)ext[victim], got, recs[victim].pages * PG), -EBADMSG);
		for (size_t i = 0; i < recs[victim].pages * PG; i++)
			assert_true(got[i] == 0 || got[i] == 0xaa);
		/* the others are intact */
		fill(want, 1);
		assert_int_equal(image_lazy_read(lz, (size_t)ext[1], got, recs[1].pages * PG), 0);
		assert_memory_equal(got, want, recs[1].pages * PG);
		image_lazy_free(lz);
		/* the eager reader: the chain, and with the chain fixed up, the page MAC */
		for (int fixed = 0; fixed < 2; fixed++) {
			if (fixed)
				imgtest_rechecksum(fd);
			assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
			image_reader_init(&r, fd);
			assert_int_equal(image_reader_verify(&r, &key, 1), 0);
			while ((ret = image_read_record(&r, &type, &p, &len)) == 1)
				;
			/* a ZPAGES frame's own checksum may see it before the MAC */
			if (fixed && !recs[victim].zip)
				assert_int_equal(ret, -EKEYREJECTED);
			else
				assert_true(ret == -EBADMSG || (fixed && ret == -EKEYREJECTED));
			image_reader_free(&r);
		}
		close(fd);
	}
}

/* A flipped byte in the tag a MAC record keeps for a skipped payload: the
 * HMAC refuses it during the lazy pass (the chain fixed up, as anyone can). */
static void test_flipped_tag(void **state)
{
	bool skip[NRECS];
	ssize_t ext[NRECS];
	struct image_lazy *lz;
	struct mac_key key;
	Ckpt__Img__Mac *m;
	unsigned char payload[512];
	unsigned char *at;
	struct image_rec_hdr h;
	char err[256];
	off_t off;
	int fd;

	(void)state;
	imgtest_key(&key, 0x64);
	for (size_t k = 0; k < NRECS; k++)
		skip[k] = true;
	fd = write_image(&key, false);
	off = record_of(fd, IMG_PAGES, 4);
	next_type(fd, &off);
	assert_int_equal(pread(fd, &h, HDR, off), (ssize_t)HDR);
	assert_int_equal(le32toh(h.type), IMG_MAC);
	assert_true(le64toh(h.length) <= sizeof(payload));
	assert_int_equal(pread(fd, payload, le64toh(h.length), off + HDR), (ssize_t)le64toh(h.length));
	m = ckpt__img__mac__unpack(NULL, le64toh(h.length), payload);
	assert_non_null(m);
	assert_int_equal(m->page_tag.len, MAC_PAGE_TAG_LEN);
	at = memmem(payload, le64toh(h.length), m->page_tag.data, MAC_PAGE_TAG_LEN);
	assert_non_null(at);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	imgtest_flip(fd, off + HDR + (at - payload) + 5);
	imgtest_rechecksum(fd);
	assert_int_equal(lazy_pass(fd, &key, skip, &lz, ext, err, sizeof(err)), -EKEYREJECTED);
	assert_non_null(strstr(err, "the MAC does not match"));
	/* nothing of that segment can be read: its tag was never kept */
	assert_int_equal(image_lazy_count(lz), 5);
	{
		static unsigned char got[512 * PG];

		assert_int_equal(image_lazy_read(lz, 4, got, recs[4].pages * PG), -ENODATA);
	}
	image_lazy_free(lz);
	close(fd);
}

/* An image whose segments hold several page payloads (before per-record
 * page MACs): a lazy reader that reads some of them and skips others is
 * refused by name; one that skips them all reads each back, the whole
 * segment verified; the eager reader reads it as ever. */
static void test_old_layout(void **state)
{
	static unsigned char want[512 * PG], got[512 * PG];
	bool skip[NRECS];
	ssize_t ext[NRECS];
	struct image_lazy *lz;
	struct image_reader r;
	struct mac_key key;
	const void *p;
	uint32_t type;
	size_t len;
	char err[256];
	int fd, ret;

	(void)state;
	imgtest_key(&key, 0x65);
	fd = write_image(&key, true);
	for (size_t k = 0; k < NRECS; k++)
		skip[k] = k != 1;
	assert_int_equal(lazy_pass(fd, &key, skip, &lz, ext, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "made before per-record page MACs: restart without --lazy"));
	image_lazy_free(lz);
	for (size_t k = 0; k < NRECS; k++)
		skip[k] = true;
	assert_int_equal(lazy_pass(fd, &key, skip, &lz, ext, err, sizeof(err)), 0);
	for (size_t k = NRECS; k-- > 0;) {
		fill(want, k);
		assert_int_equal(image_lazy_read(lz, (size_t)ext[k], got, recs[k].pages * PG), 0);
		assert_memory_equal(got, want, recs[k].pages * PG);
	}
	image_lazy_free(lz);
	/* one flipped byte anywhere in the segment fails every extent of it */
	imgtest_flip(fd, record_of(fd, IMG_PAGES, 4) + HDR + 3);
	assert_int_equal(lazy_pass(fd, &key, skip, &lz, ext, err, sizeof(err)), 0);
	assert_int_equal(image_lazy_read(lz, (size_t)ext[0], got, recs[0].pages * PG), -EBADMSG);
	image_lazy_free(lz);
	imgtest_rechecksum(fd);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	assert_int_equal(image_reader_verify(&r, &key, 1), 0);
	while ((ret = image_read_record(&r, &type, &p, &len)) == 1)
		;
	assert_int_equal(ret, -EKEYREJECTED);
	image_reader_free(&r);
	close(fd);
}

/* Lazy mode needs a keyed, verifying reader on a regular file, before its
 * first page record. */
/* A lazy reader reads through a window and skips payloads by arithmetic:
 * a file cut inside a skipped payload, inside a header or a record read
 * through the window, or inside the tail is refused as truncated, never
 * read as complete. */
static void test_truncated(void **state)
{
	bool skip[NRECS];
	ssize_t ext[NRECS];
	struct image_lazy *lz;
	struct mac_key key;
	char err[256];

	(void)state;
	imgtest_key(&key, 0x65);
	for (size_t k = 0; k < NRECS; k++)
		skip[k] = k != 3;
	for (int cut = 0; cut < 5; cut++) {
		int fd = write_image(&key, false);
		off_t end = lseek(fd, 0, SEEK_END), at;

		switch (cut) {
		case 0: at = record_of(fd, IMG_PAGES, 2) + HDR + 100; break;   /* a skipped payload */
		case 1: at = record_of(fd, IMG_PAGES, 2) + HDR + 512 * PG; break; /* before the MAC after it */
		case 2: at = record_of(fd, IMG_PAGEMAP, 4) + 5; break;           /* a header */
		case 3: at = record_of(fd, IMG_PAGES, 3) + HDR + 7; break;       /* a payload read */
		default: at = end - 3; break;                                    /* the tail */
		}
		assert_true(at > 0 && at < end);
		assert_int_equal(ftruncate(fd, at), 0);
		assert_true(lazy_pass(fd, &key, skip, &lz, ext, err, sizeof(err)) < 0);
		assert_non_null(strstr(err, "truncated"));
		image_lazy_free(lz);
		close(fd);
	}
}

static void test_refusals(void **state)
{
	struct image_lazy *lz = NULL;
	struct image_reader r;
	struct mac_key key;
	const void *p;
	uint32_t type;
	size_t len;
	int fd, pfd[2], ret;

	(void)state;
	imgtest_key(&key, 0x66);
	fd = write_image(&key, false);
	image_reader_init(&r, fd);
	assert_int_equal(image_reader_set_lazy(&r, &lz), -EPERM);
	image_reader_free(&r);
	image_reader_init(&r, fd);
	assert_int_equal(image_reader_verify(&r, NULL, 0), 0);
	assert_int_equal(image_reader_set_lazy(&r, &lz), -EPERM);
	image_reader_free(&r);
	assert_int_equal(pipe(pfd), 0);
	image_reader_init(&r, pfd[0]);
	assert_int_equal(image_reader_verify(&r, &key, 1), 0);
	assert_int_equal(image_reader_set_lazy(&r, &lz), -ESPIPE);
	image_reader_free(&r);
	close(pfd[0]);
	close(pfd[1]);
	assert_null(lz);
	/* a page record read: its segment may be half read already */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	assert_int_equal(image_reader_verify(&r, &key, 1), 0);
	while ((ret = image_read_record(&r, &type, &p, &len)) == 1 && type != IMG_PAGES)
		;
	assert_int_equal(ret, 1);
	assert_int_equal(image_reader_set_lazy(&r, &lz), -EBUSY);
	image_reader_free(&r);
	/* a skip asked of a reader not in lazy mode reads as ever */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	assert_int_equal(image_reader_verify(&r, &key, 1), 0);
	do {
		image_reader_skip_next(&r);
		ret = image_read_record(&r, &type, &p, &len);
		assert_true(ret != 1 || type != IMG_PAGES || p != NULL);
	} while (ret == 1);
	assert_int_equal(ret, 0);
	image_reader_free(&r);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_segments),
		cmocka_unit_test(test_bounded_segments),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_flipped_payload),
		cmocka_unit_test(test_flipped_tag),
		cmocka_unit_test(test_old_layout),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
