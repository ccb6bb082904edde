// SPDX-License-Identifier: GPL-2.0-or-later
/* datagram and raw internet sockets. */
#include "sock.h"

int sock_dgram_dump(struct sock_dump *sd)
{
	return sock_refuse(sd, "datagram and raw internet sockets are not supported yet");
}

void sock_dgram_free(Ckpt__Img__Socket *s)
{
	(void)s;
}

int sock_dgram_restore(struct sock_restore *sr)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: datagram and raw internet sockets are not supported yet", sock_name(sr->f, name, sizeof(name)));
}
