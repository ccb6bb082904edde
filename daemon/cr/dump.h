/* State shared by the steps of one checkpoint (checkpoint.c drives them). */
#pragma once
#include "cr.h"
#include "image.h"
#include "image.pb-c.h"
#include "objhash.h"
#include "rtask.h"

struct dump_ctx {
	const struct cr_checkpoint_req *req;
	struct cr_error *err;
	struct image_writer w;
	struct objhash *files;        /* open file descriptions, written once */
	void *pagebuf;                /* staging for page data */
	size_t pagebuf_len;
	uint64_t pages;
	uint64_t vdso_hash;           /* of the first task's [vdso] */
	uint64_t vdso_size, vvar_size, vvar_vclock_size;
};

/* task_dump.c: everything about one task but its files and memory; uses
 * injected syscalls through rt (prepared). st: its status, read while frozen. */
struct proc_status;
int task_dump(struct dump_ctx *ctx, struct rtask *rt, const struct proc_status *st, pid_t nsppid);
/* files.c: FILE records for descriptions not yet written, then FDS. */
int files_dump(struct dump_ctx *ctx, pid_t pid);
/* mm.c: the MM record and the pages. */
int mm_dump(struct dump_ctx *ctx, pid_t pid);
/* mm.c: vdso/vvar facts for the header, from a task's maps. */
int mm_dump_vdso_info(struct dump_ctx *ctx, pid_t pid);

/* path as seen by task `pid` (through /proc/PID/root: its mount namespace),
 * into buf; returns buf, or NULL if it doesn't fit. */
/* CLOCK_MONOTONIC in microseconds, for the stats. */
uint64_t cr_now_us(void);

/* Bigger pipe buffers for image streams through pipes. */
void cr_tune_stream(int fd);

const char *cr_task_path(pid_t pid, const char *path, char *buf, size_t len);

#define PAGE_SZ 4096ull
/* Page data moves in pieces this big: small enough to stay in cache between
 * the copy in, the checksum and the copy out, and cheap to fault in. */
#define PAGEBUF_LEN (2u << 20)

/* Vma.madv bits: madvise() advice to reapply on restore. */
enum {
	MADV_BIT_DONTFORK = 1 << 0,
	MADV_BIT_DONTDUMP = 1 << 1,
	MADV_BIT_WIPEONFORK = 1 << 2,
	MADV_BIT_HUGEPAGE = 1 << 3,
	MADV_BIT_NOHUGEPAGE = 1 << 4,
	MADV_BIT_MERGEABLE = 1 << 5,
	MADV_BIT_SEQUENTIAL = 1 << 6,
	MADV_BIT_RANDOM = 1 << 7,
};
