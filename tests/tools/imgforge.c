// SPDX-License-Identifier: GPL-2.0-or-later
/* imgforge [--no-fix] VADDR IN OUT: copy an image, inverting every byte of
 * one page record that a lazy restart from a stream leaves to its filler:
 * the PAGES record, in a task's lazy part (or, format 6, in the last
 * segment, a task's), whose pages hold
 * VADDR (a run of up to 2 MiB: wherever a program waits in it, it waits
 * on a forged page). Then it makes everything that is not keyed agree
 * again, as anyone who can write an image can: the checksum of that record
 * and of every record after it (the chain); no length or count changes.
 * What is left wrong is the page MAC, which needs ckptd's key: so a
 * reader must refuse the page by that MAC, and only by it. With --no-fix
 * the checksums stay as written, and the record's own checksum refuses it.
 *
 * IN and OUT are files, or - for standard input and output: the stream is
 * read and written in order, a record at a time, so it can sit in a pipe.
 * Says on standard error "forged pages ADDR N end OFFSET": the record's
 * first page, how many, and the stream offset just past it: a test that
 * holds the stream back there knows the MAC that ends the record's
 * page-MAC segment has not come yet.
 * Exit 1 if no such page (or it is compressed: ZPAGES), 2 for a bad image
 * or an I/O error. For the e2e test of a lazy restart from a forged stream. */
#include "image.h"
#include "image.pb-c.h"
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG 4096ull

struct forge {
	uint64_t vaddr;               /* a page of the record to forge */
	bool fix;                     /* recompute the checksum chain */
	bool meta;                    /* still in the metadata part */
	int64_t last_seg;             /* the last SEGMENT placeholder: its index, or -1 */
	bool last_is_task;
	bool in_last;                 /* the page part is in that segment */
	uint64_t pm_vaddr, pm_pages;  /* the PAGEMAP before a PAGES record */
	bool forged;                  /* the record is inverted: */
	uint64_t first, npages;       /* ... its pages */
	uint64_t end;                 /* ... the offset just past it */
};

static int die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("imgforge: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* len bytes, all of them: 1, 0 at EOF before the first, -1 otherwise. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && got == 0 ? 0 : -1;
		got += (size_t)n;
	}
	return 1;
}

static int write_full(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

/* A SEGMENT record: a placeholder in the metadata, a marker in the pages. */
static int on_segment(struct forge *f, const uint8_t *p, size_t len)
{
	Ckpt__Img__Segment *s = ckpt__img__segment__unpack(NULL, len, p);

	if (!s)
		return -1;
	if (f->meta) {
		f->last_seg = s->index;
		f->last_is_task = s->owner == CKPT__IMG__SEGMENT_OWNER__SEG_TASK;
	} else {
		/* a task's lazy part, after the segments (format 7, image.h), or
		 * the last segment when it is a task's (format 6) */
		f->in_last = s->owner == CKPT__IMG__SEGMENT_OWNER__SEG_TASK &&
			     ((int64_t)s->index > f->last_seg || ((int64_t)s->index == f->last_seg && f->last_is_task));
	}
	ckpt__img__segment__free_unpacked(s, NULL);
	return 0;
}

static int on_pagemap(struct forge *f, const uint8_t *p, size_t len)
{
	Ckpt__Img__Pagemap *pm = ckpt__img__pagemap__unpack(NULL, len, p);

	if (!pm)
		return -1;
	f->pm_vaddr = pm->vaddr;
	f->pm_pages = pm->nr_pages;
	ckpt__img__pagemap__free_unpacked(pm, NULL);
	return 0;
}

/* Whether the page record after the last PAGEMAP holds f->vaddr. */
static bool wanted(const struct forge *f, uint32_t type)
{
	return !f->forged && f->in_last && (type == IMG_PAGES || type == IMG_ZPAGES) && f->vaddr >= f->pm_vaddr &&
	       (f->vaddr - f->pm_vaddr) / PG < f->pm_pages;
}

/* One record, its payload in p: 0, or an exit code. */
static int on_record(struct forge *f, uint32_t type, uint8_t *p, size_t len, uint64_t end)
{
	if (type == IMG_META_END)
		f->meta = false;
	if (type == IMG_SEGMENT && on_segment(f, p, len) < 0)
		return die(2, "a malformed segment record");
	if (type == IMG_PAGEMAP && !f->meta && on_pagemap(f, p, len) < 0)
		return die(2, "a malformed pagemap record");
	if (!wanted(f, type))
		return 0;
	if (type == IMG_ZPAGES)
		return die(1, "the page at %#" PRIx64 " is compressed (ZPAGES): checkpoint without --compress", f->vaddr);
	if (len % PG || len / PG != f->pm_pages)
		return die(2, "a pages record of %zu bytes for %" PRIu64 " pages", len, f->pm_pages);
	for (size_t i = 0; i < len; i++)
		p[i] ^= 0xff;
	f->forged = true;
	f->first = f->pm_vaddr;
	f->npages = f->pm_pages;
	f->end = end;
	return 0;
}

static int forge(struct forge *f, int in, int out)
{
	uint64_t chain = IMAGE_MAGIC, offset = 0;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int r = 0;

	for (;;) {
		struct image_rec_hdr h;
		uint32_t type;
		uint64_t len;
		int got = read_full(in, &h, sizeof(h));

		if (got <= 0) {
			r = got < 0 ? die(2, "the stream ends inside a record header") : 0;
			break;
		}
		type = le32toh(h.type);
		len = le64toh(h.length);
		if (le32toh(h.magic) != IMAGE_MAGIC || len > IMAGE_MAX_PAGES) {
			r = die(2, "not an image: record at offset %" PRIu64, offset);
			break;
		}
		if (len > cap) {
			uint8_t *nb = realloc(buf, len);

			if (!nb) {
				r = die(2, "out of memory for a record of %" PRIu64 " bytes", len);
				break;
			}
			buf = nb;
			cap = len;
		}
		if (len && read_full(in, buf, len) <= 0) {
			r = die(2, "the stream ends inside a record");
			break;
		}
		offset += sizeof(h) + len;
		r = on_record(f, type, buf, len, offset);
		if (r)
			break;
		if (f->fix) {
			chain = image_record_checksum(chain, type, len, buf);
			h.checksum = htole64(chain);
		}
		if (write_full(out, &h, sizeof(h)) < 0 || (len && write_full(out, buf, len) < 0)) {
			r = die(2, "writing: %m");
			break;
		}
	}
	free(buf);
	return r;
}

int main(int argc, char **argv)
{
	struct forge f = { .fix = true, .meta = true, .last_seg = -1 };
	int in, out, r;
	char *endp;

	if (argc == 5 && !strcmp(argv[1], "--no-fix")) {
		f.fix = false;
		argv++;
		argc--;
	}
	if (argc != 4)
		return die(2, "usage: imgforge [--no-fix] VADDR IN OUT");
	errno = 0;
	f.vaddr = strtoull(argv[1], &endp, 0);
	if (errno || *endp || endp == argv[1])
		return die(2, "not an address: %s", argv[1]);
	in = strcmp(argv[2], "-") ? open(argv[2], O_RDONLY | O_CLOEXEC) : 0;
	out = strcmp(argv[3], "-") ? open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
	if (in < 0 || out < 0)
		return die(2, "opening %s: %m", in < 0 ? argv[2] : argv[3]);
	r = forge(&f, in, out);
	if (out != 1 && close(out) < 0 && !r)
		r = die(2, "writing %s: %m", argv[3]);
	if (!r && !f.forged)
		r = die(1, "no page record of a lazy part holds %#" PRIx64, f.vaddr);
	if (!r)
		fprintf(stderr, "forged pages %#" PRIx64 " %" PRIu64 " end %" PRIu64 "\n", f.first, f.npages, f.end);
	return r;
}
