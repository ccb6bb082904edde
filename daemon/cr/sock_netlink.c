// SPDX-License-Identifier: GPL-2.0-or-later
/* Netlink sockets. */
#include "sock.h"

int sock_netlink_dump(struct sock_dump *sd)
{
	return sock_refuse(sd, "netlink sockets are not supported yet");
}

void sock_netlink_free(Ckpt__Img__Socket *s)
{
	(void)s;
}

int sock_netlink_restore(struct sock_restore *sr)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: netlink sockets are not supported yet", sock_name(sr->f, name, sizeof(name)));
}
