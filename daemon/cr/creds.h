// SPDX-License-Identifier: GPL-2.0-or-later
/* Credentials of a thread: saved from its status, set again last. */
#pragma once
#include "image.pb-c.h"
#include "proc.h"
#include "rbatch.h"
#include "validate.h"
#include <stdbool.h>

struct restore_ctx;
struct cr_contain;

/* A Creds record and the storage it points into. */
struct creds_buf {
	Ckpt__Img__Creds c;
	uint32_t uids[4], gids[4];
	uint32_t groups[64];
	size_t ngroups;
};

void creds_fill(struct creds_buf *cb, const struct proc_status *st);
bool creds_differ(const struct proc_status *a, const struct proc_status *b);
bool creds_match(const Ckpt__Img__Creds *c, const struct proc_status *st);
/* The bound of every task of a container owned by `owner` whose set is
 * capset: root's tasks any ids and capset at most; anyone else's the
 * owner's uid, gid and groups and no capability. 0 or -errno. */
int creds_allowed(uid_t owner, uint64_t capset, struct cr_creds_limit *ret);
/* NULL if a task may have c in this restart, else why not. */
const char *creds_may_restore(const struct restore_ctx *ctx, const Ckpt__Img__Creds *c, char *buf, size_t len);
void creds_queue(struct rbatch *b, const Ckpt__Img__Creds *c, const struct proc_status *now, bool keepcaps, bool locked);
/* A status read from the host, its ids as the container's user namespace
 * sees them (run --userns; no change otherwise): 0, or -ERANGE with the
 * host id that has no place in it in *ret_bad. */
int creds_status_inside(const struct cr_contain *k, struct proc_status *st, uint32_t *ret_bad);
