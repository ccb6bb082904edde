// SPDX-License-Identifier: GPL-2.0-or-later
/* imgmutate IN OUT SEED: copy an image, flipping a few bytes in the payload
 * of one metadata record (never page data), and recompute the chained
 * checksums so the damage gets past them: what remains to stop it is the
 * reader's validation of every field. Prints the type of the record it
 * changed. For the hostile-image e2e test. */
#include "hash.h"
#include "image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rec_sum(uint64_t chain, uint32_t type, uint64_t len, const unsigned char *p)
{
	struct ckpt_hash_state s;

	ckpt_hash_init(&s, chain);
	ckpt_hash_update(&s, &type, sizeof(type));
	ckpt_hash_update(&s, &len, sizeof(len));
	ckpt_hash_update(&s, p, len);
	return ckpt_hash_final(&s);
}

int main(int argc, char **argv)
{
	FILE *in, *out;
	unsigned char *buf;
	size_t n, off, cand[4096], ncand = 0;
	uint64_t chain = IMAGE_MAGIC;
	long size;

	if (argc != 4 || !(in = fopen(argv[1], "rb")))
		return 2;
	srand(atoi(argv[3]));
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	rewind(in);
	buf = malloc(size);
	if (!buf || fread(buf, 1, size, in) != (size_t)size)
		return 2;
	fclose(in);
	/* metadata records other than the tail */
	for (off = 0; off + sizeof(struct image_rec_hdr) <= (size_t)size && ncand < 4096;) {
		struct image_rec_hdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.type != IMG_PAGES && h.type != IMG_TAIL && h.length > 0)
			cand[ncand++] = off;
		off += sizeof(h) + h.length;
	}
	if (!ncand)
		return 2;
	off = cand[rand() % ncand];
	{
		struct image_rec_hdr h;
		int flips = 1 + rand() % 4;

		memcpy(&h, buf + off, sizeof(h));
		printf("%u\n", h.type);   /* which record: the test judges by it */
		while (flips--)
			buf[off + sizeof(h) + rand() % h.length] ^= (unsigned char)(1 + rand() % 255);
	}
	for (off = 0; off + sizeof(struct image_rec_hdr) <= (size_t)size;) {
		struct image_rec_hdr h;

		memcpy(&h, buf + off, sizeof(h));
		h.checksum = rec_sum(chain, h.type, h.length, buf + off + sizeof(h));
		chain = h.checksum;
		memcpy(buf + off, &h, sizeof(h));
		off += sizeof(h) + h.length;
	}
	out = fopen(argv[2], "wb");
	n = out ? fwrite(buf, 1, size, out) : 0;
	return out && n == (size_t)size && fclose(out) == 0 ? 0 : 1;
}
