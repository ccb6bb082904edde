/* Restart: read the image once, front to back, building the task as records
 * arrive; release it only after the tail proved the image complete. A failed
 * restart kills what it built. */
#include "restore.h"
#include "arch.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int check_header(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__Header *h;
	uint64_t xf;
	uint32_t xs;

	if (ctx->hdr)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "a second header record");
	h = ctx->hdr = image_unpack(&ctx->rd, &ckpt__img__header__descriptor, payload, len);
	if (!h)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "header: %s", ctx->rd.error);
	if (h->format_version != IMAGE_FORMAT_VERSION)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image format %u, this ckptd reads %u", h->format_version, IMAGE_FORMAT_VERSION);
	if (strcmp(h->arch, arch_name) != 0 || h->page_size != PAGE_SZ || sysconf(_SC_PAGESIZE) != (long)PAGE_SZ)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image is for %s with %u-byte pages", h->arch, h->page_size);
	if (arch_xstate_info(&xf, &xs) < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "this CPU has no XSAVE");
	ctx->xfeatures = xf;
	if (h->xfeatures & ~xf)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "image needs CPU state features %#lx, this machine has %#lx",
			       (unsigned long)h->xfeatures, (unsigned long)xf);
	if (!h->has_task_count || h->task_count != 1)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "image holds %u tasks: process trees are not supported yet", h->task_count);
	if (h->vdso_size > (1 << 20) || h->vvar_size > (1 << 20) || h->vvar_vclock_size > (1 << 20))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "vdso sizes out of range");
	return 0;
}

static int on_task(struct restore_ctx *ctx, const void *payload, size_t len)
{
	if (!ctx->hdr || ctx->task)
		return cr_fail(ctx->err, ctx->task ? CR_ERR_UNSUPPORTED : CR_ERR_BAD_IMAGE, 0, "unexpected task record");
	ctx->task = image_unpack(&ctx->rd, &ckpt__img__task__descriptor, payload, len);
	if (!ctx->task)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task record: %s", ctx->rd.error);
	return task_restore_check(ctx, ctx->task);
}

/* Dispatch one record; pm holds a PAGEMAP until its PAGES arrive. */
static int on_record(struct restore_ctx *ctx, uint32_t type, const void *p, size_t len, Ckpt__Img__Pagemap **pm)
{
	int r;

	if ((*pm != NULL) != (type == IMG_PAGES))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pagemap and pages records out of pairs");
	switch (type) {
	case IMG_HEADER:
		return check_header(ctx, p, len);
	case IMG_TASK:
		return on_task(ctx, p, len);
	case IMG_FILE:
		return ctx->task ? files_restore_file(ctx, p, len) : cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file before task");
	case IMG_FDS:
		return files_restore_fds_and_spawn(ctx, p, len);
	case IMG_MM:
		return mm_restore_layout(ctx, p, len);
	case IMG_PAGEMAP:
		*pm = image_unpack(&ctx->rd, &ckpt__img__pagemap__descriptor, p, len);
		return *pm ? 0 : cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pagemap: %s", ctx->rd.error);
	case IMG_PAGES:
		r = mm_restore_pages(ctx, *pm, p, len);
		protobuf_c_message_free_unpacked(&(*pm)->base, NULL);
		*pm = NULL;
		if (ctx->req->progress && (ctx->pages & 0x3fff) < len / PAGE_SZ)
			ctx->req->progress(ctx->req->progress_arg, "memory", ctx->pages, 0);
		return r;
	default:
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "unexpected %s record", image_rec_type_name(type));
	}
}

static int read_image(struct restore_ctx *ctx)
{
	Ckpt__Img__Pagemap *pm = NULL;
	const void *payload;
	uint32_t type;
	size_t len;
	int r;

	for (;;) {
		r = image_read_record(&ctx->rd, &type, &payload, &len);
		if (r == 0)
			break;
		if (r < 0) {
			r = cr_fail(ctx->err, r == -EBADMSG || r == -EPROTO || r == -EFBIG || r == -ENODATA ? CR_ERR_BAD_IMAGE : CR_ERR_IO,
				    0, "image: %s", ctx->rd.error);
			break;
		}
		r = on_record(ctx, type, payload, len, &pm);
		if (r < 0)
			break;
	}
	if (pm)
		protobuf_c_message_free_unpacked(&pm->base, NULL);
	if (r >= 0 && (!ctx->task || !ctx->mm))
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image ends without a complete task");
	return r;
}

static void restart_cleanup(struct restore_ctx *ctx, bool ok)
{
	if (!ok && ctx->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, ctx->pidfd, SIGKILL, NULL, 0);
	if (ok && ctx->seized && ptrace(PTRACE_DETACH, ctx->host_pid, NULL, NULL) < 0)
		log_error("task %d: PTRACE_DETACH: %m", ctx->host_pid);
	if (ctx->pidfd >= 0)
		close(ctx->pidfd);
	if (ctx->files)
		objhash_free(ctx->files);
	if (ctx->task)
		protobuf_c_message_free_unpacked(&ctx->task->base, NULL);
	if (ctx->mm)
		protobuf_c_message_free_unpacked(&ctx->mm->base, NULL);
	if (ctx->hdr)
		protobuf_c_message_free_unpacked(&ctx->hdr->base, NULL);
	image_reader_free(&ctx->rd);
}

int cr_restart(const struct cr_restart_req *req, struct cr_restart_stats *ret_stats, struct cr_error *err)
{
	struct restore_ctx ctx = { .req = req, .err = err, .pidfd = -1 };
	uint64_t t0 = cr_now_us();
	int r;

	image_reader_init(&ctx.rd, req->image_fd);
	cr_tune_stream(req->image_fd);
	/* Paths are resolved in the container's mount namespace through
	 * /proc/INIT/root (cr_task_path); the worker itself stays outside. */
	r = read_image(&ctx);
	if (r >= 0)
		r = task_restore_finish(&ctx);
	if (r >= 0 && ret_stats)
		*ret_stats = (struct cr_restart_stats){
			.total_us = cr_now_us() - t0, .image_bytes = ctx.rd.offset, .pages = ctx.pages,
			.root_pid = ctx.task->pid, .root_host_pid = ctx.host_pid,
		};
	restart_cleanup(&ctx, r >= 0);
	return r < 0 ? r : 0;
}
