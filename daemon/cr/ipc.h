// SPDX-License-Identifier: GPL-2.0-or-later
/* SysV shared memory and message queues and POSIX message queues of the
 * container's IPC namespace (ipc.c); semaphore sets are read by ns_dump.c. */
#pragma once
#include "cr.h"
#include "image.pb-c.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct dump_ctx;
struct restore_ctx;

/* The limits an IPC namespace has of its own (under /proc/sys), which the
 * container may have changed: saved and set again before any object. */
#define IPC_NSYSCTLS 13
extern const char *const ipc_sysctl_names[IPC_NSYSCTLS];
#define IPC_SYSCTL_VALUE_MAX 64

/* A SysV shared memory segment as checkpoint read it. */
struct ipc_shm {
	int32_t key, id;
	uint32_t mode, uid, gid;
	uint64_t size;
	bool removed, locked;
	int fd;                       /* its pages (a read-only open of its file) */
};

/* What the container's IPC namespace holds (checkpoint). */
struct ns_ipc {
	struct cr_sem_set *sems;
	size_t nsems;
	struct ipc_shm *shms;
	size_t nshms;
	Ckpt__Img__SysvMsq **msqs;
	size_t nmsqs;
	Ckpt__Img__PosixMq **mqs;
	size_t nmqs;
	uint64_t nmsgs, msg_bytes;    /* of all queues, against the limits */
	dev_t mq_dev;                 /* its mqueue filesystem: fds on it are queues */
	char *sysctls[IPC_NSYSCTLS];  /* "name=value" of each of ipc_sysctl_names */
	size_t nsysctls;
};

/* Checkpoint, called from inside the container's IPC namespace: its
 * segments (their pages kept open), message queues and POSIX queues with
 * their messages. */
int ipc_read(struct cr_error *err, struct ns_ipc *ipc);
void ipc_free(struct ns_ipc *ipc);
const struct ipc_shm *ipc_find_shm(const struct ns_ipc *ipc, int id);
/* A process's SEM_UNDO list: refused if it can't be read (sem_undo.h). */
struct dump_proc;
int ipc_check_undo(struct dump_ctx *ctx, struct dump_proc *p);
/* The SYSV_SHM records with their pages. */
int ipc_dump_shms(struct dump_ctx *ctx, const struct ns_ipc *ipc);

/* Restart: enter the container's IPC namespace (the worker stays in it)
 * and create the header's queues there. */
int ipc_restore_ns(struct restore_ctx *ctx, const Ckpt__Img__Header *h);
/* A SYSV_SHM record: create the segment; its pages follow. */
int ipc_restore_shm(struct restore_ctx *ctx, const void *payload, size_t len);
bool ipc_restore_has_pages(const struct restore_ctx *ctx);
void ipc_restore_end_pages(struct restore_ctx *ctx);
int ipc_restore_pages(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, const void *pages, size_t len);
/* The size of a segment this restart created, or -ENOENT. */
int64_t ipc_restore_shm_size(const struct restore_ctx *ctx, uint32_t id);
/* Once every task has attached its segments: remove the removed ones. */
int ipc_restore_finish(struct restore_ctx *ctx);
void ipc_restore_free(struct restore_ctx *ctx);
