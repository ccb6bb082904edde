// SPDX-License-Identifier: GPL-2.0-or-later
/* The image stream: round trips through a file and a pipe, and every way a
 * damaged or hostile stream must be refused. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "image.h"
#include "image.pb-c.h"
#include "imgtest.h"

#define BIG_PAGES (10u << 20)
#define SMALL_PAGES 4096u
#define HDR sizeof(struct image_rec_hdr)

/* Offsets of the records of a sample image, and its bytes. */
struct sample {
	unsigned char *data;
	size_t len;
	size_t off[8];
	size_t n;
};

static unsigned char *pattern(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 16);
	}
	return p;
}

static int mem_fd(void)
{
	int fd = memfd_create("image", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static int fd_from(const void *data, size_t len)
{
	int fd = mem_fd();

	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static size_t fd_pos(int fd)
{
	return (size_t)lseek(fd, 0, SEEK_CUR);
}

static int write_header(struct image_writer *w)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;

	h.format_version = IMAGE_FORMAT_VERSION;
	h.arch = "x86_64";
	h.page_size = 4096;
	h.container = "unit";
	h.has_task_count = true;
	h.task_count = 1;
	return image_write_msg(w, IMG_HEADER, &h.base);
}

static int write_file(struct image_writer *w, uint32_t id, const char *path)
{
	Ckpt__Img__File f = CKPT__IMG__FILE__INIT;

	f.id = id;
	f.kind = CKPT__IMG__FILE_KIND__FILE_REG;
	f.path = (char *)path;
	f.flags = O_RDWR;
	return image_write_msg(w, IMG_FILE, &f.base);
}

static int write_pagemap(struct image_writer *w, uint64_t vaddr, uint64_t n)
{
	Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;

	pm.vaddr = vaddr;
	pm.nr_pages = n;
	return image_write_msg(w, IMG_PAGEMAP, &pm.base);
}

/* HEADER, FILE, PAGEMAP, PAGES, FILE, TAIL */
static void write_stream(int fd, const unsigned char *pages, size_t pages_len, size_t *off)
{
	struct image_writer w;

	image_writer_init(&w, fd);
	if (off)
		off[0] = (size_t)w.offset;
	assert_int_equal(write_header(&w), 0);
	if (off)
		off[1] = (size_t)w.offset;
	assert_int_equal(write_file(&w, 1, "/tmp/a"), 0);
	if (off)
		off[2] = (size_t)w.offset;
	assert_int_equal(write_pagemap(&w, 0x7f0000000000ull, pages_len / 4096), 0);
	if (off)
		off[3] = (size_t)w.offset;
	assert_int_equal(image_write_record(&w, IMG_PAGES, pages, pages_len), 0);
	if (off)
		off[4] = (size_t)w.offset;
	assert_int_equal(write_file(&w, 2, "/tmp/b"), 0);
	if (off)
		off[5] = (size_t)w.offset;
	assert_int_equal(image_write_tail(&w), 0);
	if (off)
		off[6] = (size_t)w.offset;
	assert_true(w.ended);
	assert_int_equal(w.records, 6);
	/* the tail sends out every record gathered before it */
	assert_int_equal(fd_pos(fd), w.offset);
	image_writer_free(&w);
}

/* Read the stream back and check every record. */
static void read_stream(int fd, const unsigned char *pages, size_t pages_len)
{
	static const uint32_t want[] = { IMG_HEADER, IMG_FILE, IMG_PAGEMAP, IMG_PAGES, IMG_FILE };
	struct image_reader r;
	const void *payload;
	uint32_t type;
	size_t len;

	image_reader_init(&r, fd);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int ret = image_read_record(&r, &type, &payload, &len);

		if (ret != 1)
			fail_msg("record %zu: %d (%s)", i, ret, r.error);
		assert_int_equal(type, want[i]);
		if (type == IMG_HEADER) {
			Ckpt__Img__Header *h = image_unpack(&r, &ckpt__img__header__descriptor, payload, len);

			assert_non_null(h);
			assert_int_equal(h->format_version, IMAGE_FORMAT_VERSION);
			assert_string_equal(h->arch, "x86_64");
			assert_string_equal(h->container, "unit");
			protobuf_c_message_free_unpacked(&h->base, NULL);
		} else if (type == IMG_FILE) {
			Ckpt__Img__File *f = image_unpack(&r, &ckpt__img__file__descriptor, payload, len);

			assert_non_null(f);
			assert_int_equal(f->id, i == 1 ? 1 : 2);
			assert_string_equal(f->path, i == 1 ? "/tmp/a" : "/tmp/b");
			protobuf_c_message_free_unpacked(&f->base, NULL);
		} else if (type == IMG_PAGEMAP) {
			Ckpt__Img__Pagemap *pm = image_unpack(&r, &ckpt__img__pagemap__descriptor, payload, len);

			assert_non_null(pm);
			assert_int_equal(pm->nr_pages, pages_len / 4096);
			protobuf_c_message_free_unpacked(&pm->base, NULL);
		} else {
			assert_int_equal(len, pages_len);
			assert_memory_equal(payload, pages, pages_len);
		}
	}
	/* the verified tail: 0, and the tail itself handed over */
	assert_int_equal(image_read_record(&r, &type, &payload, &len), 0);
	assert_int_equal(type, IMG_TAIL);
	assert_true(r.done);
	assert_int_equal(r.records, 5);
	assert_int_equal(r.bytes, r.offset - 6 * HDR - len);
	/* the buffer was kept for the small records after the big one */
	assert_true(r.bufs[r.cur].cap >= pages_len);
	assert_int_equal(image_read_record(&r, &type, &payload, &len), 0);
	image_reader_free(&r);
}

static void sample_build(struct sample *s, size_t pages_len)
{
	unsigned char *pages = pattern(pages_len, 1);
	int fd = mem_fd();

	write_stream(fd, pages, pages_len, s->off);
	s->n = 6;
	s->len = s->off[6];
	s->data = malloc(s->len);
	assert_non_null(s->data);
	assert_int_equal(pread(fd, s->data, s->len, 0), (ssize_t)s->len);
	close(fd);
	free(pages);
}

/* Read a (damaged) buffer to its end: the first failure, or 0 if complete. */
static int read_buf(const void *data, size_t len, char *ret_error, size_t errlen)
{
	struct image_reader r;
	const void *payload;
	uint32_t type;
	size_t plen;
	int fd = fd_from(data, len), ret;

	image_reader_init(&r, fd);
	while ((ret = image_read_record(&r, &type, &payload, &plen)) == 1)
		;
	if (ret < 0)
		assert_true(r.error[0] != 0);
	if (ret_error)
		snprintf(ret_error, errlen, "%s", r.error);
	image_reader_free(&r);
	close(fd);
	return ret;
}

static void test_round_trip_file(void **state)
{
	unsigned char *pages = pattern(BIG_PAGES, 7);
	char path[] = "/tmp/test-image-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	write_stream(fd, pages, BIG_PAGES, NULL);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	read_stream(fd, pages, BIG_PAGES);
	close(fd);
	free(pages);
}

/* A pipe, both ends non-blocking: short writes, EAGAIN and partial reads. */
static void test_round_trip_pipe(void **state)
{
	unsigned char *pages = pattern(BIG_PAGES, 9);
	int p[2], status;
	pid_t pid;

	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct image_writer w;
		int ok;

		close(p[0]);
		image_writer_init(&w, p[1]);
		ok = write_header(&w) == 0 && write_file(&w, 1, "/tmp/a") == 0 &&
		     write_pagemap(&w, 0x7f0000000000ull, BIG_PAGES / 4096) == 0 &&
		     image_write_record(&w, IMG_PAGES, pages, BIG_PAGES) == 0 &&
		     write_file(&w, 2, "/tmp/b") == 0 && image_write_tail(&w) == 0;
		_exit(ok ? 0 : 1);
	}
	close(p[1]);
	read_stream(p[0], pages, BIG_PAGES);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(pages);
}

static void test_sample_is_valid(void **state)
{
	struct sample s;

	sample_build(&s, SMALL_PAGES);
	assert_int_equal(read_buf(s.data, s.len, NULL, 0), 0);
	free(s.data);
}

/* Cut anywhere, including mid header, mid payload and just before the tail. */
static void test_truncated(void **state)
{
	char err[256];
	struct sample s;

	sample_build(&s, SMALL_PAGES);
	for (size_t cut = 0; cut < s.len; cut++) {
		int ret = read_buf(s.data, cut, err, sizeof(err));

		if (ret != -ENODATA)
			fail_msg("cut at %zu of %zu: %d (%s)", cut, s.len, ret, err);
	}
	/* the messages say where */
	assert_int_equal(read_buf(s.data, s.off[1] + 10, err, sizeof(err)), -ENODATA);
	assert_non_null(strstr(err, "record header"));
	assert_int_equal(read_buf(s.data, s.off[3] + HDR + 100, err, sizeof(err)), -ENODATA);
	assert_non_null(strstr(err, "pages"));
	assert_int_equal(read_buf(s.data, s.off[5], err, sizeof(err)), -ENODATA);
	assert_non_null(strstr(err, "before the tail"));
	free(s.data);
}

static void test_bad_magic(void **state)
{
	static const char text[] = "#!/bin/sh\necho this is not an image, but it is long enough\n";
	struct sample s;
	char err[256];

	sample_build(&s, SMALL_PAGES);
	s.data[0] ^= 0x01;
	assert_int_equal(read_buf(s.data, s.len, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "magic"));
	s.data[0] ^= 0x01;
	s.data[s.off[2] + 3] ^= 0x80;
	assert_int_equal(read_buf(s.data, s.len, NULL, 0), -EPROTO);
	assert_int_equal(read_buf(text, sizeof(text), NULL, 0), -EPROTO);
	free(s.data);
}

static void put_hdr(unsigned char *at, uint32_t magic, uint32_t type, uint64_t len)
{
	struct image_rec_hdr h = { .magic = magic, .type = type, .length = len, .checksum = 0 };

	memcpy(at, &h, sizeof(h));
}

/* Lengths over their bound are refused before any payload is read. */
static void test_oversized(void **state)
{
	static const struct { uint32_t type; uint64_t len; } v[] = {
		{ IMG_FILE, IMAGE_MAX_META + 1ull }, { IMG_TASK, UINT64_MAX },
		{ IMG_TAIL, IMAGE_MAX_META + 1ull }, { IMG_ERROR, 1ull << 40 },
		{ IMG_PAGES, IMAGE_MAX_PAGES + 1ull }, { IMG_PAGES, 1ull << 63 },
	};
	struct image_writer w;
	struct sample s;
	unsigned char *buf;
	char err[256];
	int fd;

	sample_build(&s, SMALL_PAGES);
	buf = malloc(s.off[1] + HDR);
	assert_non_null(buf);
	memcpy(buf, s.data, s.off[1]);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		put_hdr(buf + s.off[1], IMAGE_MAGIC, v[i].type, v[i].len);
		assert_int_equal(read_buf(buf, s.off[1] + HDR, err, sizeof(err)), -EFBIG);
		assert_non_null(strstr(err, image_rec_type_name(v[i].type)));
	}
	/* a first record is checked too */
	put_hdr(buf, IMAGE_MAGIC, IMG_HEADER, IMAGE_MAX_META + 1ull);
	assert_int_equal(read_buf(buf, HDR, NULL, 0), -EFBIG);
	free(buf);
	free(s.data);

	/* and the writer won't make one (the bound is checked before the data is touched) */
	fd = mem_fd();
	image_writer_init(&w, fd);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(image_write_record(&w, IMG_FILE, &w, IMAGE_MAX_META + 1), -EFBIG);
	assert_int_equal(image_write_record(&w, IMG_PAGES, &w, IMAGE_MAX_PAGES + 1), -EFBIG);
	assert_false(w.ended);
	assert_int_equal(image_write_tail(&w), 0);
	image_writer_free(&w);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	{
		struct image_reader r;
		const void *p;
		uint32_t t;
		size_t l;

		image_reader_init(&r, fd);
		assert_int_equal(image_read_record(&r, &t, &p, &l), 1);
		assert_int_equal(image_read_record(&r, &t, &p, &l), 0);
		image_reader_free(&r);
	}
	close(fd);
}

static void test_bad_checksum(void **state)
{
	struct sample s;
	char err[256];
	/* a byte of: a metadata payload, the page payload, a checksum, a type, a length */
	size_t at[5];

	sample_build(&s, SMALL_PAGES);
	at[0] = s.off[1] + HDR + 2;
	at[1] = s.off[3] + HDR + SMALL_PAGES / 2;
	at[2] = s.off[4] + offsetof(struct image_rec_hdr, checksum) + 5;
	at[3] = s.off[2] + offsetof(struct image_rec_hdr, type);
	at[4] = s.off[5] + HDR - 1;   /* the tail's payload */
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		unsigned char saved = s.data[at[i]];

		s.data[at[i]] ^= i == 3 ? 0x02 : 0x10;   /* pagemap (6) -> fds (4): still a valid type */
		assert_int_equal(read_buf(s.data, s.len, err, sizeof(err)), -EBADMSG);
		assert_non_null(strstr(err, "checksum"));
		s.data[at[i]] = saved;
	}
	/* a length byte: the record boundaries move, never silently */
	s.data[s.off[1] + offsetof(struct image_rec_hdr, length)] ^= 0x01;
	assert_true(read_buf(s.data, s.len, NULL, 0) < 0);
	free(s.data);
}

/* Swapped or dropped records break the checksum chain. */
static void test_reordered(void **state)
{
	struct sample s;
	unsigned char *buf;
	size_t a, b, c;

	sample_build(&s, SMALL_PAGES);
	buf = malloc(s.len);
	assert_non_null(buf);
	/* swap PAGEMAP+PAGES with the second FILE */
	a = s.off[4] - s.off[2];
	b = s.off[5] - s.off[4];
	memcpy(buf, s.data, s.off[2]);
	memcpy(buf + s.off[2], s.data + s.off[4], b);
	memcpy(buf + s.off[2] + b, s.data + s.off[2], a);
	memcpy(buf + s.off[5], s.data + s.off[5], s.len - s.off[5]);
	assert_int_equal(read_buf(buf, s.len, NULL, 0), -EBADMSG);
	/* drop the second FILE */
	c = s.off[5] - s.off[4];
	memcpy(buf, s.data, s.off[4]);
	memcpy(buf + s.off[4], s.data + s.off[5], s.len - s.off[5]);
	assert_int_equal(read_buf(buf, s.len - c, NULL, 0), -EBADMSG);
	/* a record repeated */
	memcpy(buf, s.data, s.off[2]);
	memcpy(buf + s.off[2], s.data + s.off[1], s.off[2] - s.off[1]);
	assert_int_equal(read_buf(buf, 2 * s.off[2] - s.off[1], NULL, 0), -EBADMSG);
	free(buf);
	free(s.data);
}

static void test_unknown_type(void **state)
{
	struct sample s;
	char err[256];
	uint32_t bad[] = { 0, IMG_TYPE_MAX + 1, 0xffffffffu };

	sample_build(&s, SMALL_PAGES);
	for (size_t i = 0; i < 3; i++) {
		memcpy(s.data + s.off[2] + offsetof(struct image_rec_hdr, type), &bad[i], 4);
		assert_int_equal(read_buf(s.data, s.len, err, sizeof(err)), -EPROTO);
		assert_non_null(strstr(err, "type"));
	}
	free(s.data);
}

static void test_error_record(void **state)
{
	static const char why[] = "task 12: fd 5 (socket:[1234]): sockets are not supported";
	struct image_writer w;
	struct image_reader r;
	const void *p;
	uint32_t t;
	size_t l;
	int fd = mem_fd();

	image_writer_init(&w, fd);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(write_file(&w, 1, "/x"), 0);
	assert_int_equal(image_write_error(&w, why), 0);
	assert_true(w.ended);
	/* nothing can follow it, not even a tail */
	assert_int_equal(image_write_tail(&w), -EPIPE);
	assert_int_equal(image_write_error(&w, "again"), -EPIPE);
	image_writer_free(&w);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	assert_int_equal(image_read_record(&r, &t, &p, &l), 1);
	assert_int_equal(image_read_record(&r, &t, &p, &l), 1);
	assert_int_equal(image_read_record(&r, &t, &p, &l), -EBADMSG);
	assert_string_equal(r.error, why);
	image_reader_free(&r);
	close(fd);

	/* a checkpoint that failed before its header still says why */
	fd = mem_fd();
	image_writer_init(&w, fd);
	assert_int_equal(image_write_error(&w, "freeze: device busy"), 0);
	image_writer_free(&w);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	assert_int_equal(image_read_record(&r, &t, &p, &l), -EBADMSG);
	assert_string_equal(r.error, "freeze: device busy");
	image_reader_free(&r);
	close(fd);
}

static void test_header_first(void **state)
{
	struct image_writer w;
	char err[256];
	unsigned char buf[4096];
	int fd = mem_fd();
	ssize_t n;

	image_writer_init(&w, fd);
	assert_int_equal(write_file(&w, 1, "/x"), 0);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(image_write_tail(&w), 0);
	image_writer_free(&w);
	n = pread(fd, buf, sizeof(buf), 0);
	assert_true(n > 0);
	assert_int_equal(read_buf(buf, (size_t)n, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "header"));
	close(fd);

	/* and only first */
	fd = mem_fd();
	image_writer_init(&w, fd);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(image_write_tail(&w), 0);
	image_writer_free(&w);
	n = pread(fd, buf, sizeof(buf), 0);
	assert_int_equal(read_buf(buf, (size_t)n, NULL, 0), -EPROTO);
	close(fd);
}

/* A tail whose counts disagree with the stream, checksum intact. */
static void test_tail_counts(void **state)
{
	struct image_writer w;
	unsigned char buf[4096];
	char err[256];
	int fd = mem_fd();
	ssize_t n;

	image_writer_init(&w, fd);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(write_file(&w, 1, "/x"), 0);
	w.records--;
	assert_int_equal(image_write_tail(&w), 0);
	image_writer_free(&w);
	n = pread(fd, buf, sizeof(buf), 0);
	assert_int_equal(read_buf(buf, (size_t)n, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "tail"));
	close(fd);
}

static void test_writer_after_tail(void **state)
{
	Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;
	struct image_writer w;
	int fd = mem_fd();
	size_t end;

	image_writer_init(&w, fd);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(image_write_record(&w, IMG_TAIL, NULL, 0), -EINVAL);
	assert_int_equal(image_write_record(&w, IMG_ERROR, NULL, 0), -EINVAL);
	assert_int_equal(image_write_record(&w, 0, NULL, 0), -EINVAL);
	assert_int_equal(image_write_record(&w, IMG_TYPE_MAX + 1, NULL, 0), -EINVAL);
	assert_int_equal(image_write_tail(&w), 0);
	end = fd_pos(fd);
	assert_int_equal(image_write_record(&w, IMG_PAGES, "x", 1), -EPIPE);
	assert_int_equal(image_write_msg(&w, IMG_PAGEMAP, &pm.base), -EPIPE);
	assert_int_equal(image_write_tail(&w), -EPIPE);
	assert_int_equal(image_write_error(&w, "late"), -EPIPE);
	assert_int_equal(fd_pos(fd), end);
	image_writer_free(&w);
	close(fd);
}

/* Small records are gathered and go out in few writes, in order: a page
 * record and its place at a time, past what the writer holds, then one
 * big record; image_writer_flush sends out the rest. */
static void test_writer_gathers(void **state)
{
	unsigned char *pages = pattern(300 * 4096, 5);
	struct image_writer w;
	struct image_reader r;
	const void *payload;
	uint32_t type;
	size_t len, i;
	int fd = mem_fd(), ret;

	image_writer_init(&w, fd);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(fd_pos(fd), 0);
	for (i = 0; i < 300; i++) {
		assert_int_equal(write_pagemap(&w, 0x10000ull + i * 8192, 1), 0);
		assert_int_equal(image_write_record(&w, IMG_PAGES, pages + i * 4096, 4096), 0);
	}
	/* some went out (more than the writer holds), not all */
	assert_true(fd_pos(fd) > 0 && fd_pos(fd) < w.offset);
	assert_int_equal(image_writer_flush(&w), 0);
	assert_int_equal(fd_pos(fd), w.offset);
	assert_int_equal(write_file(&w, 1, "/tmp/a"), 0);
	assert_int_equal(image_write_record(&w, IMG_PAGES, pages, 300 * 4096), 0);
	/* a big record takes what was gathered before it along */
	assert_int_equal(fd_pos(fd), w.offset);
	assert_int_equal(image_write_tail(&w), 0);
	assert_int_equal(fd_pos(fd), w.offset);
	image_writer_free(&w);

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	assert_int_equal(image_read_record(&r, &type, &payload, &len), 1);
	assert_int_equal(type, IMG_HEADER);
	for (i = 0; i < 300; i++) {
		Ckpt__Img__Pagemap *pm;

		assert_int_equal(image_read_record(&r, &type, &payload, &len), 1);
		assert_int_equal(type, IMG_PAGEMAP);
		pm = image_unpack(&r, &ckpt__img__pagemap__descriptor, payload, len);
		assert_non_null(pm);
		assert_int_equal(pm->vaddr, 0x10000ull + i * 8192);
		protobuf_c_message_free_unpacked(&pm->base, NULL);
		assert_int_equal(image_read_record(&r, &type, &payload, &len), 1);
		assert_int_equal(type, IMG_PAGES);
		assert_int_equal(len, 4096);
		assert_memory_equal(payload, pages + i * 4096, 4096);
	}
	assert_int_equal(image_read_record(&r, &type, &payload, &len), 1);
	assert_int_equal(type, IMG_FILE);
	assert_int_equal(image_read_record(&r, &type, &payload, &len), 1);
	assert_int_equal(len, 300 * 4096);
	assert_memory_equal(payload, pages, 300 * 4096);
	ret = image_read_record(&r, &type, &payload, &len);
	if (ret != 0)
		fail_msg("tail: %d (%s)", ret, r.error);
	image_reader_free(&r);
	close(fd);
	free(pages);
}

/* A write that fails ends the stream: nothing half-written gets a sequel. */
static void test_writer_io_error(void **state)
{
	struct image_writer w;
	int p[2];

	assert_int_equal(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	image_writer_init(&w, p[1]);
	/* a small record waits for the next; the tail fails for it */
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(image_write_tail(&w), -EPIPE);
	assert_true(w.ended);
	assert_int_equal(image_write_error(&w, "x"), -EPIPE);
	image_writer_free(&w);
	close(p[1]);
}

static void test_unpack_malformed(void **state)
{
	static const unsigned char junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	struct image_reader r;

	image_reader_init(&r, -1);
	assert_null(image_unpack(&r, &ckpt__img__task__descriptor, junk, sizeof(junk)));
	assert_non_null(strstr(r.error, "Task"));
	/* required fields missing */
	assert_null(image_unpack(&r, &ckpt__img__file__descriptor, junk, 0));
	image_reader_free(&r);
}

static void test_type_names(void **state)
{
	assert_string_equal(image_rec_type_name(IMG_HEADER), "header");
	assert_string_equal(image_rec_type_name(IMG_TASK), "task");
	assert_string_equal(image_rec_type_name(IMG_FILE), "file");
	assert_string_equal(image_rec_type_name(IMG_FDS), "fds");
	assert_string_equal(image_rec_type_name(IMG_MM), "mm");
	assert_string_equal(image_rec_type_name(IMG_PAGEMAP), "pagemap");
	assert_string_equal(image_rec_type_name(IMG_PAGES), "pages");
	assert_string_equal(image_rec_type_name(IMG_TAIL), "tail");
	assert_string_equal(image_rec_type_name(IMG_ERROR), "error");
	assert_string_equal(image_rec_type_name(0), "unknown");
	assert_string_equal(image_rec_type_name(IMG_TYPE_MAX + 1), "unknown");
}

/* The page records of the hold test: stored, compressed, stored,
 * compressed; each large enough for the MAC thread (MACPIPE_MIN), so each
 * one's MAC reads it where it is while the next is read. */
#define HOLD_RECS 4
#define HOLD_LEN (64u * 4096u)

static void hold_fill(unsigned char *buf, unsigned k)
{
	uint32_t x = 2654435761u * (k + 1);

	for (size_t i = 0; i < HOLD_LEN; i++) {
		x = x * 1103515245u + 12345u;
		/* compressed ones: half of every page random, half zero */
		buf[i] = (k % 2 && i % 4096 >= 2048) ? 0 : (unsigned char)(x >> 16);
	}
}

static int hold_image(const struct mac_key *key)
{
	static unsigned char buf[HOLD_LEN];
	struct image_writer w;
	int fd = imgtest_writer(&w, key);

	image_writer_set_compress(&w, true);
	assert_int_equal(write_header(&w), 0);
	assert_int_equal(image_write_mac(&w), 0);
	for (unsigned k = 0; k < HOLD_RECS; k++) {
		hold_fill(buf, k);
		assert_int_equal(image_write_record(&w, IMG_PAGES, buf, HOLD_LEN), 0);
	}
	assert_int_equal(image_write_tail(&w), 0);
	image_writer_free(&w);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

struct holder {
	struct image_reader *r;
	struct image_buf *b;
	const unsigned char *payload;
	unsigned char *want;
	bool intact;
};

/* The other thread: looks at the payload it holds a while after the reader
 * went on, then gives it back. */
static void *holder_main(void *arg)
{
	struct holder *h = arg;
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	h->intact = !memcmp(h->payload, h->want, HOLD_LEN);
	image_reader_release(h->r, h->b);
	return NULL;
}

/* A payload held for another thread is never read over, whatever records
 * follow it (a compressed one after a stored one, and the MAC thread
 * reading each where it is), until that thread gives it back. */
static void test_hold(void **state)
{
	unsigned char *want = malloc(HOLD_LEN), *first = malloc(HOLD_LEN);
	struct holder h = { .want = first };
	struct image_reader r;
	struct mac_key key;
	const void *p;
	pthread_t t;
	uint32_t type;
	size_t len;
	int fd;

	(void)state;
	assert_true(want && first);
	hold_fill(first, 0);
	imgtest_key(&key, 0x5a);
	fd = hold_image(&key);
	image_reader_init(&r, fd);
	assert_int_equal(image_reader_verify(&r, &key, 1), 0);
	assert_int_equal(image_read_record(&r, &type, &p, &len), 1);
	assert_int_equal(type, IMG_HEADER);
	assert_null(image_reader_hold(&r, (const char *)p + 1));
	for (unsigned k = 0; k < HOLD_RECS; k++) {
		assert_int_equal(image_read_record(&r, &type, &p, &len), 1);
		assert_int_equal(type, IMG_PAGES);
		assert_int_equal(len, HOLD_LEN);
		hold_fill(want, k);
		assert_memory_equal(p, want, HOLD_LEN);
		if (k % 2) {
			/* decompressed: rewritten by the next, never held */
			assert_null(image_reader_hold(&r, p));
			continue;
		}
		if (k)
			continue;
		h.r = &r;
		h.payload = p;
		assert_non_null(h.b = image_reader_hold(&r, p));
		assert_int_equal(pthread_create(&t, NULL, holder_main, &h), 0);
	}
	assert_int_equal(image_read_record(&r, &type, &p, &len), 0);
	assert_int_equal(type, IMG_TAIL);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(h.intact);
	image_reader_free(&r);
	close(fd);
	free(want);
	free(first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_file),
		cmocka_unit_test(test_round_trip_pipe),
		cmocka_unit_test(test_sample_is_valid),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_error_record),
		cmocka_unit_test(test_header_first),
		cmocka_unit_test(test_tail_counts),
		cmocka_unit_test(test_writer_after_tail),
		cmocka_unit_test(test_writer_io_error),
		cmocka_unit_test(test_writer_gathers),
		cmocka_unit_test(test_unpack_malformed),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
