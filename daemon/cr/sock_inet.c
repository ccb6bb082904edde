// SPDX-License-Identifier: GPL-2.0-or-later
/* Internet (TCP, UDP, ...) sockets. */
#include "sock.h"

int sock_inet_dump(struct sock_dump *sd)
{
	return sock_refuse(sd, "internet (TCP, UDP, ...) sockets are not supported yet");
}

void sock_inet_free(Ckpt__Img__Socket *s)
{
	(void)s;
}

int sock_inet_restore(struct sock_restore *sr)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: internet (TCP, UDP, ...) sockets are not supported yet", sock_name(sr->f, name, sizeof(name)));
}
