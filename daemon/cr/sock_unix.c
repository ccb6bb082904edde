// SPDX-License-Identifier: GPL-2.0-or-later
/* Unix sockets. */
#include "sock.h"

int sock_unix_dump(struct sock_dump *sd)
{
	return sock_refuse(sd, "unix sockets are not supported yet");
}

void sock_unix_free(Ckpt__Img__Socket *s)
{
	(void)s;
}

int sock_unix_restore(struct sock_restore *sr)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: unix sockets are not supported yet", sock_name(sr->f, name, sizeof(name)));
}
