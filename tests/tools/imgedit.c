// SPDX-License-Identifier: GPL-2.0-or-later
/* imgedit IN OUT PATH EDIT...: copy an image, changing the first FILE record
 * whose path is PATH, and recompute the chained checksums and the tail's
 * byte count, so that only the reader's checks of the record stand in the
 * way. EDITs: path=NEW, flags=N (replace), addflags=N (or), rdev=MAJ:MIN,
 * kind=N (numbers as strtoul base 0). Exit 1 if no record has PATH. For
 * the e2e test of what restart may open. */
#include "image.h"
#include "image.pb-c.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

static int edit(Ckpt__Img__File *f, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *v = strchr(argv[i], '=');
		unsigned maj, min;

		if (!v)
			return -1;
		*v++ = 0;
		if (!strcmp(argv[i], "path")) {
			f->path = v;
		} else if (!strcmp(argv[i], "flags")) {
			f->flags = strtoul(v, NULL, 0);
		} else if (!strcmp(argv[i], "addflags")) {
			f->flags |= strtoul(v, NULL, 0);
		} else if (!strcmp(argv[i], "kind")) {
			f->kind = strtoul(v, NULL, 0);
		} else if (!strcmp(argv[i], "rdev") && sscanf(v, "%u:%u", &maj, &min) == 2) {
			f->has_rdev = true;
			f->rdev = makedev(maj, min);
		} else {
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *in, *out;
	size_t off, o = 0, size;
	uint64_t chain = IMAGE_MAGIC;
	int64_t delta = 0;
	bool done = false;
	FILE *fi, *fo;
	long n;

	if (argc < 5 || !(fi = fopen(argv[1], "rb")))
		return 2;
	fseek(fi, 0, SEEK_END);
	n = ftell(fi);
	rewind(fi);
	size = (size_t)n;
	in = malloc(size);
	out = malloc(size + 65536);
	if (!in || !out || fread(in, 1, size, fi) != size)
		return 2;
	fclose(fi);
	for (off = 0; off + sizeof(struct image_rec_hdr) <= size;) {
		struct image_rec_hdr h;
		const unsigned char *p = in + off + sizeof(h);
		unsigned char *q = out + o + sizeof(h);
		size_t len;

		memcpy(&h, in + off, sizeof(h));
		len = h.length;
		memcpy(q, p, len);
		if (h.type == IMG_FILE && !done) {
			Ckpt__Img__File *f = ckpt__img__file__unpack(NULL, len, p);
			char *path = f ? f->path : NULL;

			if (f && path && !strcmp(path, argv[3])) {
				if (edit(f, argc - 4, argv + 4) < 0)
					return 2;
				len = ckpt__img__file__get_packed_size(f);
				if (len > h.length + 65536)
					return 2;
				ckpt__img__file__pack(f, q);
				f->path = path;   /* freed with the message */
				delta = (int64_t)len - (int64_t)h.length;
				done = true;
			}
			if (f)
				ckpt__img__file__free_unpacked(f, NULL);
		}
		if (h.type == IMG_META_END) {
			Ckpt__Img__MetaEnd *m = ckpt__img__meta_end__unpack(NULL, len, p);

			if (!m)
				return 2;
			m->bytes += delta;   /* the metadata's payload bytes, as the tail's */
			len = ckpt__img__meta_end__pack(m, q);
			ckpt__img__meta_end__free_unpacked(m, NULL);
			delta += (int64_t)len - (int64_t)h.length;
		}
		if (h.type == IMG_TAIL) {
			Ckpt__Img__Tail *t = ckpt__img__tail__unpack(NULL, len, p);

			if (!t)
				return 2;
			t->bytes += delta;
			len = ckpt__img__tail__pack(t, q);
			ckpt__img__tail__free_unpacked(t, NULL);
		}
		h.length = len;
		h.checksum = image_record_checksum(chain, h.type, h.length, q);
		chain = h.checksum;
		memcpy(out + o, &h, sizeof(h));
		off += sizeof(h) + (size_t)((struct image_rec_hdr *)(in + off))->length;
		o += sizeof(h) + len;
	}
	if (!done)
		return 1;
	fo = fopen(argv[2], "wb");
	return fo && fwrite(out, 1, o, fo) == o && fclose(fo) == 0 ? 0 : 2;
}
