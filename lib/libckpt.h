// SPDX-License-Identifier: GPL-2.0-or-later
/* libckpt internals: the connection, the pure request encoders and
 * response decoders (unit-tested without a daemon), error mapping. */
#pragma once
#include <stdarg.h>
#include <stddef.h>

#include "ckpt/ckpt.h"
#include "rpc.pb-c.h"

#define CKPT_IMAGE_ID_MAX 128

struct ckpt {
	int sock;
	char path[108];
	ckpt_progress_fn progress;
	void *progress_data;
	ckpt_phase_fn phase;
	void *phase_data;
	ckpt_interrupt_fn interrupt;
	void *interrupt_data;
	void *buf;               /* CKPT_RPC_MAX_MSG bytes, for replies */
};

/* What a result's priv_ points to: the reply its strings point into, and
 * one block for the arrays of structs made from it. */
struct ckpt_priv {
	Ckpt__Rpc__Response *resp;
	max_align_t block[];
};

/* error.c */
int ckpt_err_client(struct ckpt_error *err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ckpt_err_invalid(struct ckpt_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ckpt_err_from_proto(struct ckpt_error *err, const Ckpt__Rpc__Error *e);
int ckpt_errc_errno(int code);

/* encode.c: options to requests. Strings are borrowed from the caller. */
int ckpt_encode_run(const char *name, const struct ckpt_run_opts *o, Ckpt__Rpc__RunRequest *rq,
		    struct ckpt_error *err);
/* pn: room for the phase lists, pointed to by rq->notify if any */
int ckpt_encode_checkpoint(const char *name, const struct ckpt_checkpoint_opts *o,
			   Ckpt__Rpc__CheckpointRequest *rq, Ckpt__Rpc__PhaseNotify *pn,
			   struct ckpt_error *err);
int ckpt_encode_restart(const char *name, const struct ckpt_restart_opts *o,
			Ckpt__Rpc__RestartRequest *rq, Ckpt__Rpc__PhaseNotify *pn, struct ckpt_error *err);
int ckpt_encode_name(const char *name, struct ckpt_error *err);
int ckpt_encode_image_id(const char *id, struct ckpt_error *err);

/* decode.c: replies to results. The arrays live in priv->block. */
struct ckpt_priv *ckpt_priv_new(Ckpt__Rpc__Response *resp, size_t block_size);
void ckpt_priv_free(void *priv);
void ckpt_decode_image(const Ckpt__Rpc__ImageInfo *ii, struct ckpt_image *out);
/* imgs: room for ci->n_images */
void ckpt_decode_container(const Ckpt__Rpc__ContainerInfo *ci, struct ckpt_container *out,
			   struct ckpt_image *imgs);
int ckpt_decode_list(Ckpt__Rpc__Response *resp, struct ckpt_list_result *ret);
/* errors: a check's list, each as ckpt_err_from_proto makes it */
int ckpt_decode_checkpoint(Ckpt__Rpc__Response *resp, struct ckpt_checkpoint_result *ret);
int ckpt_decode_container_result(Ckpt__Rpc__Response *resp, const Ckpt__Rpc__ContainerInfo *ci,
				 struct ckpt_container_result *ret);

/* conn.c: send req (with fds) and wait for the final reply of type expect,
 * handing progress to the callback. */
int ckpt_call(struct ckpt *h, Ckpt__Rpc__Request *req, const int *fds, size_t nfds,
	      Ckpt__Rpc__Response__BodyCase expect, Ckpt__Rpc__Response **ret_resp,
	      int *ret_fds, size_t max_fds, size_t *ret_nfds, struct ckpt_error *err);
int ckpt_send(struct ckpt *h, Ckpt__Rpc__Request *req, const int *fds, size_t nfds, struct ckpt_error *err);
/* One Response, whatever it is; fds with it are closed. */
int ckpt_recv(struct ckpt *h, Ckpt__Rpc__Response **ret, struct ckpt_error *err);
int ckpt_finish(struct ckpt *h, Ckpt__Rpc__Response__BodyCase expect, Ckpt__Rpc__Response **ret_resp,
		int *ret_fds, size_t max_fds, size_t *ret_nfds, struct ckpt_error *err);
