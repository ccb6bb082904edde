// SPDX-License-Identifier: GPL-2.0-or-later
/* imgpath IN OUT OLD NEW: copy an image, naming NEW wherever a mapping
 * (MM records) or an inotify watch (FILE records) names OLD, with NEW's
 * size, mtime and file type as the checkpoint would have seen them, and
 * recompute the chained checksums and the byte counts, so that only
 * restart's own checks stand in the way. Exit 1 if nothing names OLD. For
 * the e2e test of what a restart opens as the container's owner. */
#include "image.h"
#include "image.pb-c.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *from, *to;
static struct stat to_st;

/* Rewrite one record's payload p (len bytes) into q; its new length, or
 * 0 when it names no OLD (then q holds p). */
static size_t rewrite(uint32_t type, const unsigned char *p, size_t len, unsigned char *q)
{
	size_t n = 0, k, i;

	if (type == IMG_MM) {
		Ckpt__Img__Mm *m = ckpt__img__mm__unpack(NULL, len, p);
		char *keep[4096];

		for (i = 0; m && i < m->n_vmas && n < 4096; i++)
			if (m->vmas[i]->path && !strcmp(m->vmas[i]->path, from)) {
				keep[n++] = m->vmas[i]->path;
				m->vmas[i]->path = (char *)to;
				m->vmas[i]->has_file_size = m->vmas[i]->has_file_mtime_ns = true;
				m->vmas[i]->file_size = to_st.st_size;
				m->vmas[i]->file_mtime_ns = to_st.st_mtim.tv_sec * 1000000000ll + to_st.st_mtim.tv_nsec;
			}
		if (n)
			len = ckpt__img__mm__pack(m, q);
		for (i = 0, k = 0; m && i < m->n_vmas; i++)
			if (m->vmas[i]->path == to)
				m->vmas[i]->path = keep[k++];
		if (m)
			ckpt__img__mm__free_unpacked(m, NULL);
		return n ? len : 0;
	}
	if (type == IMG_FILE) {
		Ckpt__Img__File *f = ckpt__img__file__unpack(NULL, len, p);
		char *keep[256];

		for (i = 0; f && i < f->n_inotify_watches && n < 256; i++)
			if (!strcmp(f->inotify_watches[i]->path, from)) {
				keep[n++] = f->inotify_watches[i]->path;
				f->inotify_watches[i]->path = (char *)to;
				f->inotify_watches[i]->ftype = to_st.st_mode & S_IFMT;
			}
		if (n)
			len = ckpt__img__file__pack(f, q);
		for (i = 0, k = 0; f && i < f->n_inotify_watches; i++)
			if (f->inotify_watches[i]->path == to)
				f->inotify_watches[i]->path = keep[k++];
		if (f)
			ckpt__img__file__free_unpacked(f, NULL);
		return n ? len : 0;
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

	if (argc != 5 || !(fi = fopen(argv[1], "rb")))
		return 2;
	from = argv[3];
	to = argv[4];
	if (lstat(to, &to_st) < 0)
		return 2;
	fseek(fi, 0, SEEK_END);
	n = ftell(fi);
	rewind(fi);
	size = (size_t)n;
	in = malloc(size);
	out = malloc(size + ((size_t)1 << 20));
	if (!in || !out || fread(in, 1, size, fi) != size)
		return 2;
	fclose(fi);
	for (off = 0; off + sizeof(struct image_rec_hdr) <= size;) {
		struct image_rec_hdr h;
		const unsigned char *p = in + off + sizeof(h);
		unsigned char *q = out + o + sizeof(h);
		size_t len, nlen;

		memcpy(&h, in + off, sizeof(h));
		len = h.length;
		memcpy(q, p, len);
		if (o + len + 65536 > size + ((size_t)1 << 20))
			return 2;
		nlen = rewrite(h.type, p, len, q);
		if (nlen) {
			delta += (int64_t)nlen - (int64_t)len;
			len = nlen;
			done = true;
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
