// SPDX-License-Identifier: GPL-2.0-or-later
/* Page payloads left in an image file by a lazy reader, read back later in
 * any order and verified against their segment's page-MAC tag first
 * (image_lazy.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_lazy.h"
#include "macro.h"

/* What one pread feeds the MAC of a segment's other extents (old images
 * only: since per-record page MACs a segment is one extent). */
#define LAZY_SCRATCH (1u << 20)

struct lazy_tag {
	uint32_t seg;
	uint8_t tag[MAC_PAGE_TAG_LEN];
};

struct image_lazy {
	pthread_mutex_t lock;        /* the tables, refs: the reader appends
				      * while image_lazy_read looks */
	int refs;                    /* the caller's and the reader's */
	int fd;
	uint64_t base;               /* file offset of the reader's stream offset 0 */
	uint64_t size;               /* the file's size: no extent goes past it */
	bool keyed;
	uint8_t key[MAC_KEY_LEN];    /* the page key and base IV of the image */
	uint8_t iv[MAC_PAGE_IV_LEN];
	struct image_extent *ext;
	size_t n, cap;
	struct lazy_tag *tags;       /* by segment, ascending */
	size_t ntags, tcap;
	/* the reader's own: the segment it is in and what it did with it */
	uint32_t cur_seg;
	bool seg_read, seg_skipped;
	pthread_mutex_t zlock;       /* z and zbuf: one ZPAGES frame at a time */
	struct compress_state z;
	void *zbuf;
	size_t zcap;
};

static void lazy_destroy(struct image_lazy *lz)
{
	if (lz->fd >= 0)
		close(lz->fd);
	explicit_bzero(lz->key, sizeof(lz->key));
	compress_free(&lz->z);
	free(lz->zbuf);
	free(lz->ext);
	free(lz->tags);
	pthread_mutex_destroy(&lz->lock);
	pthread_mutex_destroy(&lz->zlock);
	free(lz);
}

int image_reader_set_lazy(struct image_reader *r, struct image_lazy **ret)
{
	struct image_lazy *lz;
	struct stat st;
	off_t pos;

	/* a skipped payload escapes the unkeyed chain: only the MACs cover it */
	if (!r->verify || !r->ncand)
		return -EPERM;
	if (r->lazy || r->page_recs)
		return -EBUSY;
	if (fstat(r->io.fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ESPIPE;
	pos = lseek(r->io.fd, 0, SEEK_CUR);
	if (pos < 0)
		return -errno;
	if ((uint64_t)pos < r->offset)
		return -EINVAL;
	lz = calloc(1, sizeof(*lz));
	r->win = malloc(IMAGE_WINDOW);
	if (!lz || !r->win) {
		free(lz);
		free(r->win);
		r->win = NULL;
		return -ENOMEM;
	}
	lz->fd = fcntl(r->io.fd, F_DUPFD_CLOEXEC, 3);
	if (lz->fd < 0) {
		free(lz);
		free(r->win);
		r->win = NULL;
		return -errno;
	}
	pthread_mutex_init(&lz->lock, NULL);
	pthread_mutex_init(&lz->zlock, NULL);
	lz->refs = 2;
	lz->base = (uint64_t)pos - r->offset;
	lz->size = (uint64_t)st.st_size;
	r->pos = (uint64_t)pos;
	r->win_off = r->win_len = 0;
	r->lazy = lz;
	*ret = lz;
	return 0;
}

void image_reader_skip_next(struct image_reader *r)
{
	r->skip_next = true;
}

ssize_t image_lazy_last(const struct image_lazy *lz)
{
	struct image_lazy *l = (struct image_lazy *)lz;
	ssize_t i;

	pthread_mutex_lock(&l->lock);
	i = (ssize_t)l->n - 1;
	pthread_mutex_unlock(&l->lock);
	return i;
}

size_t image_lazy_count(const struct image_lazy *lz)
{
	return (size_t)(image_lazy_last(lz) + 1);
}

int image_lazy_fits(const struct image_lazy *lz, size_t i, uint64_t npages)
{
	struct image_lazy *l = (struct image_lazy *)lz;
	uint64_t want = npages * IMAGE_PAGE_UNIT;
	struct image_extent e;

	if (npages == 0 || npages > IMAGE_MAX_PAGES / IMAGE_PAGE_UNIT)
		return -EPROTO;
	pthread_mutex_lock(&l->lock);
	if (i >= l->n) {
		pthread_mutex_unlock(&l->lock);
		return -ERANGE;
	}
	e = l->ext[i];
	pthread_mutex_unlock(&l->lock);
	if (e.type == IMG_ZPAGES)
		return e.len && e.len < want ? 0 : -EPROTO;
	return e.len == want ? 0 : -EPROTO;
}

void image_lazy_release(struct image_lazy *lz)
{
	int left;

	if (!lz)
		return;
	pthread_mutex_lock(&lz->lock);
	left = --lz->refs;
	pthread_mutex_unlock(&lz->lock);
	if (!left)
		lazy_destroy(lz);
}

void image_lazy_free(struct image_lazy *lz)
{
	image_lazy_release(lz);
}

int image_lazy_note(struct image_lazy *lz, uint32_t seg, bool skipped)
{
	if (seg != lz->cur_seg) {
		lz->cur_seg = seg;
		lz->seg_read = lz->seg_skipped = false;
	}
	if (skipped ? lz->seg_read : lz->seg_skipped)
		return -EPROTO;
	if (skipped)
		lz->seg_skipped = true;
	else
		lz->seg_read = true;
	return 0;
}

/* Double *cap up to max entries of size sz; -EFBIG past max. */
static int lazy_grow(void **p, size_t *cap, size_t n, size_t sz, size_t max)
{
	size_t c;
	void *q;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -EFBIG;
	c = MIN(MAX((size_t)64, *cap * 2), max);
	q = realloc(*p, c * sz);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

int image_lazy_add(struct image_lazy *lz, uint64_t off, uint64_t len, uint32_t type, uint32_t seg)
{
	uint64_t at = lz->base + off;
	int r;

	if (len > IMAGE_MAX_PAGES || at > lz->size || len > lz->size - at)
		return -ENODATA;
	pthread_mutex_lock(&lz->lock);
	/* every payload has a record header before it */
	r = lazy_grow((void **)&lz->ext, &lz->cap, lz->n, sizeof(*lz->ext),
		      lz->size / sizeof(struct image_rec_hdr) + 1);
	if (r >= 0)
		lz->ext[lz->n++] = (struct image_extent){ .off = at, .len = (uint32_t)len, .type = type, .group = seg };
	pthread_mutex_unlock(&lz->lock);
	return r;
}

int image_lazy_end_segment(struct image_lazy *lz, uint32_t seg, const uint8_t key[MAC_KEY_LEN],
			   const uint8_t base_iv[MAC_PAGE_IV_LEN], const uint8_t tag[MAC_PAGE_TAG_LEN])
{
	int r;

	if (seg != lz->cur_seg || !lz->seg_skipped)
		return 0;
	pthread_mutex_lock(&lz->lock);
	/* a segment with a tag here holds at least one extent */
	r = lazy_grow((void **)&lz->tags, &lz->tcap, lz->ntags, sizeof(*lz->tags), lz->n);
	if (r >= 0) {
		lz->tags[lz->ntags].seg = seg;
		memcpy(lz->tags[lz->ntags].tag, tag, MAC_PAGE_TAG_LEN);
		lz->ntags++;
		if (!lz->keyed) {
			memcpy(lz->key, key, sizeof(lz->key));
			memcpy(lz->iv, base_iv, sizeof(lz->iv));
			lz->keyed = true;
		}
	}
	pthread_mutex_unlock(&lz->lock);
	lz->seg_skipped = false;
	return r < 0 ? r : 1;
}

/* The tag of segment seg, if its MAC was read. Under lz->lock. */
static const struct lazy_tag *lazy_tag_of(const struct image_lazy *lz, uint32_t seg)
{
	size_t lo = 0, hi = lz->ntags;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (lz->tags[mid].seg == seg)
			return &lz->tags[mid];
		if (lz->tags[mid].seg < seg)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* What image_lazy_read needs, copied under the lock: the segment of extent
 * i (its extents [*a, *b) into *ret), its tag, the page key and IV. */
struct lazy_job {
	struct image_extent one, *ext;
	size_t n, target;
	uint8_t tag[MAC_PAGE_TAG_LEN];
	uint8_t key[MAC_KEY_LEN];
	uint8_t iv[MAC_PAGE_IV_LEN];
};

static int lazy_job_get(struct image_lazy *lz, size_t i, struct lazy_job *j)
{
	const struct lazy_tag *t;
	size_t a, b;
	int r = 0;

	pthread_mutex_lock(&lz->lock);
	if (i >= lz->n) {
		r = -ERANGE;
		goto out;
	}
	t = lazy_tag_of(lz, lz->ext[i].group);
	if (!t) {
		r = -ENODATA;
		goto out;
	}
	/* a segment's extents are consecutive: segments only grow */
	for (a = i; a > 0 && lz->ext[a - 1].group == lz->ext[i].group; a--)
		;
	for (b = i + 1; b < lz->n && lz->ext[b].group == lz->ext[i].group; b++)
		;
	j->n = b - a;
	j->target = i - a;
	j->ext = &j->one;
	if (j->n > 1 && !(j->ext = malloc(j->n * sizeof(*j->ext)))) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(j->ext, &lz->ext[a], j->n * sizeof(*j->ext));
	memcpy(j->tag, t->tag, sizeof(j->tag));
	memcpy(j->key, lz->key, sizeof(j->key));
	memcpy(j->iv, lz->iv, sizeof(j->iv));
out:
	pthread_mutex_unlock(&lz->lock);
	return r;
}

static void lazy_job_free(struct lazy_job *j)
{
	if (j->ext != &j->one)
		free(j->ext);
	explicit_bzero(j->key, sizeof(j->key));
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t k = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ENODATA;
		done += (size_t)k;
	}
	return 0;
}

/* Feed extent e, read from the file, to the segment's MAC without keeping it. */
static int lazy_feed_other(int fd, struct mac_state *g, const struct image_extent *e, void **scratch)
{
	size_t done = 0;

	if (!*scratch && !(*scratch = malloc(LAZY_SCRATCH)))
		return -ENOMEM;
	while (done < e->len) {
		size_t k = MIN((size_t)LAZY_SCRATCH, e->len - done);
		int r = pread_full(fd, *scratch, k, e->off + done);

		if (r < 0)
			return r;
		if (mac_update(g, *scratch, k) < 0)
			return -EIO;
		done += k;
	}
	return 0;
}

/* The segment's payloads, in stream order, under its own nonce against the
 * tag its MAC record carried; the target's bytes land in dst. */
static int lazy_verify(struct image_lazy *lz, const struct lazy_job *j, void *dst)
{
	uint8_t tag[MAC_PAGE_TAG_LEN];
	_cleanup_free_ void *scratch = NULL;
	struct mac_state g = { 0 };
	int r;

	r = image_page_mac_segment(&g, j->key, j->iv, j->ext[0].group);
	for (size_t k = 0; k < j->n && r >= 0; k++) {
		const struct image_extent *e = &j->ext[k];

		if (k != j->target) {
			r = lazy_feed_other(lz->fd, &g, e, &scratch);
			continue;
		}
		r = pread_full(lz->fd, dst, e->len, e->off);
		if (r >= 0 && mac_update(&g, dst, e->len) < 0)
			r = -EIO;
	}
	if (r >= 0 && mac_gmac_peek(&g, tag) < 0)
		r = -EIO;
	if (r >= 0 && !mac_tag_equal(tag, j->tag))
		r = -EBADMSG;
	mac_free(&g);
	return r;
}

/* A ZPAGES frame: read and verified into zbuf, then decompressed into buf. */
static int lazy_read_zpages(struct image_lazy *lz, const struct lazy_job *j, void *buf, size_t cap)
{
	const struct image_extent *e = &j->ext[j->target];
	char why[160];
	ssize_t n;
	int r;

	pthread_mutex_lock(&lz->zlock);
	if (lz->zcap < e->len) {
		void *p = malloc(e->len);

		if (!p) {
			r = -ENOMEM;
			goto out;
		}
		free(lz->zbuf);
		lz->zbuf = p;
		lz->zcap = e->len;
	}
	r = lazy_verify(lz, j, lz->zbuf);
	if (r < 0)
		goto out;
	/* authentic, so a frame that is wrong was written wrong: still refused */
	n = decompress_chunk(&lz->z, lz->zbuf, e->len, IMAGE_MAX_PAGES, IMAGE_PAGE_UNIT, why, sizeof(why));
	if (n < 0)
		r = n == -ENOMEM ? -ENOMEM : -EBADMSG;
	else if ((size_t)n != cap)
		r = -EPROTO;
	else
		memcpy(buf, lz->z.buf, cap);
out:
	pthread_mutex_unlock(&lz->zlock);
	return r;
}

int image_lazy_read(struct image_lazy *lz, size_t i, void *buf, size_t cap)
{
	struct lazy_job j;
	int r;

	if (cap > IMAGE_MAX_PAGES)
		return -EINVAL;
	r = lazy_job_get(lz, i, &j);
	if (r < 0)
		return r;
	if (j.ext[j.target].type == IMG_ZPAGES) {
		r = lazy_read_zpages(lz, &j, buf, cap);
	} else if (j.ext[j.target].len != cap) {
		r = -EPROTO;
	} else {
		r = lazy_verify(lz, &j, buf);
		/* what failed its MAC never reaches the caller */
		if (r < 0)
			memset(buf, 0, cap);
	}
	lazy_job_free(&j);
	return r;
}
