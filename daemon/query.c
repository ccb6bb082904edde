// SPDX-License-Identifier: GPL-2.0-or-later
/* Requests answered at once from the table and the store: list, images,
 * logs, version, check. They never wait for an operation in progress. */
#include "access.h"
#include "container.h"
#include "handlers.h"
#include "image.h"
#include "kerndat.h"
#include "key.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "store.h"
#include "wire.h"
#include "worker.h"
#include <fcntl.h>

#define E(x) CKPT__RPC__ERROR_CODE__##x

static Ckpt__Rpc__Response final_response(void)
{
	Ckpt__Rpc__Response r = CKPT__RPC__RESPONSE__INIT;

	r.final = true;
	return r;
}

void query_list(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__ListResponse lr = CKPT__RPC__LIST_RESPONSE__INIT;
	_cleanup_free_ Ckpt__Rpc__ContainerInfo **v = NULL;
	struct container *c;
	size_t n = 0, i;
	int r = 0;

	for (c = cn->srv->containers; c; c = c->next)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		conn_reply_error(cn, E(ERR_INTERNAL), "list: out of memory");
		return;
	}
	/* each peer sees its own; root sees all */
	n = 0;
	for (c = cn->srv->containers; c && r >= 0; c = c->next)
		if (access_may_act(cn->uid, c->owner_uid) && (r = container_info(c, &v[n])) >= 0)
			n++;
	if (r < 0)
		conn_reply_error(cn, E(ERR_IO), "list: reading the state of container %s: %s",
				 c ? c->name : "?", strerror(-r));
	else {
		lr.n_containers = n;
		lr.containers = v;
		resp.body_case = CKPT__RPC__RESPONSE__BODY_LIST;
		resp.list = &lr;
		conn_send(cn, &resp, NULL, 0);
	}
	for (i = 0; i < n; i++)
		container_info_free(v[i]);
}

/* Whether the image verifies here, and the key its MAC names. */
static int query_image_trust(struct container *c, Ckpt__Rpc__ImageInfo *ii)
{
	const struct key_ring *keys = c->srv->keys;
	uint8_t key_id[MAC_KEY_ID_LEN];
	bool trusted, has_key_id;
	int r;

	if (!keys)
		return 0;
	r = store_verify(c->dir_fd, ii->id, keys->keys, keys->n, &trusted, key_id, &has_key_id);
	if (r == -ENOENT)
		return 0;        /* removed since it was listed */
	if (r < 0)
		return r;
	ii->has_trusted = true;
	ii->trusted = trusted;
	if (has_key_id) {
		ii->key_id = malloc(MAC_KEY_ID_HEX);
		if (!ii->key_id)
			return -ENOMEM;
		mac_key_id_hex(key_id, ii->key_id);
	}
	return 0;
}

/* Images of one container that the peer may see appended to *v. */
static int query_add_images(struct conn *cn, struct container *c, Ckpt__Rpc__ImageInfo ***v, size_t *n)
{
	_cleanup_free_ struct store_image *imgs = NULL;
	Ckpt__Rpc__ImageInfo **nv;
	char parent[STORE_ID_MAX];
	size_t k, i;
	int r;

	if (!access_may_act(cn->uid, c->owner_uid))
		return 0;
	r = store_list(c->dir_fd, &imgs, &k);
	if (r < 0 || k == 0)
		return r;
	nv = reallocarray(*v, *n + k, sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	for (i = 0; i < k; i++) {
		Ckpt__Rpc__ImageInfo *ii;

		if (!access_may_act(cn->uid, imgs[i].owner_uid))
			continue;
		ii = malloc(sizeof(*ii));
		if (!ii)
			return -ENOMEM;
		*ii = (Ckpt__Rpc__ImageInfo)CKPT__RPC__IMAGE_INFO__INIT;
		ii->id = strdup(imgs[i].id);
		ii->container = c->name;
		ii->has_size = ii->has_created = true;
		ii->size = imgs[i].size;
		ii->created = imgs[i].mtime;
		ii->has_owner_uid = true;
		ii->owner_uid = imgs[i].owner_uid;
		(*v)[(*n)++] = ii;
		if (!ii->id)
			return -ENOMEM;
		r = query_image_trust(c, ii);
		if (r < 0)
			return r;
		if (store_parent(c->dir_fd, ii->id, parent) > 0 && !(ii->parent_id = strdup(parent)))
			return -ENOMEM;
	}
	return 0;
}

void query_images(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const char *name = req->images->name;
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__ImagesResponse ir = CKPT__RPC__IMAGES_RESPONSE__INIT;
	Ckpt__Rpc__ImageInfo **v = NULL;
	struct container *c;
	size_t n = 0, i;
	int r = 0;

	if (name && *name) {
		c = ops_lookup(cn, name);
		if (!c)
			return;
		r = query_add_images(cn, c, &v, &n);
	} else {
		for (c = cn->srv->containers; c && r >= 0; c = c->next)
			r = query_add_images(cn, c, &v, &n);
	}
	if (r < 0)
		conn_reply_error(cn, E(ERR_IO), "images: listing the store: %s", strerror(-r));
	else {
		ir.n_images = n;
		ir.images = v;
		resp.body_case = CKPT__RPC__RESPONSE__BODY_IMAGES;
		resp.images = &ir;
		conn_send(cn, &resp, NULL, 0);
	}
	for (i = 0; i < n; i++) {
		free(v[i]->id);
		free(v[i]->key_id);
		free(v[i]->parent_id);
		free(v[i]);
	}
	free(v);
}

void query_logs(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__LogsResponse lr = CKPT__RPC__LOGS_RESPONSE__INIT;
	_cleanup_close_ int fd = -1;
	struct container *c;

	c = ops_lookup(cn, req->logs->name);
	if (!c)
		return;
	/* the client reads it itself: ckptd never streams a log through its loop */
	fd = openat(c->dir_fd, "log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		conn_reply_error(cn, E(ERR_IO), "container %s: opening its log: %m", c->name);
		return;
	}
	resp.body_case = CKPT__RPC__RESPONSE__BODY_LOGS;
	resp.logs = &lr;
	conn_send(cn, &resp, &fd, 1);
}

void query_version(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__VersionResponse vr = CKPT__RPC__VERSION_RESPONSE__INIT;

	vr.version = CKPTD_VERSION;
	vr.proto_version = CKPT__RPC__PROTO_VERSION__PROTO_VERSION_CURRENT;
	vr.image_version = IMAGE_FORMAT_VERSION;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_VERSION;
	resp.version = &vr;
	conn_send(cn, &resp, NULL, 0);
}

/* Probing may fork and ptrace a test child: that happens in a worker. */

static int query_check_worker(void *arg, int report_fd)
{
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__CheckResponse cr = CKPT__RPC__CHECK_RESPONSE__INIT;
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	struct kerndat_feature kf[64];
	Ckpt__Rpc__Feature f[ARRAY_SIZE(kf)], *fp[ARRAY_SIZE(kf)];
	char msg[128];
	int n, i;

	n = kerndat_check(kf, ARRAY_SIZE(kf));
	if (n < 0) {
		snprintf(msg, sizeof(msg), "check: probing kernel features: %s", strerror(-n));
		e.code = E(ERR_KERNEL);
		e.message = msg;
		resp.error = &e;
		return wire_send_msg(report_fd, &resp.base, NULL, 0);
	}
	for (i = 0; i < n && i < (int)ARRAY_SIZE(kf); i++) {
		f[i] = (Ckpt__Rpc__Feature)CKPT__RPC__FEATURE__INIT;
		f[i].name = (char *)kf[i].name;
		f[i].ok = kf[i].ok;
		f[i].detail = kf[i].detail[0] ? kf[i].detail : NULL;
		fp[i] = &f[i];
	}
	cr.n_features = i;
	cr.features = fp;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_CHECK;
	resp.check = &cr;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

static void query_check_done(void *ud, Ckpt__Rpc__Response *final, int wait_status)
{
	struct check_job *job = ud;

	if (job->conn) {
		job->conn->check = NULL;
		if (final && final->final)
			conn_send(job->conn, final, NULL, 0);
		else
			conn_reply_error(job->conn, E(ERR_INTERNAL), "check: the probing worker died (status %d)",
					 wait_status);
	}
	if (final)
		ckpt__rpc__response__free_unpacked(final, NULL);
	free(job);
}

static const struct worker_ops query_check_ops = { .done = query_check_done };

void query_check(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	struct check_job *job = calloc(1, sizeof(*job));
	struct worker *w;
	int r;

	if (!job) {
		conn_reply_error(cn, E(ERR_INTERNAL), "check: out of memory");
		return;
	}
	job->conn = cn;
	r = worker_start(cn->srv, "check", query_check_worker, NULL, NULL, 0, &query_check_ops, job, &w);
	if (r < 0) {
		free(job);
		conn_reply_error(cn, E(ERR_INTERNAL), "check: starting a worker: %s", strerror(-r));
		return;
	}
	cn->check = job;
}
