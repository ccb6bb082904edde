// SPDX-License-Identifier: GPL-2.0-or-later
/* Incremental images, restart's side (incr.h): the parents an image names,
 * each read whole (checksums, tail, MAC as the child's), checked to be the
 * one named (the same container, the digest its child holds, or, for an
 * image images rm rewrote, the digest of the image it replaced), and indexed:
 * for each task's segment, where its page runs are in the file and which
 * runs it leaves to its own parent. A PARENT_REF is then served from the
 * newest image that holds the pages. A compressed image's page runs are
 * zstd frames (ZPAGES): a run is read whole by its offset, checked and
 * decompressed again (compress.h), the last one kept for the next read. */
#include "incr.h"
#include "restore.h"
#include "log.h"
#include "macro.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { RUN_DATA, RUN_PARENT };

struct incr_run {
	uint64_t vaddr, nr;
	uint64_t off;                  /* RUN_DATA: file offset of the pages ... */
	uint64_t zlen;                 /* ... and of their zstd frame this long (0: raw) */
	int kind;
};

struct incr_range {
	uint64_t start, end;
};

struct incr_task {
	int32_t pid;
	struct incr_run *runs;
	size_t nruns, cap;
	struct incr_range *inherited;  /* its mappings a fork gave it there */
	size_t ninherited;
};

struct incr_image {
	int fd;
	const char *id;
	struct incr_task *tasks;
	size_t ntasks;
	bool compressed;               /* it holds ZPAGES */
};

struct incr_chain {
	struct incr_image *img;        /* parent first */
	size_t n;
	void *buf;                     /* PAGEBUF_LEN: raw pages read */
	void *zbuf;                    /* a frame read ... */
	size_t zcap;
	struct compress_state z;       /* ... and decompressed: z.buf holds ... */
	const struct incr_image *zim;  /* ... the frame at zoff of image zim */
	uint64_t zoff;
	struct cr_error *err;
};

static struct incr_task *task_get(struct incr_image *im, int32_t pid, bool add)
{
	struct incr_task *t;

	for (size_t i = 0; i < im->ntasks; i++)
		if (im->tasks[i].pid == pid)
			return &im->tasks[i];
	if (!add)
		return NULL;
	t = realloc(im->tasks, (im->ntasks + 1) * sizeof(*t));
	if (!t)
		return NULL;
	im->tasks = t;
	t = &im->tasks[im->ntasks++];
	*t = (struct incr_task){ .pid = pid };
	return t;
}

static int run_add(struct incr_task *t, uint64_t vaddr, uint64_t nr, uint64_t off, uint64_t zlen, int kind)
{
	if (t->nruns == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct incr_run *v;

		if (cap > CR_INCR_RUNS_MAX)
			return -E2BIG;
		v = realloc(t->runs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->runs = v;
		t->cap = cap;
	}
	t->runs[t->nruns++] = (struct incr_run){ .vaddr = vaddr, .nr = nr, .off = off, .zlen = zlen, .kind = kind };
	return 0;
}

static int cmp_run(const void *a, const void *b)
{
	const struct incr_run *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* One parent image's records into im; its header in *ret_hdr (freed by
 * the caller), its digest in *ret_digest. */
struct index_state {
	struct incr_task *seg;         /* the task whose pages come now; NULL: an object's */
	Ckpt__Img__Pagemap *pm;        /* a PAGEMAP waiting for its PAGES */
	struct incr_range *inh;        /* the last MM's inherited mappings ... */
	size_t ninh;                   /* ... for the SEGMENT placeholder after it */
	bool pages_part;
};

static int index_record(struct image_reader *rd, struct incr_image *im, struct index_state *st, uint32_t type,
			const void *p, size_t len)
{
	Ckpt__Img__Segment *sg;
	Ckpt__Img__Mm *mm;
	int r = 0;

	switch (type) {
	case IMG_META_END:
		st->pages_part = true;
		return 0;
	case IMG_MM:
		if (!(mm = image_unpack(rd, &ckpt__img__mm__descriptor, p, len)))
			return -EBADMSG;
		free(st->inh);
		st->inh = calloc(mm->n_vmas + 1, sizeof(*st->inh));
		st->ninh = 0;
		for (size_t k = 0; st->inh && k < mm->n_vmas; k++)
			if (mm->vmas[k]->has_inherit && mm->vmas[k]->inherit)
				st->inh[st->ninh++] = (struct incr_range){ mm->vmas[k]->start, mm->vmas[k]->end };
		protobuf_c_message_free_unpacked(&mm->base, NULL);
		return st->inh ? 0 : -ENOMEM;
	case IMG_SEGMENT:
		if (!(sg = image_unpack(rd, &ckpt__img__segment__descriptor, p, len)))
			return -EBADMSG;
		st->seg = NULL;
		if (sg->owner == CKPT__IMG__SEGMENT_OWNER__SEG_TASK) {
			st->seg = task_get(im, sg->id, true);
			if (!st->seg)
				r = -ENOMEM;
			else if (!st->pages_part) {
				free(st->seg->inherited);
				st->seg->inherited = TAKE_PTR(st->inh);
				st->seg->ninherited = st->ninh;
				st->ninh = 0;
			}
		}
		protobuf_c_message_free_unpacked(&sg->base, NULL);
		return r;
	case IMG_PAGEMAP:
	case IMG_PARENT_REF:
		if (!st->pages_part)
			return 0;
		if (st->pm)
			protobuf_c_message_free_unpacked(&st->pm->base, NULL);
		st->pm = image_unpack(rd, &ckpt__img__pagemap__descriptor, p, len);
		if (!st->pm || st->pm->vaddr % PAGE_SZ || !st->pm->nr_pages || st->pm->nr_pages > (1ull << 36))
			return -EBADMSG;
		if (type == IMG_PAGEMAP)
			return 0;
		r = st->seg ? run_add(st->seg, st->pm->vaddr, st->pm->nr_pages, 0, 0, RUN_PARENT) : -EBADMSG;
		break;
	case IMG_PAGES:
		if (!st->pm)
			return -EBADMSG;
		/* its pages are read again by offset, as they are on disk: a
		 * ZPAGES frame whole, of the length it has there */
		if (len != st->pm->nr_pages * PAGE_SZ)
			return -EBADMSG;
		im->compressed |= rd->unzipped;
		if (st->seg)
			r = run_add(st->seg, st->pm->vaddr, st->pm->nr_pages, rd->rec_offset + sizeof(struct image_rec_hdr),
				    rd->unzipped ? rd->offset - rd->rec_offset - sizeof(struct image_rec_hdr) : 0, RUN_DATA);
		break;
	default:
		return 0;
	}
	protobuf_c_message_free_unpacked(&st->pm->base, NULL);
	st->pm = NULL;
	return r;
}

static int index_image(struct cr_error *err, const struct incr_trust *t, struct incr_image *im,
		       Ckpt__Img__Header **ret_hdr, uint64_t *ret_digest)
{
	struct index_state st = { 0 };
	struct image_reader rd;
	const void *p;
	uint32_t type;
	size_t len;
	int r;

	image_reader_init(&rd, im->fd);
	r = t->trust ? 0 : image_reader_verify(&rd, t->keys, t->nkeys);
	if (r < 0) {
		image_reader_free(&rd);
		return cr_fail(err, CR_ERR_INTERNAL, -r, "the image's MAC keys");
	}
	while ((r = image_read_record(&rd, &type, &p, &len)) > 0) {
		if (type == IMG_HEADER && !*ret_hdr &&
		    !(*ret_hdr = image_unpack(&rd, &ckpt__img__header__descriptor, p, len))) {
			r = -EBADMSG;
			break;
		}
		r = index_record(&rd, im, &st, type, p, len);
		if (r < 0)
			break;
	}
	if (r == 0)
		*ret_digest = rd.chain;
	else
		r = cr_fail(err, r == -ENOMEM ? CR_ERR_INTERNAL : CR_ERR_BAD_IMAGE, r == -EBADMSG ? 0 : -r,
			    "parent image %s: %s", im->id, rd.error[0] ? rd.error : "a malformed page record");
	if (st.pm)
		protobuf_c_message_free_unpacked(&st.pm->base, NULL);
	free(st.inh);
	image_reader_free(&rd);
	for (size_t i = 0; i < im->ntasks; i++)
		qsort(im->tasks[i].runs, im->tasks[i].nruns, sizeof(struct incr_run), cmp_run);
	return r;
}

int incr_chain_open(struct restore_ctx *ctx)
{
	const Ckpt__Img__Header *h = ctx->hdr;
	char wantbuf[64];
	const char *want = h->parent_id;
	uint64_t digest = h->parent_digest;
	const struct incr_trust trust = { ctx->req->keys, ctx->req->nkeys, ctx->req->trust_image };
	struct incr_chain *c;
	size_t i;
	int r = 0;

	if (!want)
		return 0;
	if (!h->has_parent_digest || ctx->req->nparents == 0)
		return cr_fail_obj(ctx->err, CR_ERR_BAD_IMAGE, 0, "the image", "it is incremental: it needs its parent "
				   "image %.24s (restart it from the container's store, where its parents are)", want);
	if (ctx->req->nparents > CR_INCR_CHAIN_MAX)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: a chain of more than %d parent images",
			       CR_INCR_CHAIN_MAX);
	c = ctx->chain = calloc(1, sizeof(*c));
	if (!c || !(c->img = calloc(ctx->req->nparents, sizeof(*c->img))) || !(c->buf = malloc(PAGEBUF_LEN)))
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "the parent images' index");
	c->err = ctx->err;
	for (i = 0; i < ctx->req->nparents && r >= 0 && want; i++) {
		struct incr_image *im = &c->img[c->n++];
		Ckpt__Img__Header *ph = NULL;
		uint64_t d = 0;

		im->fd = ctx->req->parent_fds[i];
		im->id = ctx->req->parent_ids[i];
		if (strcmp(im->id, want) != 0)
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: its parent is %.24s, not %s", want, im->id);
		if (r >= 0)
			r = index_image(ctx->err, &trust, im, &ph, &d);
		if (r >= 0 && (!ph || !ph->container || !h->container || strcmp(ph->container, h->container) != 0))
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "parent image %s: of another container", im->id);
		else if (r >= 0 && !incr_answers(ph, d, digest))
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "parent image %s: not the image its child was made "
				    "after (its digest differs)", im->id);
		want = NULL;
		if (ph && ph->parent_id) {
			snprintf(wantbuf, sizeof(wantbuf), "%s", ph->parent_id);
			want = wantbuf;
		}
		digest = ph ? ph->parent_digest : 0;
		if (ph && want && !ph->has_parent_digest)
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "parent image %s: a parent without its digest", im->id);
		if (ph)
			protobuf_c_message_free_unpacked(&ph->base, NULL);
	}
	if (r >= 0 && want)
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: parent image %.24s of the chain is missing", want);
	return r < 0 ? r : 0;
}

static const struct incr_run *run_at(const struct incr_task *t, uint64_t addr, uint64_t *ret_next)
{
	size_t lo = 0, hi = t ? t->nruns : 0;

	*ret_next = UINT64_MAX;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct incr_run *x = &t->runs[mid];

		if (addr < x->vaddr) {
			*ret_next = x->vaddr;
			hi = mid;
		} else if (addr >= x->vaddr + x->nr * PAGE_SZ) {
			lo = mid + 1;
		} else {
			return x;
		}
	}
	return NULL;
}

static bool inherited_there(const struct incr_task *t, uint64_t a, uint64_t b)
{
	for (size_t i = 0; t && i < t->ninherited; i++)
		if (t->inherited[i].start < b && a < t->inherited[i].end)
			return true;
	return false;
}

/* The restart's sink: pages into the task being restored. */
static int copy_data(void *arg, uint64_t addr, const void *buf, uint64_t len)
{
	struct restore_ctx *ctx = arg;
	int r = rtask_write(ctx->cur->host_pid, addr, buf, len);

	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: writing pages at %#lx", ctx->cur->tt->pid,
			       (unsigned long)addr);
	ctx->pages += len / PAGE_SZ;
	return 0;
}

/* The frame of run x of im, decompressed into c->z.buf (the last one is
 * kept: a run is read in PAGEBUF_LEN pieces). */
static int unzip_run(struct incr_chain *c, const struct incr_image *im, const struct incr_run *x)
{
	char why[160];
	ssize_t got;

	if (c->zim == im && c->zoff == x->off)
		return 0;
	c->zim = NULL;
	if (x->zlen > IMAGE_MAX_PAGES)
		return cr_fail(c->err, CR_ERR_BAD_IMAGE, 0, "parent image %s: a compressed page record of %" PRIu64
			       " bytes", im->id, x->zlen);
	if (x->zlen > c->zcap) {
		void *b = realloc(c->zbuf, x->zlen);

		if (!b)
			return cr_fail(c->err, CR_ERR_INTERNAL, ENOMEM, "parent image %s: reading its pages", im->id);
		c->zbuf = b;
		c->zcap = x->zlen;
	}
	got = pread(im->fd, c->zbuf, x->zlen, (off_t)x->off);
	if (got != (ssize_t)x->zlen)
		return cr_fail(c->err, got < 0 ? CR_ERR_IO : CR_ERR_BAD_IMAGE, got < 0 ? errno : 0,
			       "parent image %s: reading pages at %#lx", im->id, (unsigned long)x->vaddr);
	got = decompress_chunk(&c->z, c->zbuf, x->zlen, IMAGE_MAX_PAGES, PAGE_SZ, why, sizeof(why));
	if (got == -ENOMEM)
		return cr_fail(c->err, CR_ERR_INTERNAL, ENOMEM, "parent image %s: decompressing its pages", im->id);
	if (got < 0 || (uint64_t)got != x->nr * PAGE_SZ)
		return cr_fail(c->err, CR_ERR_BAD_IMAGE, 0, "parent image %s: zpages at %#lx: %s", im->id,
			       (unsigned long)x->vaddr, got < 0 ? why : "not the pages its index holds");
	c->zim = im;
	c->zoff = x->off;
	return 0;
}

/* [addr, addr + len) of data run x of im, to sink, PAGEBUF_LEN at a time. */
static int run_data(struct incr_chain *c, const struct incr_sink *sink, const struct incr_image *im,
		    const struct incr_run *x, uint64_t addr, uint64_t len)
{
	int r;

	if (x->zlen) {
		r = unzip_run(c, im, x);
		return r < 0 ? r : sink->data(sink->arg, addr, (const char *)c->z.buf + (addr - x->vaddr), len);
	}
	for (r = 0; len && r >= 0;) {
		size_t n = MIN(len, (uint64_t)PAGEBUF_LEN);
		ssize_t got = pread(im->fd, c->buf, n, (off_t)(x->off + (addr - x->vaddr)));

		if (got != (ssize_t)n)
			return cr_fail(c->err, got < 0 ? CR_ERR_IO : CR_ERR_BAD_IMAGE, got < 0 ? errno : 0,
				       "parent image %s: reading pages at %#lx", im->id, (unsigned long)addr);
		r = sink->data(sink->arg, addr, c->buf, n);
		addr += n;
		len -= n;
	}
	return r;
}

/* [addr, end) of task pid as image level of the chain has it, handed to
 * sink: its pages from the image that holds them, and what the oldest
 * image leaves to a parent beyond the chain (an error without sink->ref). */
static int fill(struct incr_chain *c, const struct incr_sink *sink, size_t level, int32_t pid, uint64_t addr,
		uint64_t end)
{
	const struct incr_image *im;
	const struct incr_task *t;
	int r = 0;

	if (level >= c->n && sink->ref)
		return sink->ref(sink->arg, addr, end - addr);
	if (level >= c->n)
		return cr_fail(c->err, CR_ERR_BAD_IMAGE, 0, "image: pages at %#lx of task %d left to a parent that "
			       "the chain lacks", (unsigned long)addr, pid);
	im = &c->img[level];
	t = task_get((struct incr_image *)im, pid, false);
	while (addr < end && r >= 0) {
		uint64_t next, stop;
		const struct incr_run *x = run_at(t, addr, &next);

		if (!x) {
			/* Not in that image: nothing was there then, and nothing
			 * was written since; the fresh mapping has it right. A
			 * page it had by fork from its parent is another's. */
			stop = MIN(end, next);
			if (inherited_there(t, addr, stop))
				return cr_fail(c->err, CR_ERR_BAD_IMAGE, 0, "task %d: pages at %#lx that parent image %s "
					       "leaves to a forked mapping", pid, (unsigned long)addr, im->id);
			addr = stop;
			continue;
		}
		stop = MIN(end, x->vaddr + x->nr * PAGE_SZ);
		if (x->kind == RUN_DATA)
			r = run_data(c, sink, im, x, addr, stop - addr);
		else
			r = fill(c, sink, level + 1, pid, addr, stop);
		addr = stop;
	}
	return r;
}

int incr_chain_fill(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm)
{
	const struct incr_sink sink = { .data = copy_data, .arg = ctx };

	if (!ctx->chain)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: pages left to a parent it does not name");
	return fill(ctx->chain, &sink, 0, ctx->cur->tt->pid, pm->vaddr, pm->vaddr + pm->nr_pages * PAGE_SZ);
}

bool incr_answers(const Ckpt__Img__Header *ph, uint64_t digest, uint64_t named)
{
	return digest == named || (ph && ph->has_replaces_digest && ph->replaces_digest == named);
}

int incr_index_open(int fd, const char *id, const struct incr_trust *t, struct cr_error *err,
		    struct incr_chain **ret, Ckpt__Img__Header **ret_hdr, uint64_t *ret_digest)
{
	struct incr_chain *c = calloc(1, sizeof(*c));
	int r;

	*ret = NULL;
	*ret_hdr = NULL;
	if (!c || !(c->img = calloc(1, sizeof(*c->img)))) {
		free(c);
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "image %s: its index", id);
	}
	c->n = 1;
	c->err = err;
	c->img[0].fd = fd;
	c->img[0].id = id;
	if (!(c->buf = malloc(PAGEBUF_LEN))) {
		free(c->img);
		free(c);
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "image %s: its index", id);
	}
	*ret = c;
	r = index_image(err, t, &c->img[0], ret_hdr, ret_digest);
	if (r >= 0 && !*ret_hdr)
		r = cr_fail(err, CR_ERR_BAD_IMAGE, 0, "image %s: no header", id);
	return r;
}

int incr_index_fill(struct incr_chain *c, const struct incr_sink *sink, int32_t pid, uint64_t addr, uint64_t end)
{
	return fill(c, sink, 0, pid, addr, end);
}

bool incr_index_compressed(const struct incr_chain *c)
{
	return c && c->n && c->img[0].compressed;
}

static void chain_destroy(struct incr_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		for (size_t k = 0; k < c->img[i].ntasks; k++) {
			free(c->img[i].tasks[k].runs);
			free(c->img[i].tasks[k].inherited);
		}
		free(c->img[i].tasks);
	}
	free(c->img);
	free(c->buf);
	free(c->zbuf);
	compress_free(&c->z);
	free(c);
}

void incr_index_free(struct incr_chain *c)
{
	chain_destroy(c);
}

void incr_chain_free(struct restore_ctx *ctx)
{
	chain_destroy(ctx->chain);
	ctx->chain = NULL;
}
