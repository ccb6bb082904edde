// SPDX-License-Identifier: GPL-2.0-or-later
/* Every metadata record the checkpoint writes goes through the checks
 * restart will run on it (validate.h) first: a checkpoint never kills a
 * workload into an image restart would refuse. */
#include "dump.h"
#include "validate.h"
#include <stdio.h>

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
	int r;

	if (why && pid)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: %s: restart would refuse it: %s", pid, what, why);
	if (why)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: restart would refuse it: %s", what, why);
	r = image_write_msg(&ctx->w, type, msg);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image") : 0;
}
