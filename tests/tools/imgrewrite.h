// SPDX-License-Identifier: GPL-2.0-or-later
/* Shared by the image tools that change records: copy an image record by
 * record through an edit callback, then make what depends on the payloads
 * agree again (META_END's and TAIL's record and byte counts, the chained
 * checksums), so that only the reader's checks of the changed records
 * stand in the way. A MAC is left as it was: restart needs --trust-image. */
#pragma once
#include "image.h"
#include "image.pb-c.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One record of type with payload p (len bytes): 1 with a new payload in
 * *ret_p (malloc'ed, *ret_len bytes), 0 to keep it, < 0 to give up. */
typedef int (*img_edit_fn)(void *arg, uint32_t type, const unsigned char *p, size_t len, unsigned char **ret_p,
			   size_t *ret_len);

/* msg packed into a new buffer: for an edit callback's *ret_p. */
static inline int img_repack(const ProtobufCMessage *msg, unsigned char **ret_p, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	unsigned char *p = malloc(len ? len : 1);

	if (!p || protobuf_c_message_pack(msg, p) != len) {
		free(p);
		return -1;
	}
	*ret_p = p;
	*ret_len = len;
	return 1;
}

static inline unsigned char *img_slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0) {
		rewind(f);
		buf = malloc(size ? size : 1);
		if (buf && fread(buf, 1, size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		*ret_len = size;
	}
	fclose(f);
	return buf;
}

/* META_END's payload bytes and TAIL's counts, over the records before
 * them (an edit changes payloads, never how many records there are). */
static int img_recount(uint32_t type, const unsigned char *p, size_t len, uint64_t records, uint64_t bytes,
		       unsigned char **ret_p, size_t *ret_len)
{
	int r = -1;

	if (type == IMG_META_END) {
		Ckpt__Img__MetaEnd *m = ckpt__img__meta_end__unpack(NULL, len, p);

		if (m) {
			m->bytes = bytes;
			r = img_repack(&m->base, ret_p, ret_len);
			ckpt__img__meta_end__free_unpacked(m, NULL);
		}
	} else {
		Ckpt__Img__Tail *t = ckpt__img__tail__unpack(NULL, len, p);

		if (t) {
			t->records = records;
			t->bytes = bytes;
			r = img_repack(&t->base, ret_p, ret_len);
			ckpt__img__tail__free_unpacked(t, NULL);
		}
	}
	return r;
}

/* Copy image in_path to out_path through edit. Returns how many records
 * edit changed, or -1 (unreadable image, edit gave up, write error). */
static long img_rewrite(const char *in_path, const char *out_path, img_edit_fn edit, void *arg)
{
	uint64_t chain = IMAGE_MAGIC, records = 0, bytes = 0;
	size_t size = 0, off;
	unsigned char *in = img_slurp(in_path, &size);
	long changed = 0;
	FILE *out;

	if (!in || !(out = fopen(out_path, "wb"))) {
		free(in);
		return -1;
	}
	for (off = 0; off + sizeof(struct image_rec_hdr) <= size && changed >= 0;) {
		struct image_rec_hdr h;
		unsigned char *p, *np = NULL;
		size_t nlen = 0;
		int r;

		memcpy(&h, in + off, sizeof(h));
		if (h.length > size - off - sizeof(h)) {
			changed = -1;
			break;
		}
		p = in + off + sizeof(h);
		off += sizeof(h) + h.length;
		if (h.type == IMG_META_END || h.type == IMG_TAIL)
			r = img_recount(h.type, p, h.length, records, bytes, &np, &nlen) < 0 ? -1 : 0;
		else if ((r = edit(arg, h.type, p, h.length, &np, &nlen)) > 0)
			changed++;
		if (r < 0) {
			changed = -1;
			break;
		}
		if (np) {
			p = np;
			h.length = nlen;
		}
		h.checksum = chain = image_record_checksum(chain, h.type, h.length, p);
		if (fwrite(&h, sizeof(h), 1, out) != 1 || (h.length && fwrite(p, h.length, 1, out) != 1))
			changed = -1;
		records++;
		bytes += h.length;
		free(np);
	}
	free(in);
	if (fclose(out) != 0)
		changed = -1;
	return changed;
}
