// SPDX-License-Identifier: GPL-2.0-or-later
/* imgmutate IN OUT SEED: copy an image, flipping a few bytes in the payload
 * of one metadata record (never page data), and recompute the chained
 * checksums so the damage gets past them: what remains to stop it is the
 * reader's validation of every field (restart needs --trust-image for
 * that, since the keyed MAC no longer matches). Prints the type of the
 * record it changed. For the hostile-image e2e test.
 *
 * imgmutate --replace OLD NEW IN OUT: copy an image, replacing every OLD
 * in page data by NEW (as long), and recompute the checksums: what anyone
 * who can write an image can do without its key. Prints how many it
 * replaced; exits 1 if none. For the MAC e2e test.
 *
 * imgmutate --zpages IN OUT: copy an image, damaging one byte in the middle
 * of every compressed page chunk (ZPAGES), and recompute the checksums.
 * Prints how many it damaged; exits 1 if none. For the compression test. */
#include "image.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *load(const char *path, long *ret_size)
{
	FILE *in = fopen(path, "rb");
	unsigned char *buf;
	long size;

	if (!in)
		return NULL;
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	rewind(in);
	buf = malloc(size ? size : 1);
	if (!buf || fread(buf, 1, size, in) != (size_t)size)
		return NULL;
	fclose(in);
	*ret_size = size;
	return buf;
}

static void rechecksum(unsigned char *buf, size_t size)
{
	uint64_t chain = IMAGE_MAGIC;

	for (size_t off = 0; off + sizeof(struct image_rec_hdr) <= size;) {
		struct image_rec_hdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.length > size - off - sizeof(h))
			break;
		h.checksum = image_record_checksum(chain, h.type, h.length, buf + off + sizeof(h));
		chain = h.checksum;
		memcpy(buf + off, &h, sizeof(h));
		off += sizeof(h) + h.length;
	}
}

static int save(const char *path, const unsigned char *buf, size_t size)
{
	FILE *out = fopen(path, "wb");
	size_t n = out ? fwrite(buf, 1, size, out) : 0;

	return out && n == size && fclose(out) == 0 ? 0 : 1;
}

static int replace(const char *old, const char *new, const char *inpath, const char *outpath)
{
	size_t len = strlen(old), count = 0;
	unsigned char *buf;
	long size;

	if (!len || strlen(new) != len || !(buf = load(inpath, &size)))
		return 2;
	for (size_t off = 0; off + sizeof(struct image_rec_hdr) <= (size_t)size;) {
		struct image_rec_hdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.length > (size_t)size - off - sizeof(h))
			return 2;
		for (size_t i = 0; h.type == IMG_PAGES && i + len <= h.length; i++) {
			unsigned char *p = buf + off + sizeof(h) + i;

			if (!memcmp(p, old, len)) {
				memcpy(p, new, len);
				count++;
			}
		}
		off += sizeof(h) + h.length;
	}
	printf("%zu\n", count);
	if (!count)
		return 1;
	rechecksum(buf, size);
	return save(outpath, buf, size);
}

static int damage_zpages(const char *inpath, const char *outpath)
{
	size_t count = 0;
	unsigned char *buf;
	long size;

	if (!(buf = load(inpath, &size)))
		return 2;
	for (size_t off = 0; off + sizeof(struct image_rec_hdr) <= (size_t)size;) {
		struct image_rec_hdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.length > (size_t)size - off - sizeof(h))
			return 2;
		if (h.type == IMG_ZPAGES && h.length > 64) {
			buf[off + sizeof(h) + h.length / 2] ^= 0x5a;
			count++;
		}
		off += sizeof(h) + h.length;
	}
	printf("%zu\n", count);
	if (!count)
		return 1;
	rechecksum(buf, size);
	return save(outpath, buf, size);
}

int main(int argc, char **argv)
{
	unsigned char *buf;
	size_t off, cand[4096], ncand = 0;
	long size;

	if (argc == 6 && !strcmp(argv[1], "--replace"))
		return replace(argv[2], argv[3], argv[4], argv[5]);
	if (argc == 4 && !strcmp(argv[1], "--zpages"))
		return damage_zpages(argv[2], argv[3]);
	if (argc != 4 || !(buf = load(argv[1], &size)))
		return 2;
	srand(atoi(argv[3]));
	/* metadata records other than the tail */
	for (off = 0; off + sizeof(struct image_rec_hdr) <= (size_t)size && ncand < 4096;) {
		struct image_rec_hdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.type != IMG_PAGES && h.type != IMG_ZPAGES && h.type != IMG_TAIL && h.length > 0)
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
	rechecksum(buf, size);
	return save(argv[2], buf, size);
}
