// SPDX-License-Identifier: GPL-2.0-or-later
/* images rm of an image an incremental image names as its parent: its
 * child is rewritten with the pages it takes from it (incr_merge, in a
 * worker: it copies pages), then the image is removed. The order keeps a
 * complete set of images at every point ckptd may die at:
 *   1. CHILD.img.tmp written and synced: the old set is whole, and the
 *      next ckptd removes the leftover (store_clean_tmp);
 *   2. renamed over CHILD.img, the directory synced: the new image names
 *      the removed one's parent (or none) and answers for the child's
 *      digest, so the child's own children restore from it; the image
 *      being removed is still there, whole, and now nobody's parent;
 *   3. the image unlinked, the directory synced. */
#include "container.h"
#include "handlers.h"
#include "incr.h"
#include "fault.h"
#include "key.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "store.h"
#include "wire.h"
#include "worker.h"
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#define E(x) CKPT__RPC__ERROR_CODE__##x

struct merge_job {
	int dir_fd;
	const char *name;
	const char *parent, *child;
	const struct mac_key *keys;
	size_t nkeys;
};

static int merge_send_error(int report_fd, const struct cr_error *err)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	char msg[sizeof(err->msg) + 64];

	snprintf(msg, sizeof(msg), "%s", err->msg);
	e.code = worker_errcode(err->code);
	e.message = msg;
	e.has_sys_errno = err->sys_errno != 0;
	e.sys_errno = err->sys_errno;
	e.object = err->object[0] ? (char *)err->object : NULL;
	e.reason = err->reason[0] ? (char *)err->reason : NULL;
	resp.final = true;
	resp.error = &e;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

/* Steps 1 and 2: the child's merged copy in its place. */
static int merge_child(const struct merge_job *job, struct cr_error *err)
{
	_cleanup_close_ int pfd = store_open(job->dir_fd, job->parent), cfd = store_open(job->dir_fd, job->child);
	_cleanup_close_ int out = -1;
	const struct incr_trust trust = { job->keys, job->nkeys, false };
	struct incr_merge_req q;
	uint64_t bytes = 0;
	struct stat st;
	int r;

	if (pfd < 0 || cfd < 0)
		return cr_fail(err, CR_ERR_IO, pfd < 0 ? -pfd : -cfd, "container %s: opening image %s", job->name,
			       pfd < 0 ? job->parent : job->child);
	if (fstat(cfd, &st) < 0)
		return cr_fail(err, CR_ERR_IO, errno, "container %s: image %s", job->name, job->child);
	/* the merged image is the child's owner's, as the child was */
	out = store_create_tmp(job->dir_fd, job->child, st.st_uid);
	if (out < 0)
		return cr_fail(err, CR_ERR_IO, -out, "container %s: creating the merged image %s", job->name, job->child);
	q = (struct incr_merge_req){
		.parent_fd = pfd, .child_fd = cfd, .out_fd = out, .parent_id = job->parent, .child_id = job->child,
		.trust = &trust, .key = job->nkeys ? &job->keys[0] : NULL,
	};
	r = incr_merge(&q, err, &bytes);
	if (r >= 0)
		r = fault_inject(err, "merge-written");
	if (r >= 0 && (r = store_commit(job->dir_fd, job->child, out)) < 0)
		r = cr_fail(err, CR_ERR_IO, -r, "container %s: storing the merged image %s", job->name, job->child);
	if (r < 0) {
		store_abort(job->dir_fd, job->child);
		return r;
	}
	log_info("container %s: image %s now holds the pages it took from image %s (%" PRIu64 " bytes)", job->name,
		 job->child, job->parent, bytes);
	return 0;
}

static int worker_merge(void *arg, int report_fd)
{
	const struct merge_job *job = arg;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__ImageRmResponse ir = CKPT__RPC__IMAGE_RM_RESPONSE__INIT;
	struct cr_error err = { 0 };
	int r;

	r = merge_child(job, &err);
	/* from here the child no longer needs the image: step 3 */
	if (r >= 0)
		r = fault_inject(&err, "merge-renamed");
	if (r >= 0 && (r = store_remove(job->dir_fd, job->parent)) < 0)
		r = cr_fail(&err, CR_ERR_IO, -r, "container %s: removing image %s", job->name, job->parent);
	if (r < 0) {
		merge_send_error(report_fd, &err);
		return r;
	}
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_IMAGE_RM;
	resp.image_rm = &ir;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

static void merge_done(void *ud, Ckpt__Rpc__Response *final, int wait_status)
{
	struct container *c = ud;
	struct conn *cn = c->op_conn;

	c->op_worker = NULL;
	if (final && !final->error && final->body_case == CKPT__RPC__RESPONSE__BODY_IMAGE_RM) {
		log_info("container %s: image %s removed", c->name, c->op_image_id);
		conn_send(cn, final, NULL, 0);
	} else if (final && final->error) {
		log_warn("container %s: images rm %s: %s", c->name, c->op_image_id, final->error->message);
		conn_reply_error_msg(cn, final->error);
	} else {
		conn_reply_error(cn, E(ERR_INTERNAL), "images rm: container %s: the worker merging image %s into its "
				 "child died (status 0x%x); the images are as they were, or the child already holds "
				 "its pages", c->name, c->op_image_id, wait_status);
	}
	if (final)
		ckpt__rpc__response__free_unpacked(final, NULL);
	op_end(c);
}

static const struct worker_ops merge_ops = { .done = merge_done };

void merge_image_rm(struct conn *cn, struct container *c, const char *id, const char *child)
{
	static char parent_id[STORE_ID_MAX], child_id[STORE_ID_MAX];
	struct merge_job job = {
		.dir_fd = c->dir_fd, .name = c->name, .parent = parent_id, .child = child_id,
		.keys = cn->srv->keys ? cn->srv->keys->keys : NULL, .nkeys = cn->srv->keys ? cn->srv->keys->n : 0,
	};
	struct worker *w;
	char what[128];
	int keep[1] = { c->dir_fd }, r;

	/* the worker's copy is taken at fork */
	snprintf(parent_id, sizeof(parent_id), "%s", id);
	snprintf(child_id, sizeof(child_id), "%s", child);
	snprintf(what, sizeof(what), "images rm %s %s", c->name, id);
	r = worker_start(cn->srv, what, worker_merge, &job, keep, 1, &merge_ops, c, &w);
	if (r < 0) {
		conn_reply_error(cn, E(ERR_INTERNAL), "images rm: container %s: starting the merge worker: %s", c->name,
				 strerror(-r));
		return;
	}
	op_begin(c, OP_IMAGE_RM, cn);
	c->op_worker = w;
	snprintf(c->op_image_id, sizeof(c->op_image_id), "%s", id);
	log_info("container %s: image %s is the parent of image %s: merging it into it", c->name, id, child);
}
