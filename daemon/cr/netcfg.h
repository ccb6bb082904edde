// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's network in the image (Header.net, NetConfig) and back. */
#pragma once
#include "cr.h"
#include "image.pb-c.h"

/* The image's form of cfg; m and its publishes live in the caller's buffers. */
struct netcfg_msg {
	Ckpt__Img__NetConfig m;
	Ckpt__Img__NetPublish pub[CR_NET_MAX_PUBLISH];
	Ckpt__Img__NetPublish *pubp[CR_NET_MAX_PUBLISH];
};
void netcfg_to_image(const struct cr_net_config *cfg, struct netcfg_msg *ret);
/* n validated (validate_net); NULL: the host's network. */
void netcfg_from_image(const Ckpt__Img__NetConfig *n, struct cr_net_config *ret);
