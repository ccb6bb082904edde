// SPDX-License-Identifier: GPL-2.0-or-later
/* Every metadata record the checkpoint writes goes through the checks
 * restart will run on it (validate.h) first, and the whole metadata through
 * restart's plan check (plan.h) before any of it is written: a checkpoint
 * never kills a workload into an image restart would refuse. The metadata
 * is held in memory until then; the pages follow it, read by page jobs. */
#include "dump.h"
#include "sem_undo.h"
#include "validate.h"
#include "log.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int meta_fail(struct dump_ctx *ctx, int r)
{
	if (r == -EFBIG)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "the image's metadata: %s", ctx->meta.error);
	return cr_fail(ctx->err, CR_ERR_INTERNAL, -r, "holding the image's metadata: %s", ctx->meta.error);
}

static int meta_add(struct dump_ctx *ctx, uint32_t type, const ProtobufCMessage *msg)
{
	int r = plan_add_msg(&ctx->meta, type, msg);

	return r < 0 ? meta_fail(ctx, r) : 0;
}

/* A SEGMENT placeholder where the pages belong, and the job that reads them. */
static int job_add(struct dump_ctx *ctx, struct page_job *job)
{
	Ckpt__Img__Segment s = CKPT__IMG__SEGMENT__INIT;
	struct page_job *v;
	int r;

	v = realloc(ctx->jobs, (ctx->njobs + 1) * sizeof(*v));
	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "page jobs");
	ctx->jobs = v;
	job->seg = (uint32_t)ctx->njobs;
	s.index = job->seg;
	s.owner = job->owner;
	s.id = job->id;
	r = meta_add(ctx, IMG_SEGMENT, &s.base);
	if (r < 0)
		return r;
	ctx->jobs[ctx->njobs++] = *job;
	return 0;
}

/* The record's own check, keyed by type; NULL if it would be restored. */
static const char *check(struct dump_ctx *ctx, uint32_t type, const ProtobufCMessage *msg, char *buf, size_t len,
			 const char **ret_what)
{
	pid_t bad_pid;
	size_t i;
	const char *why;

	switch (type) {
	case IMG_FILE:
		*ret_what = "open file";
		return validate_file((const Ckpt__Img__File *)msg);
	case IMG_SHM:
		*ret_what = "shared memory object";
		return validate_shm((const Ckpt__Img__Shm *)msg);
	case IMG_GHOST:
		*ret_what = "deleted file";
		return validate_ghost((const Ckpt__Img__Ghost *)msg);
	case IMG_SYSV_SHM:
		*ret_what = "SysV shared memory segment";
		return validate_sysv_shm((const Ckpt__Img__SysvShm *)msg);
	case IMG_PIPE:
		*ret_what = "pipe";
		return validate_pipe((const Ckpt__Img__Pipe *)msg);
	case IMG_FDS:
		*ret_what = "fd table";
		return validate_fds((const Ckpt__Img__Fds *)msg, ctx->max_fd);
	case IMG_TREE:
		*ret_what = "process tree";
		return validate_tree((const Ckpt__Img__Tree *)msg, ctx->nprocs, &bad_pid);
	case IMG_TASK:
		*ret_what = "task state";
		why = validate_task((const Ckpt__Img__Task *)msg, buf, len);
		return why ? why : validate_creds_allowed(((const Ckpt__Img__Task *)msg)->creds, ctx->req->creds_limit, buf, len);
	case IMG_THREAD:
		*ret_what = "thread state";
		why = validate_thread((const Ckpt__Img__Thread *)msg, buf, len);
		if (why || !((const Ckpt__Img__Thread *)msg)->creds)
			return why;
		return validate_creds_allowed(((const Ckpt__Img__Thread *)msg)->creds, ctx->req->creds_limit, buf, len);
	case IMG_MM:
		*ret_what = "memory mappings";
		why = validate_mm((const Ckpt__Img__Mm *)msg, &i);
		if (why && i != SIZE_MAX) {
			const Ckpt__Img__Vma *v = ((const Ckpt__Img__Mm *)msg)->vmas[i];

			snprintf(buf, len, "mapping %#lx-%#lx: %s", (unsigned long)v->start, (unsigned long)v->end, why);
			return buf;
		}
		return why;
	default:
		return NULL;
	}
}

int dump_write_msg(struct dump_ctx *ctx, pid_t pid, uint32_t type, const ProtobufCMessage *msg)
{
	char buf[256];
	const char *what = "record", *why = check(ctx, type, msg, buf, sizeof(buf), &what);

	if (why && pid)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: %s: restart would refuse it: %s", pid, what, why);
	if (why)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: restart would refuse it: %s", what, why);
	return meta_add(ctx, type, msg);
}

int dump_task_pages_later(struct dump_ctx *ctx, struct dump_proc *p)
{
	return job_add(ctx, &(struct page_job){ .owner = CKPT__IMG__SEGMENT_OWNER__SEG_TASK, .id = p->nspid,
						.proc = (size_t)(p - ctx->procs), .fd = -1 });
}

int dump_object_pages_later(struct dump_ctx *ctx, Ckpt__Img__SegmentOwner owner, uint32_t id, int fd, uint64_t size)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int r;

	if (nfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "shared memory object %u: keeping it open for its pages", id);
	r = job_add(ctx, &(struct page_job){ .owner = owner, .id = (int32_t)id, .fd = nfd, .size = size });
	if (r < 0)
		close(nfd);
	return r;
}

int dump_meta_write(struct dump_ctx *ctx)
{
	int r;

	/* A check skips the tasks it refused, so the metadata lacks them and
	 * the whole's check would refuse the gap, not the workload: it runs
	 * whenever nothing was refused. */
	if (ctx->req->check_only && cr_refusal_count(ctx->err))
		return 0;
	r = plan_end(&ctx->meta);
	if (r < 0)
		return meta_fail(ctx, r);
	/* what restart checks before it acts, on the whole metadata */
	r = plan_check(&ctx->meta);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "the image's metadata: restart would refuse it: %s", ctx->meta.error);
	/* Undo lists shared by threads are read by changing the container:
	 * only once nothing else can be refused, and checked again after. */
	if (sem_undo_shared(ctx)) {
		plan_unend(&ctx->meta);
		r = sem_undo_dump_shared(ctx);
		if (r < 0)
			return r;
		r = plan_end(&ctx->meta);
		if (r < 0)
			return meta_fail(ctx, r);
		r = plan_check(&ctx->meta);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "the image's metadata: restart would refuse it: %s",
				       ctx->meta.error);
	}
	for (size_t i = 0; i < ctx->meta.nrecs && r >= 0; i++) {
		const struct plan_rec *rec = &ctx->meta.recs[i];

		r = image_write_record(&ctx->w, rec->type, rec->payload, rec->len);
	}
	/* the metadata's own MAC: restart authenticates it before it acts */
	if (r >= 0 && ctx->w.keyed)
		r = image_write_mac(&ctx->w);
	plan_free(&ctx->meta);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image") : 0;
}

static int run_job(struct dump_ctx *ctx, const struct page_job *job)
{
	Ckpt__Img__Segment s = CKPT__IMG__SEGMENT__INIT;
	int r;

	s.index = job->seg;
	s.owner = job->owner;
	s.id = job->id;
	r = image_write_msg(&ctx->w, IMG_SEGMENT, &s.base);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image");
	if (job->owner != CKPT__IMG__SEGMENT_OWNER__SEG_TASK)
		return shm_write_pages(ctx, job->fd, job->size, (uint32_t)job->id);
	cr_error_scope(ctx->err, ctx->procs[job->proc].nspid, ctx->procs[job->proc].pid);
	r = mm_dump_pages(ctx, &ctx->procs[job->proc], false);
	cr_error_scope(ctx->err, 0, 0);
	return r;
}

int dump_page_jobs_run(struct dump_ctx *ctx, size_t from, size_t to)
{
	int r = 0;

	for (size_t i = from; i < to && i < ctx->njobs && r >= 0; i++)
		r = run_job(ctx, &ctx->jobs[i]);
	return r;
}

int dump_lazy_parts_run(struct dump_ctx *ctx)
{
	uint32_t index = (uint32_t)ctx->njobs;
	int r = 0;

	for (size_t i = 0; i < ctx->njobs && r >= 0; i++) {
		const struct page_job *job = &ctx->jobs[i];
		Ckpt__Img__Segment s = CKPT__IMG__SEGMENT__INIT;
		struct dump_proc *p;

		if (job->owner != CKPT__IMG__SEGMENT_OWNER__SEG_TASK)
			continue;
		p = &ctx->procs[job->proc];
		if (!mm_dump_has_lazy(ctx, p))
			continue;
		s.index = index++;
		s.owner = job->owner;
		s.id = job->id;
		r = image_write_msg(&ctx->w, IMG_SEGMENT, &s.base);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image");
		cr_error_scope(ctx->err, p->nspid, p->pid);
		r = mm_dump_pages(ctx, p, true);
		cr_error_scope(ctx->err, 0, 0);
	}
	return r;
}

void dump_page_jobs_free(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->njobs; i++)
		if (ctx->jobs[i].fd >= 0)
			close(ctx->jobs[i].fd);
	free(ctx->jobs);
	ctx->jobs = NULL;
	ctx->njobs = 0;
	plan_free(&ctx->meta);
}
