// SPDX-License-Identifier: GPL-2.0-or-later
/* The image tests' shared set-up (imgtest.h). */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "imgtest.h"

void imgtest_key(struct mac_key *k, unsigned char fill)
{
	memset(k->key, fill, sizeof(k->key));
	assert_int_equal(mac_key_set_id(k), 0);
}

int imgtest_writer(struct image_writer *w, const struct mac_key *key)
{
	int fd = memfd_create("image", MFD_CLOEXEC);

	assert_true(fd >= 0);
	image_writer_init(w, fd);
	if (key)
		assert_int_equal(image_writer_set_key(w, key), 0);
	return fd;
}

void imgtest_header(Ckpt__Img__Header *h)
{
	ckpt__img__header__init(h);
	h->format_version = IMAGE_FORMAT_VERSION;
	h->arch = (char *)"x86_64";
	h->page_size = 4096;
	h->container = (char *)"unit";
}

void imgtest_rechecksum(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	unsigned char *buf = malloc(size);
	uint64_t chain = IMAGE_MAGIC;

	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, size, 0), size);
	for (size_t off = 0; off + sizeof(struct image_rec_hdr) <= (size_t)size;) {
		struct image_rec_hdr h;

		memcpy(&h, buf + off, sizeof(h));
		chain = image_record_checksum(chain, le32toh(h.type), le64toh(h.length), buf + off + sizeof(h));
		h.checksum = htole64(chain);
		memcpy(buf + off, &h, sizeof(h));
		off += sizeof(h) + le64toh(h.length);
	}
	assert_int_equal(pwrite(fd, buf, size, 0), size);
	free(buf);
}

void imgtest_flip(int fd, off_t off)
{
	unsigned char b;

	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
}
