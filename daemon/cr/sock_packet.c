// SPDX-License-Identifier: GPL-2.0-or-later
/* Packet sockets. */
#include "sock.h"

int sock_packet_dump(struct sock_dump *sd)
{
	return sock_refuse(sd, "packet sockets are not supported yet");
}

void sock_packet_free(Ckpt__Img__Socket *s)
{
	(void)s;
}

int sock_packet_restore(struct sock_restore *sr)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: packet sockets are not supported yet", sock_name(sr->f, name, sizeof(name)));
}
