// SPDX-License-Identifier: GPL-2.0-or-later
/* Which socket options ckptd saves and sets again. An option not listed
 * here that a program can set is in docs/census.md: refused when it can be
 * seen to differ, or said there why it can't. */
#include "sock_optab.h"
#include "sock.h"
#include "macro.h"
#include <sys/socket.h>
#include <sys/time.h>
#include <net/if.h>

#define INT(lvl, opt, when) { 0, lvl, opt, #opt, SOPT_INT, sizeof(int), 0, when }
#define STRUCT(lvl, opt, type) { 0, lvl, opt, #opt, SOPT_BYTES, sizeof(type), 0, SOPT_EARLY }

const struct sock_opt_desc sock_optab[] = {
	/* SOL_SOCKET, every family */
	INT(SOL_SOCKET, SO_REUSEADDR, SOPT_EARLY),
	INT(SOL_SOCKET, SO_REUSEPORT, SOPT_EARLY),
	INT(SOL_SOCKET, SO_KEEPALIVE, SOPT_EARLY),
	INT(SOL_SOCKET, SO_BROADCAST, SOPT_EARLY),
	INT(SOL_SOCKET, SO_DONTROUTE, SOPT_EARLY),
	INT(SOL_SOCKET, SO_OOBINLINE, SOPT_EARLY),
	INT(SOL_SOCKET, SO_PRIORITY, SOPT_EARLY),
	INT(SOL_SOCKET, SO_MARK, SOPT_EARLY),
	INT(SOL_SOCKET, SO_RCVLOWAT, SOPT_EARLY),
	INT(SOL_SOCKET, SO_PASSCRED, SOPT_EARLY),
	INT(SOL_SOCKET, SO_PASSSEC, SOPT_EARLY),
	INT(SOL_SOCKET, SO_TIMESTAMP_OLD, SOPT_EARLY),
	INT(SOL_SOCKET, SO_TIMESTAMPNS_OLD, SOPT_EARLY),
	INT(SOL_SOCKET, SO_RXQ_OVFL, SOPT_EARLY),
	INT(SOL_SOCKET, SO_WIFI_STATUS, SOPT_EARLY),
	INT(SOL_SOCKET, SO_SELECT_ERR_QUEUE, SOPT_EARLY),
	INT(SOL_SOCKET, SO_BUSY_POLL, SOPT_EARLY),
	INT(SOL_SOCKET, SO_INCOMING_CPU, SOPT_EARLY),
	INT(SOL_SOCKET, SO_ZEROCOPY, SOPT_EARLY),
	/* the kernel reports twice what was asked (its bookkeeping share):
	 * set again with half of it, forced past the sysctl cap as it was */
	{ 0, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", SOPT_BUF, sizeof(int), SO_RCVBUFFORCE, SOPT_EARLY },
	{ 0, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", SOPT_BUF, sizeof(int), SO_SNDBUFFORCE, SOPT_EARLY },
	STRUCT(SOL_SOCKET, SO_LINGER, struct linger),
	STRUCT(SOL_SOCKET, SO_RCVTIMEO_OLD, struct timeval),
	STRUCT(SOL_SOCKET, SO_SNDTIMEO_OLD, struct timeval),
	{ 0, SOL_SOCKET, SO_BINDTODEVICE, "SO_BINDTODEVICE", SOPT_STRING, IFNAMSIZ - 1, 0, SOPT_EARLY },
	/* an offset into the receive queue: once the queue is back */
	INT(SOL_SOCKET, SO_PEEK_OFF, SOPT_LATE),
};

const size_t sock_optab_len = ARRAY_SIZE(sock_optab);

const struct sock_opt_desc *sock_opt_find(int family, int level, int name)
{
	for (size_t i = 0; i < sock_optab_len; i++) {
		const struct sock_opt_desc *d = &sock_optab[i];

		if ((d->family == 0 || d->family == family) && d->level == level && d->name == name)
			return d;
	}
	return NULL;
}
