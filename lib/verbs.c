// SPDX-License-Identifier: GPL-2.0-or-later
/* One call per verb of proto/rpc.proto: encode, exchange, decode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libckpt.h"

#define REQ(field, case_, val)                                                    \
	(Ckpt__Rpc__Request){ .base = PROTOBUF_C_MESSAGE_INIT(&ckpt__rpc__request__descriptor), \
			      .body_case = CKPT__RPC__REQUEST__BODY_##case_, .field = (val) }

static int out_of_memory(Ckpt__Rpc__Response *resp, struct ckpt_error *err)
{
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return ckpt_err_client(err, -ENOMEM, "out of memory");
}

/* A reply with nothing but its type: the call either worked or it didn't. */
static int call_empty(struct ckpt *h, Ckpt__Rpc__Request *req, Ckpt__Rpc__Response__BodyCase expect,
		      struct ckpt_error *err)
{
	Ckpt__Rpc__Response *resp = NULL;
	int r = ckpt_call(h, req, NULL, 0, expect, &resp, NULL, 0, NULL, err);

	if (r < 0)
		return r;
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return 0;
}

/* A reply that carries exactly one fd. */
static int call_fd(struct ckpt *h, Ckpt__Rpc__Request *req, Ckpt__Rpc__Response__BodyCase expect,
		   int *ret_fd, struct ckpt_error *err)
{
	Ckpt__Rpc__Response *resp = NULL;
	size_t nfds = 0;
	int fd = -1, r;

	r = ckpt_call(h, req, NULL, 0, expect, &resp, &fd, 1, &nfds, err);
	if (r < 0)
		return r;
	ckpt__rpc__response__free_unpacked(resp, NULL);
	if (nfds != 1)
		return ckpt_err_client(err, -EPROTO, "ckptd sent no fd with its answer");
	*ret_fd = fd;
	return 0;
}

static int container_reply(Ckpt__Rpc__Response *resp, const Ckpt__Rpc__ContainerInfo *ci,
			   struct ckpt_container_result *ret, struct ckpt_error *err)
{
	if (!ci) {
		ckpt__rpc__response__free_unpacked(resp, NULL);
		return ckpt_err_client(err, -EPROTO, "ckptd's answer lacks the container");
	}
	if (ckpt_decode_container_result(resp, ci, ret) < 0)
		return out_of_memory(resp, err);
	return 0;
}

int ckpt_run(struct ckpt *h, const char *name, const struct ckpt_run_opts *opts,
	     struct ckpt_container_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__RunRequest rq = CKPT__RPC__RUN_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(run, RUN, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	int r;

	if ((r = ckpt_encode_run(name, opts, &rq, err)) < 0)
		return r;
	r = ckpt_call(h, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_RUN, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	return container_reply(resp, resp->run->container, ret, err);
}

void ckpt_container_result_free(struct ckpt_container_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_list(struct ckpt *h, struct ckpt_list_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__ListRequest rq = CKPT__RPC__LIST_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(list, LIST, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	int r;

	r = ckpt_call(h, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_LIST, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (ckpt_decode_list(resp, ret) < 0)
		return out_of_memory(resp, err);
	return 0;
}

void ckpt_list_result_free(struct ckpt_list_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_checkpoint(struct ckpt *h, const char *name, const struct ckpt_checkpoint_opts *opts,
		    struct ckpt_checkpoint_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__CheckpointRequest rq = CKPT__RPC__CHECKPOINT_REQUEST__INIT;
	Ckpt__Rpc__PhaseNotify pn = CKPT__RPC__PHASE_NOTIFY__INIT;
	Ckpt__Rpc__Request req = REQ(checkpoint, CHECKPOINT, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	int r;

	if ((r = ckpt_encode_checkpoint(name, opts, &rq, &pn, err)) < 0)
		return r;
	r = ckpt_call(h, &req, rq.to_fd ? &opts->fd : NULL, rq.to_fd ? 1 : 0,
		      CKPT__RPC__RESPONSE__BODY_CHECKPOINT, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (ckpt_decode_checkpoint(resp, ret) < 0)
		return out_of_memory(resp, err);
	return 0;
}

void ckpt_checkpoint_result_free(struct ckpt_checkpoint_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_restart(struct ckpt *h, const char *name, const struct ckpt_restart_opts *opts,
		 struct ckpt_restart_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__RestartRequest rq = CKPT__RPC__RESTART_REQUEST__INIT;
	Ckpt__Rpc__PhaseNotify pn = CKPT__RPC__PHASE_NOTIFY__INIT;
	Ckpt__Rpc__Request req = REQ(restart, RESTART, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	struct ckpt_container_result cr = {};
	int r;

	if ((r = ckpt_encode_restart(name, opts, &rq, &pn, err)) < 0)
		return r;
	r = ckpt_call(h, &req, rq.from_fd ? &opts->fd : NULL, rq.from_fd ? 1 : 0,
		      CKPT__RPC__RESPONSE__BODY_RESTART, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if ((r = container_reply(resp, resp->restart->container, &cr, err)) < 0)
		return r;
	*ret = (struct ckpt_restart_result){
		.container = cr.container,
		.image_bytes = resp->restart->image_bytes,
		.total_us = resp->restart->total_us,
		.lazy_bytes = resp->restart->lazy_bytes,
		.priv_ = cr.priv_,
	};
	return 0;
}

void ckpt_restart_result_free(struct ckpt_restart_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_images(struct ckpt *h, const char *name, struct ckpt_images_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__ImagesRequest rq = CKPT__RPC__IMAGES_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(images, IMAGES, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	const Ckpt__Rpc__ImagesResponse *ir;
	struct ckpt_image *imgs;
	struct ckpt_priv *p;
	int r;

	if (name && (r = ckpt_encode_name(name, err)) < 0)
		return r;
	rq.name = (char *)name;
	r = ckpt_call(h, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_IMAGES, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	ir = resp->images;
	if (!(p = ckpt_priv_new(resp, ir->n_images * sizeof(*imgs))))
		return out_of_memory(resp, err);
	imgs = (struct ckpt_image *)p->block;
	for (size_t i = 0; i < ir->n_images; i++)
		ckpt_decode_image(ir->images[i], &imgs[i]);
	*ret = (struct ckpt_images_result){ .n_images = ir->n_images, .images = imgs, .priv_ = p };
	return 0;
}

void ckpt_images_result_free(struct ckpt_images_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_image_rm(struct ckpt *h, const char *name, const char *image_id, struct ckpt_error *err)
{
	Ckpt__Rpc__ImageRmRequest rq = CKPT__RPC__IMAGE_RM_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(image_rm, IMAGE_RM, &rq);
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0 || (r = ckpt_encode_image_id(image_id, err)) < 0)
		return r;
	rq.name = (char *)name;
	rq.image_id = (char *)image_id;
	return call_empty(h, &req, CKPT__RPC__RESPONSE__BODY_IMAGE_RM, err);
}

int ckpt_kill(struct ckpt *h, const char *name, int signal, struct ckpt_error *err)
{
	Ckpt__Rpc__KillRequest rq = CKPT__RPC__KILL_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(kill, KILL, &rq);
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	if (signal < 0 || signal > 64)
		return ckpt_err_invalid(err, "kill %s: no signal %d", name, signal);
	rq.name = (char *)name;
	rq.has_signal = signal != 0;
	rq.signal = signal;
	return call_empty(h, &req, CKPT__RPC__RESPONSE__BODY_KILL, err);
}

int ckpt_rm(struct ckpt *h, const char *name, struct ckpt_error *err)
{
	Ckpt__Rpc__RmRequest rq = CKPT__RPC__RM_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(rm, RM, &rq);
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	rq.name = (char *)name;
	return call_empty(h, &req, CKPT__RPC__RESPONSE__BODY_RM, err);
}

int ckpt_logs(struct ckpt *h, const char *name, int *ret_fd, struct ckpt_error *err)
{
	Ckpt__Rpc__LogsRequest rq = CKPT__RPC__LOGS_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(logs, LOGS, &rq);
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	rq.name = (char *)name;
	return call_fd(h, &req, CKPT__RPC__RESPONSE__BODY_LOGS, ret_fd, err);
}

int ckpt_attach(struct ckpt *h, const char *name, unsigned rows, unsigned cols, int *ret_fd,
		struct ckpt_error *err)
{
	Ckpt__Rpc__AttachRequest rq = CKPT__RPC__ATTACH_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(attach, ATTACH, &rq);
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	rq.name = (char *)name;
	rq.has_rows = rq.has_cols = rows || cols;
	rq.rows = rows;
	rq.cols = cols;
	return call_fd(h, &req, CKPT__RPC__RESPONSE__BODY_ATTACH, ret_fd, err);
}

int ckpt_ps(struct ckpt *h, const char *name, struct ckpt_ps_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__PsRequest rq = CKPT__RPC__PS_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(ps, PS, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	const Ckpt__Rpc__PsResponse *pr;
	struct ckpt_process *ps;
	struct ckpt_priv *p;
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	rq.name = (char *)name;
	r = ckpt_call(h, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_PS, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	pr = resp->ps;
	if (!(p = ckpt_priv_new(resp, pr->n_processes * sizeof(*ps))))
		return out_of_memory(resp, err);
	ps = (struct ckpt_process *)p->block;
	for (size_t i = 0; i < pr->n_processes; i++) {
		const Ckpt__Rpc__ProcessInfo *pi = pr->processes[i];

		ps[i] = (struct ckpt_process){ .pid = pi->pid, .host_pid = pi->host_pid, .ppid = pi->ppid,
					       .state = pi->state, .command = pi->command };
	}
	*ret = (struct ckpt_ps_result){ .n_processes = pr->n_processes, .processes = ps, .priv_ = p };
	return 0;
}

void ckpt_ps_result_free(struct ckpt_ps_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_wait_start(struct ckpt *h, const char *name, struct ckpt_error *err)
{
	Ckpt__Rpc__WaitRequest rq = CKPT__RPC__WAIT_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(wait, WAIT, &rq);
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	rq.name = (char *)name;
	return ckpt_send(h, &req, NULL, 0, err);
}

int ckpt_wait_finish(struct ckpt *h, struct ckpt_container_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__Response *resp = NULL;
	int r;

	r = ckpt_finish(h, CKPT__RPC__RESPONSE__BODY_WAIT, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	return container_reply(resp, resp->wait->container, ret, err);
}

int ckpt_wait(struct ckpt *h, const char *name, struct ckpt_container_result *ret, struct ckpt_error *err)
{
	int r = ckpt_wait_start(h, name, err);

	return r < 0 ? r : ckpt_wait_finish(h, ret, err);
}

int ckpt_export(struct ckpt *h, const char *name, const char *image_id, struct ckpt_export_result *ret,
		struct ckpt_error *err)
{
	Ckpt__Rpc__ExportRequest rq = CKPT__RPC__EXPORT_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(export_image, EXPORT_IMAGE, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	struct ckpt_priv *p;
	size_t nfds = 0;
	int fd = -1, r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	if (image_id && (r = ckpt_encode_image_id(image_id, err)) < 0)
		return r;
	rq.name = (char *)name;
	rq.image_id = (char *)image_id;
	r = ckpt_call(h, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_EXPORT_IMAGE, &resp, &fd, 1, &nfds, err);
	if (r < 0)
		return r;
	if (nfds != 1) {
		ckpt__rpc__response__free_unpacked(resp, NULL);
		return ckpt_err_client(err, -EPROTO, "ckptd sent no image with its answer");
	}
	if (!(p = ckpt_priv_new(resp, 0))) {
		close(fd);
		return out_of_memory(resp, err);
	}
	*ret = (struct ckpt_export_result){
		.image_id = resp->export_image->image_id,
		.image_bytes = resp->export_image->image_bytes,
		.fd = fd, .priv_ = p,
	};
	return 0;
}

void ckpt_export_result_free(struct ckpt_export_result *r)
{
	if (!r)
		return;
	if (r->priv_ && r->fd >= 0)
		close(r->fd);
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int ckpt_import(struct ckpt *h, const char *name, const struct ckpt_import_opts *opts,
		struct ckpt_import_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__ImportRequest rq = CKPT__RPC__IMPORT_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(import_image, IMPORT_IMAGE, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	struct ckpt_priv *p;
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	if (!opts || opts->fd < 0)
		return ckpt_err_invalid(err, "import %s: no image fd", name);
	rq.name = (char *)name;
	rq.has_timeout_s = opts->timeout_s != 0;
	rq.timeout_s = opts->timeout_s;
	r = ckpt_call(h, &req, &opts->fd, 1, CKPT__RPC__RESPONSE__BODY_IMPORT_IMAGE, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (!(p = ckpt_priv_new(resp, 0)))
		return out_of_memory(resp, err);
	*ret = (struct ckpt_import_result){
		.image_id = resp->import_image->image_id,
		.image_bytes = resp->import_image->image_bytes,
		.created = resp->import_image->has_created && resp->import_image->created,
		.priv_ = p,
	};
	return 0;
}

void ckpt_import_result_free(struct ckpt_import_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_cancel_start(struct ckpt *h, const char *name, struct ckpt_error *err)
{
	Ckpt__Rpc__CancelRequest rq = CKPT__RPC__CANCEL_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(cancel, CANCEL, &rq);
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	rq.name = (char *)name;
	return ckpt_send(h, &req, NULL, 0, err);
}

int ckpt_cancel(struct ckpt *h, const char *name, struct ckpt_cancel_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__Response *resp = NULL;
	struct ckpt_priv *p;
	int r;

	if ((r = ckpt_cancel_start(h, name, err)) < 0)
		return r;
	r = ckpt_finish(h, CKPT__RPC__RESPONSE__BODY_CANCEL, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (!(p = ckpt_priv_new(resp, 0)))
		return out_of_memory(resp, err);
	*ret = (struct ckpt_cancel_result){
		.canceled = resp->cancel->canceled,
		.operation = resp->cancel->operation,
		.priv_ = p,
	};
	return 0;
}

void ckpt_cancel_result_free(struct ckpt_cancel_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_stats(struct ckpt *h, const char *name, struct ckpt_stats_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__StatsRequest rq = CKPT__RPC__STATS_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(stats, STATS, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	const Ckpt__Rpc__StatsResponse *s;
	struct ckpt_priv *p;
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	rq.name = (char *)name;
	r = ckpt_call(h, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_STATS, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (!(p = ckpt_priv_new(resp, 0)))
		return out_of_memory(resp, err);
	s = resp->stats;
	*ret = (struct ckpt_stats_result){
		.state = (int)s->state >= 0 && (int)s->state <= (int)CKPT_STATE_BUSY ? (enum ckpt_state)s->state
								     : CKPT_STATE_UNKNOWN,
		.has_memory_bytes = s->has_memory_bytes, .memory_bytes = s->memory_bytes,
		.memory_source = s->memory_source,
		.processes = s->processes, .images = s->images, .image_bytes = s->image_bytes,
		.priv_ = p,
		.memory_limit = s->memory_limit, .pids_limit = s->pids_limit, .cpus_milli = s->cpus_milli,
	};
	return 0;
}

void ckpt_stats_result_free(struct ckpt_stats_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_version(struct ckpt *h, struct ckpt_version_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__VersionRequest rq = CKPT__RPC__VERSION_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(version, VERSION, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	struct ckpt_priv *p;
	int r;

	r = ckpt_call(h, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_VERSION, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	if (!(p = ckpt_priv_new(resp, 0)))
		return out_of_memory(resp, err);
	*ret = (struct ckpt_version_result){
		.version = resp->version->version,
		.proto_version = resp->version->proto_version,
		.image_version = resp->version->image_version,
		.priv_ = p,
	};
	return 0;
}

void ckpt_version_result_free(struct ckpt_version_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

int ckpt_check(struct ckpt *h, struct ckpt_check_result *ret, struct ckpt_error *err)
{
	Ckpt__Rpc__CheckRequest rq = CKPT__RPC__CHECK_REQUEST__INIT;
	Ckpt__Rpc__Request req = REQ(check, CHECK, &rq);
	Ckpt__Rpc__Response *resp = NULL;
	const Ckpt__Rpc__CheckResponse *cr;
	struct ckpt_feature *fs;
	struct ckpt_priv *p;
	int r;

	r = ckpt_call(h, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_CHECK, &resp, NULL, 0, NULL, err);
	if (r < 0)
		return r;
	cr = resp->check;
	if (!(p = ckpt_priv_new(resp, cr->n_features * sizeof(*fs))))
		return out_of_memory(resp, err);
	fs = (struct ckpt_feature *)p->block;
	for (size_t i = 0; i < cr->n_features; i++)
		fs[i] = (struct ckpt_feature){ .name = cr->features[i]->name, .ok = cr->features[i]->ok,
					       .detail = cr->features[i]->detail };
	*ret = (struct ckpt_check_result){ .n_features = cr->n_features, .features = fs, .priv_ = p };
	return 0;
}

void ckpt_check_result_free(struct ckpt_check_result *r)
{
	if (!r)
		return;
	ckpt_priv_free(r->priv_);
	memset(r, 0, sizeof(*r));
}

const char *ckpt_state_name(enum ckpt_state s)
{
	switch (s) {
	case CKPT_STATE_RUNNING: return "running";
	case CKPT_STATE_CHECKPOINTED: return "checkpointed";
	case CKPT_STATE_STOPPED: return "stopped";
	case CKPT_STATE_BUSY: return "busy";
	default: return "unknown";
	}
}
