// SPDX-License-Identifier: GPL-2.0-or-later
/* The image's metadata as a whole (plan.h): held, then checked record by
 * record and across records, with no effect on anything but memory. */
#include "plan.h"
#include "cr_limits.h"
#include "validate.h"
#include "arch.h"
#include "macro.h"
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_PAGE_SIZE 4096u

void plan_init(struct restart_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
}

void plan_free(struct restart_plan *pl)
{
	for (size_t i = 0; i < pl->nrecs; i++)
		free(pl->recs[i].payload);
	free(pl->recs);
	plan_init(pl);
}

static int plan_fail(struct restart_plan *pl, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int plan_fail(struct restart_plan *pl, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pl->error, sizeof(pl->error), fmt, ap);
	va_end(ap);
	return err;
}

static bool page_type(uint32_t type)
{
	return type == IMG_PAGEMAP || type == IMG_PAGES || type == IMG_DROP || type == IMG_TAIL || type == IMG_ERROR;
}

int plan_add(struct restart_plan *pl, uint32_t type, const void *payload, size_t len)
{
	struct plan_rec *rec;

	if (pl->ended)
		return plan_fail(pl, -EPROTO, "a %s record after the end of the metadata", image_rec_type_name(type));
	if (page_type(type))
		return plan_fail(pl, -EPROTO, "a %s record among the metadata", image_rec_type_name(type));
	if (len > IMAGE_MAX_META || pl->bytes + len > CR_META_MAX_BYTES || pl->nrecs >= CR_META_MAX_RECORDS)
		return plan_fail(pl, -EFBIG, "the metadata exceeds %u records or %llu bytes", CR_META_MAX_RECORDS,
				 (unsigned long long)CR_META_MAX_BYTES);
	if (GROW(pl->recs, pl->cap, pl->nrecs, 64) < 0)
		return plan_fail(pl, -ENOMEM, "out of memory for the metadata");
	rec = &pl->recs[pl->nrecs];
	rec->payload = malloc(len ? len : 1);
	if (!rec->payload)
		return plan_fail(pl, -ENOMEM, "out of memory for the metadata");
	memcpy(rec->payload, payload, len);
	rec->type = type;
	rec->len = (uint32_t)len;
	pl->nrecs++;
	pl->bytes += len;
	if (type == IMG_SEGMENT)
		pl->nsegs++;
	if (type == IMG_META_END)
		pl->ended = true;
	return 0;
}

int plan_add_msg(struct restart_plan *pl, uint32_t type, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	void *buf;
	int r;

	if (len > IMAGE_MAX_META)
		return plan_fail(pl, -EFBIG, "a %s record of %zu bytes, at most %u", image_rec_type_name(type), len, IMAGE_MAX_META);
	buf = malloc(len ? len : 1);
	if (!buf)
		return plan_fail(pl, -ENOMEM, "out of memory for the metadata");
	if (protobuf_c_message_pack(msg, buf) != len) {
		free(buf);
		return plan_fail(pl, -EINVAL, "packing a %s record", image_rec_type_name(type));
	}
	r = plan_add(pl, type, buf, len);
	free(buf);
	return r;
}

int plan_end(struct restart_plan *pl)
{
	Ckpt__Img__MetaEnd e = CKPT__IMG__META_END__INIT;

	e.records = pl->nrecs;
	e.segments = pl->nsegs;
	e.bytes = pl->bytes;
	return plan_add_msg(pl, IMG_META_END, &e.base);
}

void plan_unend(struct restart_plan *pl)
{
	struct plan_rec *rec = pl->nrecs ? &pl->recs[pl->nrecs - 1] : NULL;

	if (!pl->ended || !rec || rec->type != IMG_META_END)
		return;
	pl->bytes -= rec->len;
	free(rec->payload);
	pl->nrecs--;
	pl->ended = false;
}

int plan_replace_msg(struct restart_plan *pl, size_t i, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	struct plan_rec *rec = &pl->recs[i];
	void *buf;

	if (pl->ended)
		return plan_fail(pl, -EPROTO, "a record changed after the end of the metadata");
	if (len > IMAGE_MAX_META || pl->bytes - rec->len + len > CR_META_MAX_BYTES)
		return plan_fail(pl, -EFBIG, "the metadata exceeds %llu bytes", (unsigned long long)CR_META_MAX_BYTES);
	buf = malloc(len ? len : 1);
	if (!buf)
		return plan_fail(pl, -ENOMEM, "out of memory for the metadata");
	if (protobuf_c_message_pack(msg, buf) != len) {
		free(buf);
		return plan_fail(pl, -EINVAL, "packing a %s record", image_rec_type_name(rec->type));
	}
	pl->bytes = pl->bytes - rec->len + len;
	free(rec->payload);
	rec->payload = buf;
	rec->len = (uint32_t)len;
	return 0;
}

Ckpt__Img__Segment *plan_segment_unpack(const void *payload, size_t len)
{
	Ckpt__Img__Segment *s = ckpt__img__segment__unpack(NULL, len, payload);

	if (s && (s->index >= CR_META_MAX_RECORDS || (unsigned)s->owner > CKPT__IMG__SEGMENT_OWNER__SEG_SYSV_SHM)) {
		protobuf_c_message_free_unpacked(&s->base, NULL);
		s = NULL;
	}
	return s;
}

/* ---- the check ---- */

/* A set of object ids (open addressing; 0 is stored as a flag). */
struct idset {
	uint32_t *v;
	size_t cap, n;
	bool zero;
};

static void idset_free(struct idset *s)
{
	free(s->v);
}

static bool idset_has(const struct idset *s, uint32_t id)
{
	if (id == 0)
		return s->zero;
	for (size_t i = s->cap ? id % s->cap : 0; s->cap; i = (i + 1) % s->cap) {
		if (s->v[i] == id)
			return true;
		if (s->v[i] == 0)
			return false;
	}
	return false;
}

/* 1 added, 0 already there, -ENOMEM */
static int idset_add(struct idset *s, uint32_t id)
{
	if (idset_has(s, id))
		return 0;
	if (id == 0) {
		s->zero = true;
		return 1;
	}
	if ((s->n + 1) * 2 > s->cap) {
		struct idset t = { .cap = s->cap ? s->cap * 2 : 64 };

		t.v = calloc(t.cap, sizeof(*t.v));
		if (!t.v)
			return -ENOMEM;
		t.zero = s->zero;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i])
				idset_add(&t, s->v[i]);
		free(s->v);
		*s = t;
	}
	for (size_t i = id % s->cap;; i = (i + 1) % s->cap)
		if (s->v[i] == 0) {
			s->v[i] = id;
			s->n++;
			return 1;
		}
}

struct pcheck {
	struct restart_plan *pl;
	size_t at;                       /* the record being checked */
	Ckpt__Img__Header *hdr;
	Ckpt__Img__Tree *tree;
	struct idset files, pipes, shms, sysv;
	size_t next;                     /* the next TASK's entry in the tree */
	const Ckpt__Img__TreeTask *cur;  /* the task whose records these are */
	bool cur_mm, cur_fds;
	bool want_seg;                   /* the record before needs its pages segment */
	Ckpt__Img__SegmentOwner want_owner;
	int32_t want_id;
	uint32_t segs;
	char buf[256];
};

static int bad(struct pcheck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct pcheck *c, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return plan_fail(c->pl, -EBADMSG, "record %zu (%s): %s", c->at, image_rec_type_name(c->pl->recs[c->at].type), msg);
}

static void *unpack(const ProtobufCMessageDescriptor *d, const struct plan_rec *rec)
{
	return protobuf_c_message_unpack(d, NULL, rec->len, rec->payload);
}

/* What restart's header check refuses without asking the machine. */
static const char *header_why(const Ckpt__Img__Header *h)
{
	const char *why;

	if (h->format_version < IMAGE_FORMAT_OLDEST || h->format_version > IMAGE_FORMAT_VERSION)
		return "an image format this ckptd does not read";
	if (strcmp(h->arch, arch_name) != 0 || h->page_size != PLAN_PAGE_SIZE)
		return "an image of another architecture or page size";
	if (!h->has_task_count || h->task_count == 0 || h->task_count > CR_MAX_TASKS)
		return "no task, or more than the limit";
	if (h->vdso_size > (1 << 20) || h->vvar_size > (1 << 20) || h->vvar_vclock_size > (1 << 20))
		return "vdso sizes out of range";
	why = validate_header_ns(h);
	return why ? why : validate_header_tty(h);
}

static int check_header(struct pcheck *c, const struct plan_rec *rec)
{
	const char *why;

	if (c->at != 0)
		return bad(c, "a second header");
	c->hdr = unpack(&ckpt__img__header__descriptor, rec);
	if (!c->hdr)
		return bad(c, "malformed");
	why = header_why(c->hdr);
	if (why && (c->hdr->format_version < IMAGE_FORMAT_OLDEST || c->hdr->format_version > IMAGE_FORMAT_VERSION))
		return bad(c, "image format %u, this ckptd reads %u to %u", c->hdr->format_version, IMAGE_FORMAT_OLDEST,
			   IMAGE_FORMAT_VERSION);
	return why ? bad(c, "%s", why) : 0;
}

static int add_id(struct pcheck *c, struct idset *s, uint32_t id, const char *what)
{
	int r = idset_add(s, id);

	if (r < 0)
		return plan_fail(c->pl, r, "out of memory checking the metadata");
	return r ? 0 : bad(c, "a second %s with id %u", what, id);
}

static int check_file(struct pcheck *c, const Ckpt__Img__File *f)
{
	const char *why = validate_file(f);

	if (why)
		return bad(c, "file id %u: %s", f->id, why);
	if (f->has_pipe_id && !idset_has(&c->pipes, f->pipe_id))
		return bad(c, "file id %u: pipe id %u: no such pipe before it", f->id, f->pipe_id);
	if (f->has_shm_id && !idset_has(&c->shms, f->shm_id))
		return bad(c, "file id %u: shm id %u: no such shared memory object before it", f->id, f->shm_id);
	if (f->has_ghost_id && !idset_has(&c->shms, f->ghost_id))
		return bad(c, "file id %u: ghost id %u: no such deleted file before it", f->id, f->ghost_id);
	for (size_t i = 0; i < f->n_epoll_targets; i++)
		if (!idset_has(&c->files, f->epoll_targets[i]->file_id))
			return bad(c, "file id %u: epoll target file id %u: no such file before it", f->id,
				   f->epoll_targets[i]->file_id);
	return add_id(c, &c->files, f->id, "file");
}

/* FILE, PIPE, SHM, GHOST, SYSV_SHM: the shared objects, before the tree. */
static int check_object(struct pcheck *c, const struct plan_rec *rec)
{
	const char *why;
	void *m = NULL;
	int r;

	if (c->tree)
		return bad(c, "a shared object after the tree");
	switch (rec->type) {
	case IMG_FILE:
		m = unpack(&ckpt__img__file__descriptor, rec);
		r = m ? check_file(c, m) : bad(c, "malformed");
		break;
	case IMG_PIPE: {
		Ckpt__Img__Pipe *p = m = unpack(&ckpt__img__pipe__descriptor, rec);

		why = p ? validate_pipe(p) : "malformed";
		r = why ? bad(c, "%s", why) : add_id(c, &c->pipes, p->id, "pipe");
		break;
	}
	case IMG_SHM: {
		Ckpt__Img__Shm *s = m = unpack(&ckpt__img__shm__descriptor, rec);

		why = s ? validate_shm(s) : "malformed";
		r = why ? bad(c, "%s", why) : add_id(c, &c->shms, s->id, "shared memory object");
		c->want_owner = CKPT__IMG__SEGMENT_OWNER__SEG_SHM;
		c->want_id = s ? (int32_t)s->id : 0;
		c->want_seg = true;
		break;
	}
	case IMG_GHOST: {
		Ckpt__Img__Ghost *g = m = unpack(&ckpt__img__ghost__descriptor, rec);

		why = g ? validate_ghost(g) : "malformed";
		r = why ? bad(c, "%s", why) : add_id(c, &c->shms, g->id, "shared memory object or deleted file");
		c->want_owner = CKPT__IMG__SEGMENT_OWNER__SEG_GHOST;
		c->want_id = g ? (int32_t)g->id : 0;
		c->want_seg = g && !g->dir;
		break;
	}
	default: {
		Ckpt__Img__SysvShm *s = m = unpack(&ckpt__img__sysv_shm__descriptor, rec);

		why = s ? validate_sysv_shm(s) : "malformed";
		r = why ? bad(c, "%s", why) : add_id(c, &c->sysv, (uint32_t)s->id, "SysV shared memory segment");
		c->want_owner = CKPT__IMG__SEGMENT_OWNER__SEG_SYSV_SHM;
		c->want_id = s ? s->id : 0;
		c->want_seg = true;
		break;
	}
	}
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

static int check_tree(struct pcheck *c, const struct plan_rec *rec)
{
	const char *why;
	pid_t pid = 0;

	if (c->tree)
		return bad(c, "a second tree");
	c->tree = unpack(&ckpt__img__tree__descriptor, rec);
	if (!c->tree)
		return bad(c, "malformed");
	why = validate_tree(c->tree, c->hdr->task_count, &pid);
	if (why && pid)
		return bad(c, "task %d: %s", pid, why);
	return why ? bad(c, "%s", why) : 0;
}

/* The task before is complete: it has its MM (and so its segment). */
static int end_task(struct pcheck *c)
{
	if (c->cur && !c->cur_mm)
		return bad(c, "task %d has no mm record", c->cur->pid);
	while (c->next < c->tree->n_tasks && c->tree->tasks[c->next]->zombie)
		c->next++;
	return 0;
}

static int check_task(struct pcheck *c, const struct plan_rec *rec)
{
	Ckpt__Img__Task *t;
	const char *why;
	int r;

	r = end_task(c);
	if (r < 0)
		return r;
	if (c->next >= c->tree->n_tasks)
		return bad(c, "more task records than live processes in the tree");
	c->cur = c->tree->tasks[c->next++];
	c->cur_mm = c->cur_fds = false;
	t = unpack(&ckpt__img__task__descriptor, rec);
	if (!t)
		return bad(c, "malformed");
	why = validate_task(t, c->buf, sizeof(c->buf));
	if (why)
		r = bad(c, "task %d: %s", t->pid, why);
	else if (t->pid != c->cur->pid)
		r = bad(c, "task %d where the tree has task %d", t->pid, c->cur->pid);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	return r;
}

static bool tree_thread(const Ckpt__Img__TreeTask *tt, int32_t tid)
{
	for (size_t i = 0; i < tt->n_threads; i++)
		if (tt->threads[i] == tid)
			return true;
	return false;
}

static int check_thread(struct pcheck *c, const struct plan_rec *rec)
{
	Ckpt__Img__Thread *th = unpack(&ckpt__img__thread__descriptor, rec);
	const char *why;
	int r = 0;

	if (!th)
		return bad(c, "malformed");
	why = validate_thread(th, c->buf, sizeof(c->buf));
	if (why)
		r = bad(c, "task %d: thread %d: %s", c->cur->pid, th->tid, why);
	else if (!tree_thread(c->cur, th->tid))
		r = bad(c, "task %d: thread %d is not one of its threads in the tree", c->cur->pid, th->tid);
	protobuf_c_message_free_unpacked(&th->base, NULL);
	return r;
}

static int check_fds(struct pcheck *c, const struct plan_rec *rec)
{
	Ckpt__Img__Fds *m;
	const char *why;
	int r = 0;

	if (c->cur_fds)
		return bad(c, "task %d: a second fd table", c->cur->pid);
	c->cur_fds = true;
	m = unpack(&ckpt__img__fds__descriptor, rec);
	if (!m)
		return bad(c, "malformed");
	why = validate_fds(m, c->tree->max_fd);
	if (why)
		r = bad(c, "task %d: %s", c->cur->pid, why);
	for (size_t i = 0; i < m->n_fds && r >= 0; i++)
		if (!idset_has(&c->files, m->fds[i]->file_id))
			r = bad(c, "task %d: fd %u: file id %u: no such file in the image", c->cur->pid, m->fds[i]->fd,
				m->fds[i]->file_id);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return r;
}

/* The shared memory a mapping names must be in the image. */
static const char *vma_ref(const struct pcheck *c, const Ckpt__Img__Vma *v)
{
	switch (v->kind) {
	case CKPT__IMG__VMA_KIND__VMA_SHARED_ANON:
	case CKPT__IMG__VMA_KIND__VMA_MEMFD:
		return idset_has(&c->shms, v->shm_id) ? NULL : "its shared memory object is not in the image";
	case CKPT__IMG__VMA_KIND__VMA_SYSV_SHM:
		return idset_has(&c->sysv, v->shm_id) ? NULL : "its SysV shared memory segment is not in the image";
	default:
		return NULL;
	}
}

static int check_mm(struct pcheck *c, const struct plan_rec *rec)
{
	Ckpt__Img__Mm *mm;
	const char *why;
	size_t i = SIZE_MAX;
	int r = 0;

	if (c->cur_mm)
		return bad(c, "task %d: a second mm record", c->cur->pid);
	c->cur_mm = true;
	mm = unpack(&ckpt__img__mm__descriptor, rec);
	if (!mm)
		return bad(c, "malformed");
	why = validate_mm(mm, &i);
	for (size_t k = 0; !why && k < mm->n_vmas; k++)
		if ((why = vma_ref(c, mm->vmas[k])))
			i = k;
	if (why && i < mm->n_vmas)
		r = bad(c, "task %d: mapping %#" PRIx64 "-%#" PRIx64 ": %s", c->cur->pid, mm->vmas[i]->start, mm->vmas[i]->end, why);
	else if (why)
		r = bad(c, "task %d: %s", c->cur->pid, why);
	protobuf_c_message_free_unpacked(&mm->base, NULL);
	c->want_owner = CKPT__IMG__SEGMENT_OWNER__SEG_TASK;
	c->want_id = c->cur->pid;
	c->want_seg = true;
	return r;
}

/* TASK, THREAD, FDS, MM: a process's records, after the tree. */
static int check_proc(struct pcheck *c, const struct plan_rec *rec)
{
	if (!c->tree)
		return bad(c, "before the tree");
	if (rec->type == IMG_TASK)
		return check_task(c, rec);
	if (!c->cur)
		return bad(c, "before the first task");
	if (c->cur_mm)
		return bad(c, "task %d: after its mm record", c->cur->pid);
	switch (rec->type) {
	case IMG_THREAD:
		return check_thread(c, rec);
	case IMG_FDS:
		return check_fds(c, rec);
	default:
		return check_mm(c, rec);
	}
}

static int check_segment(struct pcheck *c, const struct plan_rec *rec)
{
	Ckpt__Img__Segment *s = plan_segment_unpack(rec->payload, rec->len);
	int r = 0;

	if (!s)
		return bad(c, "malformed");
	if (!c->want_seg)
		r = bad(c, "a segment of pages no record asked for");
	else if (s->index != c->segs)
		r = bad(c, "segment %u where segment %u belongs", s->index, c->segs);
	else if (s->owner != c->want_owner || s->id != c->want_id)
		r = bad(c, "segment %u is not the pages of the record before it", s->index);
	c->want_seg = false;
	c->segs++;
	protobuf_c_message_free_unpacked(&s->base, NULL);
	return r;
}

static int check_end(struct pcheck *c, const struct plan_rec *rec)
{
	Ckpt__Img__MetaEnd *e;
	int r = 0;

	if (c->at != c->pl->nrecs - 1)
		return bad(c, "not the last metadata record");
	if (!c->tree)
		return bad(c, "the image has no tree");
	r = end_task(c);
	if (r < 0)
		return r;
	if (c->next != c->tree->n_tasks)
		return bad(c, "no task record for task %d of the tree", c->tree->tasks[c->next]->pid);
	e = unpack(&ckpt__img__meta_end__descriptor, rec);
	if (!e)
		return bad(c, "malformed");
	if (e->records != c->at || e->segments != c->segs || e->bytes != c->pl->bytes - rec->len)
		r = bad(c, "counts %" PRIu64 " records, %u segments, %" PRIu64 " bytes; the metadata has %zu, %u, %" PRIu64,
			e->records, e->segments, e->bytes, c->at, c->segs, c->pl->bytes - rec->len);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	return r;
}

static int check_rec(struct pcheck *c, const struct plan_rec *rec)
{
	if (c->at == 0 && rec->type != IMG_HEADER)
		return bad(c, "the first record is not the header");
	if (c->want_seg && rec->type != IMG_SEGMENT)
		return bad(c, "the record before it has no segment of pages");
	switch (rec->type) {
	case IMG_HEADER:
		return check_header(c, rec);
	case IMG_FILE:
	case IMG_PIPE:
	case IMG_SHM:
	case IMG_GHOST:
	case IMG_SYSV_SHM:
		return check_object(c, rec);
	case IMG_TREE:
		return check_tree(c, rec);
	case IMG_TASK:
	case IMG_THREAD:
	case IMG_FDS:
	case IMG_MM:
		return check_proc(c, rec);
	case IMG_SEGMENT:
		return check_segment(c, rec);
	case IMG_META_END:
		return check_end(c, rec);
	default:
		return bad(c, "not a metadata record");
	}
}

int plan_check(struct restart_plan *pl)
{
	struct pcheck c = { .pl = pl };
	int r = 0;

	pl->error[0] = 0;
	if (!pl->ended)
		return plan_fail(pl, -EBADMSG, "the metadata does not end with a meta-end record");
	for (c.at = 0; c.at < pl->nrecs && r >= 0; c.at++)
		r = check_rec(&c, &pl->recs[c.at]);
	if (c.hdr)
		protobuf_c_message_free_unpacked(&c.hdr->base, NULL);
	if (c.tree)
		protobuf_c_message_free_unpacked(&c.tree->base, NULL);
	idset_free(&c.files);
	idset_free(&c.pipes);
	idset_free(&c.shms);
	idset_free(&c.sysv);
	return r < 0 ? r : 0;
}
