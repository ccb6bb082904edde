// SPDX-License-Identifier: GPL-2.0-or-later
/* images rm of an image that an incremental image names as its parent
 * (incr.h): the child is rewritten with the parent's pages it takes from
 * it folded in. Each PARENT_REF of the child becomes the parent's page
 * records for those addresses (and PARENT_REFs again for what the parent
 * itself left to its own parent); the rewritten image names the parent's
 * parent, or none if the parent was full. Every other record is copied as
 * it is, so the rewritten image restores the same state as the child did
 * with its parent. Compressed page records of the child are copied as they
 * are; if either image is compressed, the parent's pages are compressed
 * again as they are written.
 *
 * The child's own children name it by digest, and the rewritten image's
 * digest is another: its header carries the digest of the image it
 * replaces (replaces_digest), which restart accepts in place of its own
 * (incr_answers). The field is under the image's MAC like the rest, so
 * only the holder of the store's key can make an image answer for
 * another; a wrong parent (another image, another container's, the
 * merged child's own parent) is still refused, as neither digest is its. */
#include "incr.h"
#include "fault.h"
#include "log.h"
#include "macro.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct merge {
	const struct incr_merge_req *req;
	struct cr_error *err;
	struct image_writer w;
	const Ckpt__Img__Header *ph;   /* the parent's header */
};

/* The child read whole and checked: its header (the caller frees it) and
 * its digest. */
static int child_check(struct merge *m, Ckpt__Img__Header **ret_hdr, uint64_t *ret_digest, bool *ret_zip)
{
	const struct incr_merge_req *q = m->req;
	struct image_reader rd;
	const void *p;
	uint32_t type;
	size_t len;
	int r;

	*ret_hdr = NULL;
	image_reader_init(&rd, q->child_fd);
	r = q->trust->trust ? 0 : image_reader_verify(&rd, q->trust->keys, q->trust->nkeys);
	while (r >= 0 && (r = image_read_record(&rd, &type, &p, &len)) > 0) {
		*ret_zip |= rd.unzipped;
		if (type == IMG_HEADER && !*ret_hdr &&
		    !(*ret_hdr = image_unpack(&rd, &ckpt__img__header__descriptor, p, len)))
			r = -EBADMSG;
	}
	if (r < 0)
		r = cr_fail(m->err, CR_ERR_BAD_IMAGE, r == -EBADMSG ? 0 : -r, "image %s: %s", q->child_id,
			    rd.error[0] ? rd.error : "a malformed header");
	else
		*ret_digest = rd.chain;
	image_reader_free(&rd);
	return r;
}

static int write_fail(struct merge *m, int r)
{
	return cr_fail(m->err, CR_ERR_IO, -r, "image %s: writing its merged copy", m->req->child_id);
}

/* The parent's pages [addr, addr + len), as records of the merged image. */
static int put_data(void *arg, uint64_t addr, const void *buf, uint64_t len)
{
	struct merge *m = arg;

	while (len) {
		Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;
		size_t n = MIN(len, (uint64_t)PAGEBUF_LEN);
		int r;

		pm.vaddr = addr;
		pm.nr_pages = n / PAGE_SZ;
		r = image_write_msg(&m->w, IMG_PAGEMAP, &pm.base);
		if (r >= 0)
			r = image_write_record(&m->w, IMG_PAGES, buf, n);
		if (r < 0)
			return write_fail(m, r);
		buf = (const char *)buf + n;
		addr += n;
		len -= n;
	}
	return 0;
}

/* What the parent itself left to its own parent: the merged image's
 * parent from now on. */
static int put_ref(void *arg, uint64_t addr, uint64_t len)
{
	Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;
	struct merge *m = arg;
	int r;

	if (!m->ph->parent_id)
		return cr_fail(m->err, CR_ERR_BAD_IMAGE, 0, "image %s: it leaves pages at %#lx to a parent it does not "
			       "name", m->req->parent_id, (unsigned long)addr);
	pm.vaddr = addr;
	pm.nr_pages = len / PAGE_SZ;
	r = image_write_msg(&m->w, IMG_PARENT_REF, &pm.base);
	return r < 0 ? write_fail(m, r) : 0;
}

/* The child's header, naming the parent's parent and the image it replaces. */
static int put_header(struct merge *m, Ckpt__Img__Header *h, uint64_t child_digest)
{
	char *own = h->parent_id;  /* h's to free */
	int r;

	if (!h->has_replaces_digest) {
		h->has_replaces_digest = true;
		h->replaces_digest = child_digest;
	}
	h->parent_id = m->ph->parent_id;
	h->has_parent_digest = m->ph->parent_id != NULL;
	h->parent_digest = m->ph->parent_id ? m->ph->parent_digest : 0;
	r = image_write_msg(&m->w, IMG_HEADER, &h->base);
	h->parent_id = own;
	return r < 0 ? write_fail(m, r) : 0;
}

/* META_END counts the metadata's payload bytes: the header's change. The
 * reader's count includes META_END's own payload by now. */
static int put_meta_end(struct merge *m, struct image_reader *rd, const void *p, size_t len)
{
	Ckpt__Img__MetaEnd *e = image_unpack(rd, &ckpt__img__meta_end__descriptor, p, len);
	uint64_t before = rd->bytes - len;
	int r;

	if (!e)
		return -EBADMSG;
	e->bytes = e->bytes - before + m->w.bytes;
	r = image_write_msg(&m->w, IMG_META_END, &e->base);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	return r < 0 ? write_fail(m, r) : 0;
}

/* A PARENT_REF of the child's task pid: the parent's pages instead. */
static int put_resolved(struct merge *m, struct incr_chain *pc, int32_t pid, const Ckpt__Img__Pagemap *pm)
{
	const struct incr_sink sink = { .data = put_data, .ref = put_ref, .arg = m };
	int r = cr_cancel_check(m->err);

	return r < 0 ? r : incr_index_fill(pc, &sink, pid, pm->vaddr, pm->vaddr + pm->nr_pages * PAGE_SZ);
}

/* Second pass over the child: the merged copy. */
static int copy_child(struct merge *m, struct incr_chain *pc, Ckpt__Img__Header *ch, uint64_t child_digest)
{
	const struct incr_merge_req *q = m->req;
	struct image_reader rd;
	bool pages_part = false;
	int32_t pid = -1;          /* the task whose page segment this is; -1: an object's */
	const void *p;
	uint32_t type;
	size_t len;
	int r;

	if (lseek(q->child_fd, 0, SEEK_SET) < 0)
		return cr_fail(m->err, CR_ERR_IO, errno, "image %s: reading it again", q->child_id);
	image_reader_init(&rd, q->child_fd);
	rd.pass_mac = true;
	rd.raw_pages = true;   /* ZPAGES as they are: child_check unpacked each one */
	r = q->trust->trust ? 0 : image_reader_verify(&rd, q->trust->keys, q->trust->nkeys);
	while (r >= 0 && (r = image_read_record(&rd, &type, &p, &len)) > 0) {
		Ckpt__Img__Segment *sg;
		Ckpt__Img__Pagemap *pm;

		switch (type) {
		case IMG_HEADER:
			r = put_header(m, ch, child_digest);
			continue;
		case IMG_MAC:
			/* the merged image's own MAC, where the child had one */
			r = q->key ? image_write_mac(&m->w) : 0;
			if (r < 0)
				r = write_fail(m, r);
			continue;
		case IMG_META_END:
			pages_part = true;
			r = put_meta_end(m, &rd, p, len);
			continue;
		case IMG_SEGMENT:
			if (!pages_part)
				break;
			if (!(sg = image_unpack(&rd, &ckpt__img__segment__descriptor, p, len))) {
				r = -EBADMSG;
				continue;
			}
			pid = sg->owner == CKPT__IMG__SEGMENT_OWNER__SEG_TASK ? sg->id : -1;
			protobuf_c_message_free_unpacked(&sg->base, NULL);
			break;
		case IMG_PARENT_REF:
			if (!pages_part)
				break;
			pm = image_unpack(&rd, &ckpt__img__pagemap__descriptor, p, len);
			if (!pm || pid < 0 || pm->vaddr % PAGE_SZ || !pm->nr_pages || pm->nr_pages > (1ull << 36)) {
				if (pm)
					protobuf_c_message_free_unpacked(&pm->base, NULL);
				r = -EBADMSG;
				continue;
			}
			r = put_resolved(m, pc, pid, pm);
			protobuf_c_message_free_unpacked(&pm->base, NULL);
			continue;
		default:
			break;
		}
		r = image_write_record(&m->w, type, p, len);
		if (r < 0)
			r = write_fail(m, r);
	}
	if (r == 0 && rd.chain != child_digest)
		r = cr_fail(m->err, CR_ERR_BAD_IMAGE, 0, "image %s: changed while it was merged", q->child_id);
	else if (r == -EBADMSG && m->err->code == CR_OK)
		r = cr_fail(m->err, CR_ERR_BAD_IMAGE, 0, "image %s: %s", q->child_id,
			    rd.error[0] ? rd.error : "a malformed page record");
	else if (r < 0 && m->err->code == CR_OK)
		r = cr_fail(m->err, CR_ERR_BAD_IMAGE, -r, "image %s: %s", q->child_id, rd.error);
	image_reader_free(&rd);
	if (r < 0)
		return r;
	r = image_write_tail(&m->w);
	return r < 0 ? write_fail(m, r) : 0;
}

int incr_merge(const struct incr_merge_req *q, struct cr_error *err, uint64_t *ret_bytes)
{
	struct merge m = { .req = q, .err = err };
	struct incr_chain *pc = NULL;
	Ckpt__Img__Header *ph = NULL, *ch = NULL;
	uint64_t pd = 0, cd = 0;
	bool zip = false;
	int r;

	image_writer_init(&m.w, q->out_fd);
	r = 0;
	if (q->key && (r = image_writer_set_key(&m.w, q->key)) < 0)
		r = cr_fail(err, CR_ERR_INTERNAL, -r, "the merged image's MAC");
	if (r >= 0)
		r = incr_index_open(q->parent_fd, q->parent_id, q->trust, err, &pc, &ph, &pd);
	m.ph = ph;
	if (r >= 0 && ph->parent_id && !ph->has_parent_digest)
		r = cr_fail(err, CR_ERR_BAD_IMAGE, 0, "image %s: a parent without its digest", q->parent_id);
	if (r >= 0)
		r = child_check(&m, &ch, &cd, &zip);
	if (r >= 0 && (!ch->parent_id || strcmp(ch->parent_id, q->parent_id) != 0))
		r = cr_fail(err, CR_ERR_BAD_IMAGE, 0, "image %s: its parent is not image %s", q->child_id, q->parent_id);
	else if (r >= 0 && (!ph->container || !ch->container || strcmp(ph->container, ch->container) != 0))
		r = cr_fail(err, CR_ERR_BAD_IMAGE, 0, "image %s: of another container than its child %s", q->parent_id,
			    q->child_id);
	else if (r >= 0 && (!ch->has_parent_digest || !incr_answers(ph, pd, ch->parent_digest)))
		r = cr_fail(err, CR_ERR_BAD_IMAGE, 0, "image %s: not the image its child %s was made after (its digest "
			    "differs)", q->parent_id, q->child_id);
	image_writer_set_compress(&m.w, zip || incr_index_compressed(pc));
	if (r >= 0)
		r = fault_inject(err, "merge-copy");
	if (r >= 0)
		r = copy_child(&m, pc, ch, cd);
	if (r >= 0)
		*ret_bytes = m.w.offset;
	if (ph)
		protobuf_c_message_free_unpacked(&ph->base, NULL);
	if (ch)
		protobuf_c_message_free_unpacked(&ch->base, NULL);
	incr_index_free(pc);
	image_writer_free(&m.w);
	return r < 0 ? r : 0;
}
