// SPDX-License-Identifier: GPL-2.0-or-later
/* Page payloads a reader left in a seekable image file, and the page-MAC
 * tags that authenticate them, so that they can be read later, in any
 * order, each verified before use.
 *
 * A keyed writer ends a page-MAC segment (image.h) after every PAGES and
 * ZPAGES record: the record after it is an IMG_MAC, or the TAIL, which
 * carries the tag of that record's payload alone. A reader in lazy mode
 * may then leave any page payload in the file: the HMAC of the MAC record
 * after it still covers its header (offset and length are authenticated)
 * and the tag, which is kept, not compared, until image_lazy_read reads the
 * payload and compares it there. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image.h"

struct image_extent {
	uint64_t off;    /* file offset of the payload */
	uint32_t len;    /* stored length (a ZPAGES frame, or whole pages) */
	uint32_t type;   /* IMG_PAGES or IMG_ZPAGES */
	uint32_t group;  /* page-MAC segment whose tag covers it */
};
struct image_lazy;   /* opaque: fd (dup'ed), page key, base IV, tags, extents */

/* Put reader r (on a regular file, keyed, before its first page record)
 * in lazy mode. From then on image_reader_skip_next(r) before a read makes
 * the next record, if it is PAGES or ZPAGES, come back from
 * image_read_record with *p == NULL and *len = its stored length (its type
 * as the reader hands out that record's type: IMG_PAGES unless
 * r->raw_pages), the payload left in the file (read past it); its extent
 * is appended to the table and its index returned by image_lazy_last(). A
 * page-MAC segment whose payloads were skipped has its tag (authenticated
 * by that MAC record's HMAC, which is checked as always) stored instead of
 * compared. A segment that mixes read and skipped payloads is refused
 * (-EPROTO): images made before every page record got its own MAC.
 * -EPERM: r does not verify under a key; -ESPIPE: not a regular file;
 * -EBUSY: already lazy, or a page record was read. *ret stays valid after
 * image_reader_free(r) until image_lazy_free. */
int image_reader_set_lazy(struct image_reader *r, struct image_lazy **ret);
/* A lazy reader reads the file by offset through a window this large: a
 * page record's payload is skipped, so what lies between two of them (a
 * MAC, a PAGEMAP, the next header: some hundred bytes) comes in one read. */
#define IMAGE_WINDOW 4096u
void image_reader_skip_next(struct image_reader *r);
ssize_t image_lazy_last(const struct image_lazy *lz);   /* -1: none yet */

/* Read extent i (pread, safe to call from any thread while the reader goes
 * on, or after it is freed), verify its segment's page MAC (the whole
 * segment: normally this one extent), and put its pages, decompressed,
 * into buf: exactly cap bytes, the page count its PAGEMAP said times 4096.
 * -EBADMSG if the MAC fails (buf is then zeroed: no unverified byte is
 * left in it), -EPROTO if it decompresses to another size, -ENODATA if the
 * MAC record that ends its segment was not read (yet), -ERANGE if no
 * extent i. */
int image_lazy_read(struct image_lazy *lz, size_t i, void *buf, size_t cap);
size_t image_lazy_count(const struct image_lazy *lz);
/* Whether extent i can hold npages pages, as far as its stored length
 * tells before it is read: a PAGES payload is exactly npages * 4096 bytes,
 * a ZPAGES frame is smaller than that (a writer compresses only what
 * shrinks) and not empty. 0, -EPROTO if not, -ERANGE if no extent i. */
int image_lazy_fits(const struct image_lazy *lz, size_t i, uint64_t npages);
void image_lazy_free(struct image_lazy *lz);

/* ---- for image.c alone ---- */

/* A page record was read (skipped false) or left in the file (true) in
 * segment seg: -EPROTO if the segment then holds both. */
int image_lazy_note(struct image_lazy *lz, uint32_t seg, bool skipped);
/* The payload at stream offset off (from the reader's first record) was
 * left in the file: -ENODATA if it ends past the file's end. */
int image_lazy_add(struct image_lazy *lz, uint64_t off, uint64_t len, uint32_t type, uint32_t seg);
/* The verified MAC record that ends segment seg carries tag: kept if the
 * segment had skipped payloads; returns 1 if so (the caller then does not
 * compare it), 0 if the reader read them (it compares as always). */
int image_lazy_end_segment(struct image_lazy *lz, uint32_t seg, const uint8_t key[MAC_KEY_LEN],
			   const uint8_t base_iv[MAC_PAGE_IV_LEN], const uint8_t tag[MAC_PAGE_TAG_LEN]);
/* The reader drops its hold on lz (image_reader_free). */
void image_lazy_release(struct image_lazy *lz);
/* The page MAC of segment seg: from one MAC record to the next. */
int image_page_mac_segment(struct mac_state *g, const uint8_t key[MAC_KEY_LEN], const uint8_t base_iv[MAC_PAGE_IV_LEN],
			   uint32_t seg);
