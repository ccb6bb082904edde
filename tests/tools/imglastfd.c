// SPDX-License-Identifier: GPL-2.0-or-later
/* imglastfd IN OUT: copy an image, making its last fd table (FDS record)
 * name a file id no record of the image has, and recompute what depends on
 * it (the META_END and TAIL counts, the chained checksums), so that only
 * restart's checks can stop it. Prints the stream offset of the changed
 * record in OUT: a test feeds OUT up to there, looks at what restart has
 * done so far, then feeds the rest. For the e2e test 47-plan. */
#include "image.h"
#include "image.pb-c.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MISSING_FILE_ID 0x7ffffff0u

struct rec {
	struct image_rec_hdr h;
	unsigned char *p;
};

/* Replace rec's payload with msg packed. */
static int repack(struct rec *r, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	unsigned char *p = malloc(len ? len : 1);

	if (!p || protobuf_c_message_pack(msg, p) != len)
		return -1;
	free(r->p);
	r->p = p;
	r->h.length = len;
	return 0;
}

int main(int argc, char **argv)
{
	struct rec *recs = NULL;
	size_t n = 0, i, last_fds = SIZE_MAX;
	uint64_t chain = IMAGE_MAGIC, off = 0, bytes = 0, changed_at = 0;
	bool ended = false;
	FILE *in, *out;

	if (argc != 3 || !(in = fopen(argv[1], "rb")))
		return 2;
	for (;;) {
		struct rec r;

		if (fread(&r.h, sizeof(r.h), 1, in) != 1)
			break;
		r.p = malloc(r.h.length ? r.h.length : 1);
		if (!r.p || (r.h.length && fread(r.p, r.h.length, 1, in) != 1))
			return 2;
		recs = realloc(recs, (n + 1) * sizeof(*recs));
		if (!recs)
			return 2;
		/* format 4: the last one of the metadata; before: the last one */
		ended |= r.h.type == IMG_META_END;
		if (r.h.type == IMG_FDS && !ended)
			last_fds = n;
		recs[n++] = r;
	}
	fclose(in);
	if (last_fds == SIZE_MAX)
		return 3;
	{
		Ckpt__Img__Fds *m = ckpt__img__fds__unpack(NULL, recs[last_fds].h.length, recs[last_fds].p);

		if (!m || m->n_fds == 0)
			return 3;
		m->fds[m->n_fds - 1]->file_id = MISSING_FILE_ID;
		if (repack(&recs[last_fds], &m->base) < 0)
			return 2;
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	for (i = 0; i < n; i++) {
		if (recs[i].h.type == IMG_META_END) {
			Ckpt__Img__MetaEnd *e = ckpt__img__meta_end__unpack(NULL, recs[i].h.length, recs[i].p);

			if (!e)
				return 2;
			e->bytes = bytes;
			if (repack(&recs[i], &e->base) < 0)
				return 2;
			protobuf_c_message_free_unpacked(&e->base, NULL);
		}
		if (recs[i].h.type == IMG_TAIL) {
			Ckpt__Img__Tail t = CKPT__IMG__TAIL__INIT;

			t.records = i;
			t.bytes = bytes;
			if (repack(&recs[i], &t.base) < 0)
				return 2;
		}
		if (i == last_fds)
			changed_at = off;
		recs[i].h.checksum = image_record_checksum(chain, recs[i].h.type, recs[i].h.length, recs[i].p);
		chain = recs[i].h.checksum;
		off += sizeof(recs[i].h) + recs[i].h.length;
		bytes += recs[i].h.length;
	}
	out = fopen(argv[2], "wb");
	if (!out)
		return 1;
	for (i = 0; i < n; i++)
		if (fwrite(&recs[i].h, sizeof(recs[i].h), 1, out) != 1 ||
		    (recs[i].h.length && fwrite(recs[i].p, recs[i].h.length, 1, out) != 1))
			return 1;
	if (fclose(out) != 0)
		return 1;
	printf("%llu\n", (unsigned long long)changed_at);
	return 0;
}
