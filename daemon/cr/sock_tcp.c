// SPDX-License-Identifier: GPL-2.0-or-later
/* TCP sockets. */
#include "sock.h"

int sock_tcp_dump(struct sock_dump *sd)
{
	return sock_refuse(sd, "TCP sockets are not supported yet");
}

void sock_tcp_free(Ckpt__Img__Socket *s)
{
	(void)s;
}

int sock_tcp_restore(struct sock_restore *sr)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: TCP sockets are not supported yet", sock_name(sr->f, name, sizeof(name)));
}
