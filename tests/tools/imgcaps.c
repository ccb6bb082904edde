// SPDX-License-Identifier: GPL-2.0-or-later
/* imgcaps IN OUT HEXCAPS: copy an image, giving every task whose record
 * saves credentials the capabilities HEXCAPS too (permitted, effective
 * and bounding), and recompute the tail and the chained checksums so that
 * only restart's check of what the container may have can stop it. For
 * the containment e2e test. */
#include "image.h"
#include "image.pb-c.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long size;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0)
		return NULL;
	rewind(f);
	buf = malloc(size + 1);
	if (!buf || fread(buf, 1, size, f) != (size_t)size)
		return NULL;
	fclose(f);
	*ret_len = size;
	return buf;
}

/* A changed TASK payload, or NULL to keep it. */
static unsigned char *raise_caps(const unsigned char *p, size_t len, uint64_t caps, size_t *ret_len)
{
	Ckpt__Img__Task *t = ckpt__img__task__unpack(NULL, len, p);
	unsigned char *out = NULL;

	if (t && t->creds) {
		t->creds->cap_prm |= caps;
		t->creds->cap_eff |= caps;
		t->creds->cap_bnd |= caps;
		*ret_len = ckpt__img__task__get_packed_size(t);
		out = malloc(*ret_len);
		if (out)
			ckpt__img__task__pack(t, out);
	}
	if (t)
		ckpt__img__task__free_unpacked(t, NULL);
	return out;
}

int main(int argc, char **argv)
{
	uint64_t caps, chain = IMAGE_MAGIC, records = 0, bytes = 0;
	size_t size, off, changed = 0;
	unsigned char *in;
	FILE *out;

	if (argc != 4 || !(in = slurp(argv[1], &size)) || !(out = fopen(argv[2], "wb")))
		return 2;
	caps = strtoull(argv[3], NULL, 16);
	for (off = 0; off + sizeof(struct image_rec_hdr) <= size;) {
		struct image_rec_hdr h;
		unsigned char *p, *np = NULL, tailbuf[64];
		size_t nlen = 0;

		memcpy(&h, in + off, sizeof(h));
		if (h.length > size - off - sizeof(h))
			return 2;
		p = in + off + sizeof(h);
		off += sizeof(h) + h.length;
		if (h.type == IMG_TASK && (np = raise_caps(p, h.length, caps, &nlen))) {
			p = np;
			h.length = nlen;
			changed++;
		} else if (h.type == IMG_TAIL) {
			Ckpt__Img__Tail tail = CKPT__IMG__TAIL__INIT;

			tail.records = records;
			tail.bytes = bytes;
			h.length = ckpt__img__tail__pack(&tail, tailbuf);
			p = tailbuf;
		}
		h.checksum = chain = image_record_checksum(chain, h.type, h.length, p);
		if (fwrite(&h, sizeof(h), 1, out) != 1 || (h.length && fwrite(p, h.length, 1, out) != 1))
			return 1;
		records++;
		bytes += h.length;
		free(np);
	}
	printf("%zu\n", changed);
	return fclose(out) == 0 && changed ? 0 : 1;
}
