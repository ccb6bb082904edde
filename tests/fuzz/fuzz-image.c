// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: an image stream, as restart reads it up to the first
 * system call that would change anything: the record reader (framing,
 * bounds, chained checksums, tail), the metadata part held and checked as
 * restart's plan (plan.h: every record decoded and checked, and what
 * records say of each other), then the page part's segment markers and
 * page maps, decoded and checked as records too. The input is
 * the stream; with checksums in the way a mutator rarely gets past the
 * first record, so each record's checksum is recomputed first (what a
 * hostile writer would do anyway). Each input is read twice: trusting it,
 * as `restart --trust-image` does, so the checks behind the MAC are
 * reached, and verifying its MACs (IMG_MAC records, the tail's) under the
 * key in $CKPT_FUZZ_KEY (the seeds' ckptd's image.key; else a fixed one). */
#include "image.h"
#include "image.pb-c.h"
#include "plan.h"
#include "validate.h"
#include <endian.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void fix_checksums(uint8_t *buf, size_t size)
{
	uint64_t chain = IMAGE_MAGIC;
	size_t off = 0;

	while (off + sizeof(struct image_rec_hdr) <= size) {
		struct image_rec_hdr h;
		uint64_t len;

		memcpy(&h, buf + off, sizeof(h));
		len = le64toh(h.length);
		if (len > size - off - sizeof(h))
			break;
		chain = image_record_checksum(chain, le32toh(h.type), len, buf + off + sizeof(h));
		h.checksum = htole64(chain);
		memcpy(buf + off, &h, sizeof(h));
		off += sizeof(h) + len;
	}
}

static void check_record(uint32_t type, const uint8_t *p, size_t len)
{
	const ProtobufCMessageDescriptor *d = NULL;
	ProtobufCMessage *m;
	char buf[256];
	pid_t pid;
	size_t i;

	switch (type) {
	case IMG_HEADER: d = &ckpt__img__header__descriptor; break;
	case IMG_TASK: d = &ckpt__img__task__descriptor; break;
	case IMG_FILE: d = &ckpt__img__file__descriptor; break;
	case IMG_FDS: d = &ckpt__img__fds__descriptor; break;
	case IMG_MM: d = &ckpt__img__mm__descriptor; break;
	case IMG_PAGEMAP: case IMG_DROP: d = &ckpt__img__pagemap__descriptor; break;
	case IMG_PIPE: d = &ckpt__img__pipe__descriptor; break;
	case IMG_SHM: d = &ckpt__img__shm__descriptor; break;
	case IMG_GHOST: d = &ckpt__img__ghost__descriptor; break;
	case IMG_TREE: d = &ckpt__img__tree__descriptor; break;
	case IMG_THREAD: d = &ckpt__img__thread__descriptor; break;
	case IMG_SEGMENT: d = &ckpt__img__segment__descriptor; break;
	case IMG_META_END: d = &ckpt__img__meta_end__descriptor; break;
	default: return;
	}
	m = protobuf_c_message_unpack(d, NULL, len, p);
	if (!m)
		return;
	switch (type) {
	case IMG_TASK: (void)validate_task((void *)m, buf, sizeof(buf)); break;
	case IMG_FILE: (void)validate_file((void *)m); break;
	case IMG_FDS: (void)validate_fds((void *)m, 1u << 16); break;
	case IMG_MM: (void)validate_mm((void *)m, &i); break;
	case IMG_PIPE: (void)validate_pipe((void *)m); break;
	case IMG_SHM: (void)validate_shm((void *)m); break;
	case IMG_GHOST: (void)validate_ghost((void *)m); break;
	case IMG_TREE: (void)validate_tree((void *)m, 64, &pid); break;
	case IMG_THREAD: (void)validate_thread((void *)m, buf, sizeof(buf)); break;
	}
	protobuf_c_message_free_unpacked(m, NULL);
}

static const struct mac_key *fuzz_key(void)
{
	static struct mac_key key;
	static int loaded;
	const char *path = getenv("CKPT_FUZZ_KEY");
	int fd;

	if (loaded)
		return &key;
	loaded = 1;
	memset(key.key, 0x5a, sizeof(key.key));
	if (path && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (read(fd, key.key, sizeof(key.key)) != (ssize_t)sizeof(key.key))
			abort();
		close(fd);
	}
	if (mac_key_set_id(&key) < 0)
		abort();
	return &key;
}

static void read_all(int fd, bool verify)
{
	struct image_reader rd;
	struct restart_plan pl;
	int r = 0;

	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	image_reader_init(&rd, fd);
	plan_init(&pl);
	if (verify && image_reader_verify(&rd, fuzz_key(), 1) < 0)
		abort();
	while (r >= 0) {
		uint32_t type;
		const void *payload;
		size_t len;

		r = image_read_record(&rd, &type, &payload, &len);
		if (r <= 0)
			break;
		check_record(type, payload, len);
		if (!pl.ended) {
			/* the metadata part: held, authenticated, checked once it ends */
			if (plan_add(&pl, type, payload, len) < 0)
				break;
			if (pl.ended && (image_read_mac(&rd) < 0 || plan_check(&pl) < 0))
				break;
		} else if (type == IMG_SEGMENT) {
			Ckpt__Img__Segment *seg = plan_segment_unpack(payload, len);

			if (!seg)
				break;
			protobuf_c_message_free_unpacked(&seg->base, NULL);
		}
	}
	/* a verified image verified all the way */
	if (verify && r == 0 && !rd.mac_ok)
		abort();
	plan_free(&pl);
	image_reader_free(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	int fd;

	if (size > (8u << 20))
		return 0;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fix_checksums(copy, size);
	fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (fd < 0 || write(fd, copy, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	free(copy);
	read_all(fd, false);
	read_all(fd, true);
	close(fd);
	return 0;
}
