// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's network in the image and back (netcfg.h). */
#include "netcfg.h"
#include <string.h>

void netcfg_to_image(const struct cr_net_config *cfg, struct netcfg_msg *ret)
{
	size_t i;

	ret->m = (Ckpt__Img__NetConfig)CKPT__IMG__NET_CONFIG__INIT;
	ret->m.mode = cfg->private_ns ? CR_NET_MODE_PRIVATE : CR_NET_MODE_HOST;
	if (cfg->private_ns && cfg->addr) {
		ret->m.has_address = ret->m.has_host_address = ret->m.has_prefix_len = true;
		ret->m.address = cfg->addr;
		ret->m.host_address = cfg->host_addr;
		ret->m.prefix_len = cfg->prefix_len;
	}
	for (i = 0; cfg->private_ns && i < cfg->npublish && i < CR_NET_MAX_PUBLISH; i++) {
		ret->pub[i] = (Ckpt__Img__NetPublish)CKPT__IMG__NET_PUBLISH__INIT;
		ret->pub[i].host_port = cfg->publish[i].host_port;
		ret->pub[i].port = cfg->publish[i].port;
		ret->pub[i].protocol = cfg->publish[i].protocol;
		ret->pubp[i] = &ret->pub[i];
	}
	ret->m.n_publish = i;
	ret->m.publish = ret->pubp;
}

void netcfg_from_image(const Ckpt__Img__NetConfig *n, struct cr_net_config *ret)
{
	size_t i;

	memset(ret, 0, sizeof(*ret));
	if (!n || n->mode != CR_NET_MODE_PRIVATE)
		return;
	ret->private_ns = true;
	if (n->has_address) {
		ret->addr = n->address;
		ret->host_addr = n->host_address;
		ret->prefix_len = n->prefix_len;
	}
	for (i = 0; i < n->n_publish && i < CR_NET_MAX_PUBLISH; i++)
		ret->publish[i] = (struct cr_net_publish){
			.host_port = n->publish[i]->host_port, .port = n->publish[i]->port,
			.protocol = n->publish[i]->protocol,
		};
	ret->npublish = i;
}
