// SPDX-License-Identifier: GPL-2.0-or-later
/* Moving stored images between stores: export hands a stored image to the
 * client (an fd, by SCM_RIGHTS: ckptd never streams it through its loop);
 * import stores a stream the client attaches, in a worker that verifies it
 * whole while it writes ID.img.tmp, renamed to ID.img only once complete,
 * so a failed or interrupted import leaves nothing under a real name. */
#include "container.h"
#include "access.h"
#include "handlers.h"
#include "hint.h"
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

void transfer_export(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const Ckpt__Rpc__ExportRequest *r = req->export_image;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__ExportResponse er = CKPT__RPC__EXPORT_RESPONSE__INIT;
	_cleanup_close_ int fd = -1;
	char id[STORE_ID_MAX], parent[STORE_ID_MAX];
	struct container *c;
	struct stat st;

	c = ops_lookup(cn, r->name);
	if (!c)
		return;
	if (r->image_id) {
		if (!store_id_valid(r->image_id)) {
			conn_reply_error(cn, E(ERR_INVALID_REQUEST), "export: '%.32s' is not an image id", r->image_id);
			return;
		}
		snprintf(id, sizeof(id), "%s", r->image_id);
	} else if (store_newest(c->dir_fd, id) < 0) {
		ops_refuse(cn, E(ERR_NOT_FOUND), &(struct hint_facts){ .kind = HINT_NO_STORED_IMAGE, .name = c->name },
			   "container %s: has no stored image", c->name);
		return;
	}
	fd = store_open(c->dir_fd, id);
	if (fd < 0) {
		ops_refuse(cn, fd == -ENOENT ? E(ERR_NOT_FOUND) : E(ERR_IO),
			   fd == -ENOENT ? &(struct hint_facts){ .kind = HINT_NO_IMAGE, .name = c->name } : NULL,
			   "container %s: image %s: %s", c->name, id, fd == -ENOENT ? "no such image" : strerror(-fd));
		return;
	}
	if (fstat(fd, &st) < 0) {
		conn_reply_error(cn, E(ERR_IO), "container %s: image %s: %m", c->name, id);
		return;
	}
	/* an image is its owner's, whoever holds the container now */
	if (!access_may_act(cn->uid, st.st_uid)) {
		ops_refuse(cn, E(ERR_NOT_FOUND), &(struct hint_facts){ .kind = HINT_NO_IMAGE, .name = c->name },
			   "container %s: image %s: no such image", c->name, id);
		return;
	}
	if (store_parent(c->dir_fd, id, parent) > 0) {
		conn_reply_error(cn, E(ERR_UNSUPPORTED), "container %s: image %s is incremental (its parent is image %s): "
				 "only a full image can be exported; restart the container from it and take a checkpoint "
				 "without --incremental, then export that", c->name, id, parent);
		return;
	}
	er.image_id = id;
	er.image_bytes = st.st_size;
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_EXPORT_IMAGE;
	resp.export_image = &er;
	conn_send(cn, &resp, &fd, 1);
}

/* ---- import ---- */

struct import_job {
	int in_fd, out_fd, dir_fd;
	const char *name, *id;
	uint64_t deadline_ms;
};

static int worker_import(void *arg, int report_fd)
{
	struct import_job *job = arg;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__ImportResponse ir = CKPT__RPC__IMPORT_RESPONSE__INIT;
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	char why[512], msg[600];
	uint64_t bytes = 0;
	int r;

	r = store_copy_verified(job->in_fd, job->out_fd, job->deadline_ms, &bytes, why, sizeof(why));
	if (r >= 0) {
		r = store_commit(job->dir_fd, job->id, job->out_fd);
		if (r < 0)
			snprintf(why, sizeof(why), "storing it: %s", strerror(-r));
	}
	resp.final = true;
	if (r < 0) {
		store_abort(job->dir_fd, job->id);
		snprintf(msg, sizeof(msg), "import %s: the image is refused: %s", job->name, why);
		e.code = r == -EIO || r == -ENOSPC || r == -ETIMEDOUT ? E(ERR_IO) : E(ERR_BAD_IMAGE);
		e.message = msg;
		e.reason = why;
		e.has_sys_errno = true;
		e.sys_errno = -r;
		resp.error = &e;
		return wire_send_msg(report_fd, &resp.base, NULL, 0);
	}
	ir.image_id = (char *)job->id;
	ir.image_bytes = bytes;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_IMPORT_IMAGE;
	resp.import_image = &ir;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

/* The worker's error, with the hint of its kind (a full store, mostly). */
static void import_reply_error(struct conn *cn, const struct container *c, Ckpt__Rpc__Error *e)
{
	char arg[64], hint[256];
	struct hint_facts hf = {
		.kind = hint_classify("import", e->code, e->has_sys_errno ? e->sys_errno : 0,
				      e->reason ? e->reason : e->message, arg, sizeof(arg)),
		.name = c->name, .arg = arg[0] ? arg : NULL,
	};

	if (hf.kind == HINT_UNTRUSTED)
		hf.arg = c->srv->keys ? c->srv->keys->trusted_dir : NULL;
	if (!e->hint && hint_format(&hf, hint, sizeof(hint)))
		e->hint = hint;
	conn_reply_error_msg(cn, e);
	if (e->hint == hint)
		e->hint = NULL;   /* not the reply's to free */
}

static void import_done(void *ud, Ckpt__Rpc__Response *final, int wait_status)
{
	struct container *c = ud;
	struct conn *cn = c->op_conn;
	bool ok = final && !final->error && final->body_case == CKPT__RPC__RESPONSE__BODY_IMPORT_IMAGE;
	bool created = c->op_new;
	int r;

	c->op_worker = NULL;
	if (!ok) {
		if (!final)
			store_abort(c->dir_fd, c->op_image_id);   /* it died before it could */
		if (final && final->error)
			import_reply_error(cn, c, final->error);
		else
			conn_reply_error(cn, E(ERR_INTERNAL), "import %s: the import worker died (status 0x%x)",
					 c->name, wait_status);
		log_warn("container %s: import refused: %s", c->name,
			 final && final->error ? final->error->message : "the worker died");
		if (final)
			ckpt__rpc__response__free_unpacked(final, NULL);
		op_end(c);
		if (created)
			container_destroy(c);
		return;
	}
	if (created) {
		c->state = CONTAINER_CHECKPOINTED;
		r = container_save(c);
		if (r < 0)
			log_warn("container %s: saving its state: %s", c->name, strerror(-r));
	}
	final->import_image->has_created = true;
	final->import_image->created = created;
	log_info("container %s: image %s imported (%" PRIu64 " bytes)", c->name, final->import_image->image_id,
		 final->import_image->image_bytes);
	conn_send(cn, final, NULL, 0);
	ckpt__rpc__response__free_unpacked(final, NULL);
	op_end(c);
}

static const struct worker_ops import_ops = {
	.done = import_done,
};

void transfer_import(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const Ckpt__Rpc__ImportRequest *r = req->import_image;
	struct import_job job = { .in_fd = nfds == 1 ? fds[0] : -1 };
	_cleanup_close_ int out_fd = -1;
	char id[STORE_ID_MAX], what[128];
	struct container *c;
	bool created = false;
	struct worker *w;
	int fl, k, keep[3];

	if (!container_name_valid(r->name)) {
		ops_lookup(cn, r->name);
		return;
	}
	fl = job.in_fd >= 0 ? fcntl(job.in_fd, F_GETFL) : -1;
	if (nfds != 1 || fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "import %s: exactly one fd open for reading must be attached",
				 r->name);
		return;
	}
	c = container_find(cn->srv, r->name);
	/* into another user's container: not even its name leaks */
	if (c && !access_may_act(cn->uid, c->owner_uid)) {
		ops_refuse(cn, E(ERR_EXISTS), &(struct hint_facts){ .kind = HINT_NAME_TAKEN_OTHER, .name = r->name },
			   "import %s: the name is taken by another user's container", r->name);
		return;
	}
	if (c && c->op != OP_NONE) {
		ops_refuse(cn, E(ERR_BUSY), &(struct hint_facts){ .kind = HINT_BUSY_WAIT, .name = c->name },
			   "container %s: busy", c->name);
		return;
	}
	if (!c) {
		k = container_new(cn->srv, r->name, cn->uid, &c);
		if (k < 0) {
			conn_reply_error(cn, E(ERR_IO), "import %s: creating its state: %s", r->name, strerror(-k));
			return;
		}
		created = true;
	}
	k = store_next_id(c->dir_fd, id);
	if (k >= 0)
		k = out_fd = store_create_tmp(c->dir_fd, id, c->owner_uid);
	if (k < 0) {
		conn_reply_error(cn, E(ERR_IO), "container %s: creating image %s in the store: %s", c->name, id,
				 strerror(-k));
		goto fail;
	}
	job.out_fd = out_fd;
	job.dir_fd = c->dir_fd;
	job.name = c->name;
	job.id = id;
	job.deadline_ms = server_deadline_ms(cn->srv, r->timeout_s);
	keep[0] = job.in_fd;
	keep[1] = job.out_fd;
	keep[2] = job.dir_fd;
	snprintf(what, sizeof(what), "import %s", c->name);
	k = worker_start(cn->srv, what, worker_import, &job, keep, 3, &import_ops, c, &w);
	if (k < 0) {
		store_abort(c->dir_fd, id);
		conn_reply_error(cn, E(ERR_INTERNAL), "container %s: starting the import worker: %s", c->name,
				 strerror(-k));
		goto fail;
	}
	op_begin(c, OP_IMPORT, cn);
	c->op_worker = w;
	c->op_new = created;
	memcpy(c->op_image_id, id, sizeof(id));
	return;
fail:
	if (created)
		container_destroy(c);
}
