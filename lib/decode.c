// SPDX-License-Identifier: GPL-2.0-or-later
/* Replies to results: the result's strings point into the unpacked reply,
 * which the result keeps (priv_) until it is freed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "libckpt.h"

struct ckpt_priv *ckpt_priv_new(Ckpt__Rpc__Response *resp, size_t block_size)
{
	struct ckpt_priv *p = calloc(1, sizeof(*p) + block_size);

	if (p)
		p->resp = resp;
	return p;
}

void ckpt_priv_free(void *priv)
{
	struct ckpt_priv *p = priv;

	if (!p)
		return;
	if (p->resp)
		ckpt__rpc__response__free_unpacked(p->resp, NULL);
	free(p);
}

void ckpt_decode_image(const Ckpt__Rpc__ImageInfo *ii, struct ckpt_image *out)
{
	*out = (struct ckpt_image){
		.id = ii->id,
		.container = ii->container,
		.has_size = ii->has_size,
		.size = ii->size,
		.has_created = ii->has_created,
		.created = ii->created,
		.has_owner_uid = ii->has_owner_uid,
		.owner_uid = ii->owner_uid,
		.has_trusted = ii->has_trusted, .trusted = ii->trusted,
		.key_id = ii->key_id,
		.parent_id = ii->parent_id,
	};
}

static enum ckpt_state decode_state(Ckpt__Rpc__ContainerState s)
{
	return (int)s >= 0 && (int)s <= (int)CKPT_STATE_BUSY ? (enum ckpt_state)s : CKPT_STATE_UNKNOWN;
}

void ckpt_decode_container(const Ckpt__Rpc__ContainerInfo *ci, struct ckpt_container *out,
			   struct ckpt_image *imgs)
{
	for (size_t i = 0; i < ci->n_images; i++)
		ckpt_decode_image(ci->images[i], &imgs[i]);
	*out = (struct ckpt_container){
		.name = ci->name,
		.state = decode_state(ci->state),
		.has_pid = ci->has_pid, .pid = ci->pid,
		.has_host_pid = ci->has_host_pid, .host_pid = ci->host_pid,
		.has_init_host_pid = ci->has_init_host_pid, .init_host_pid = ci->init_host_pid,
		.has_exit_status = ci->has_exit_status, .exit_status = ci->exit_status,
		.n_argv = ci->n_argv, .argv = (const char *const *)ci->argv,
		.n_images = ci->n_images, .images = imgs,
		.has_net = ci->has_net,
		.net = ci->net == CKPT__RPC__NET_MODE__NET_HOST ? CKPT_NET_HOST : CKPT_NET_PRIVATE,
		.n_publish = ci->n_publish, .publish = (const char *const *)ci->publish,
		.net_address = ci->net_address,
		.net_host_address = ci->net_host_address,
		.net_veth = ci->net_veth,
		.tty = ci->has_tty && ci->tty,
		.has_owner_uid = ci->has_owner_uid, .owner_uid = ci->owner_uid,
		.owner = ci->owner,
		.has_caps = ci->has_caps, .caps = ci->caps,
		.privileged = ci->has_privileged && ci->privileged,
		.user = ci->user,
		.root = ci->root,
		.n_bind = ci->n_bind, .bind = (const char *const *)ci->bind,
		.userns = ci->userns,
		.memory_limit = ci->memory_limit, .pids_limit = ci->pids_limit, .cpus_milli = ci->cpus_milli,
	};
}

/* Array sizes come from a reply of at most CKPT_RPC_MAX_MSG bytes, each
 * element at least 2 bytes on the wire: the products can't overflow. */
int ckpt_decode_list(Ckpt__Rpc__Response *resp, struct ckpt_list_result *ret)
{
	const Ckpt__Rpc__ListResponse *l = resp->list;
	struct ckpt_container *cs;
	struct ckpt_image *imgs;
	struct ckpt_priv *p;
	size_t nimg = 0;

	for (size_t i = 0; i < l->n_containers; i++)
		nimg += l->containers[i]->n_images;
	p = ckpt_priv_new(resp, l->n_containers * sizeof(*cs) + nimg * sizeof(*imgs));
	if (!p)
		return -ENOMEM;
	cs = (struct ckpt_container *)p->block;
	imgs = (struct ckpt_image *)(cs + l->n_containers);
	for (size_t i = 0; i < l->n_containers; i++) {
		ckpt_decode_container(l->containers[i], &cs[i], imgs);
		imgs += l->containers[i]->n_images;
	}
	*ret = (struct ckpt_list_result){ .n_containers = l->n_containers, .containers = cs, .priv_ = p };
	return 0;
}

int ckpt_decode_checkpoint(Ckpt__Rpc__Response *resp, struct ckpt_checkpoint_result *ret)
{
	const Ckpt__Rpc__CheckpointResponse *cr = resp->checkpoint;
	struct ckpt_priv *p = ckpt_priv_new(resp, cr->n_errors * sizeof(struct ckpt_error));
	struct ckpt_error *errs;

	if (!p)
		return -ENOMEM;
	errs = (struct ckpt_error *)p->block;
	for (size_t i = 0; i < cr->n_errors; i++)
		(void)ckpt_err_from_proto(&errs[i], cr->errors[i]);
	*ret = (struct ckpt_checkpoint_result){
		.image_id = cr->image_id,
		.image_bytes = cr->image_bytes,
		.has_pages = cr->has_pages, .pages = cr->pages,
		.frozen_us = cr->frozen_us, .total_us = cr->total_us,
		.priv_ = p,
		.n_errors = cr->n_errors, .errors = errs,
		.copy = cr->copy,
		.parent_id = cr->parent_id,
		.full_reason = cr->full_reason,
		.pages_raw_bytes = cr->pages_raw_bytes,
		.pages_stored_bytes = cr->pages_stored_bytes,
	};
	return 0;
}

int ckpt_decode_container_result(Ckpt__Rpc__Response *resp, const Ckpt__Rpc__ContainerInfo *ci,
				 struct ckpt_container_result *ret)
{
	struct ckpt_priv *p = ckpt_priv_new(resp, ci->n_images * sizeof(struct ckpt_image));

	if (!p)
		return -ENOMEM;
	ckpt_decode_container(ci, &ret->container, (struct ckpt_image *)p->block);
	ret->priv_ = p;
	return 0;
}
