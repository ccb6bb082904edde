/* State shared by the steps of one restart (restart.c drives them). */
#pragma once
#include "cr.h"
#include "dump.h"
#include "image.h"
#include "image.pb-c.h"
#include "objhash.h"
#include "rtask.h"

#define SCRATCH_LEN (64u << 10)   /* our page of code + data inside a task being restored */

struct restore_ctx {
	const struct cr_restart_req *req;
	struct cr_error *err;
	struct image_reader rd;
	Ckpt__Img__Header *hdr;
	uint64_t xfeatures;           /* this CPU's, probed with the header check */
	struct objhash *files;        /* file id -> struct restore_file */
	/* the task being restored (one for now) */
	Ckpt__Img__Task *task;
	Ckpt__Img__Mm *mm;
	pid_t host_pid;
	int pidfd;
	struct rtask rt;
	uint64_t scratch;             /* SCRATCH_LEN bytes, RWX, syscall insn at +0 */
	uint64_t pages;
	bool seized;
};

struct restore_file {
	int fd;                       /* opened by the worker */
};

/* files.c */
int files_restore_file(struct restore_ctx *ctx, const void *payload, size_t len);
/* Spawns the task with its fds, cwd, umask, session (spawn.h). */
int files_restore_fds_and_spawn(struct restore_ctx *ctx, const void *payload, size_t len);

/* mm_restore.c */
int mm_restore_layout(struct restore_ctx *ctx, const void *payload, size_t len);
int mm_restore_pages(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, const void *pages, size_t len);
int mm_restore_finish(struct restore_ctx *ctx);

/* task_restore.c */
int task_restore_check(struct restore_ctx *ctx, Ckpt__Img__Task *t);
int task_restore_finish(struct restore_ctx *ctx);

/* Scratch data area helpers: copy bytes into the task's scratch page at off. */
int restore_scratch_put(struct restore_ctx *ctx, size_t off, const void *data, size_t len, uint64_t *ret_addr);
