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
#include <netinet/in.h>
#include <netinet/tcp.h>

#define INT(lvl, opt, when) { 0, lvl, opt, #opt, SOPT_INT, sizeof(int), 0, when }
/* rows of one family; INET: an option IPv4 and IPv6 sockets both have */
#define INT_OF(fam, lvl, opt, when) { fam, lvl, opt, #opt, SOPT_INT, sizeof(int), 0, when }
#define INT6(lvl, opt, when) INT_OF(AF_INET6, lvl, opt, when)
#define INET(lvl, opt, when) INT_OF(AF_INET, lvl, opt, when), INT_OF(AF_INET6, lvl, opt, when)
#define TCP_CA_NAME_LEN 15   /* TCP_CA_NAME_MAX, without the NUL */
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
	/* once the filter (InetSock.filter) is attached */
	INT(SOL_SOCKET, SO_LOCK_FILTER, SOPT_LATE),

	/* IPPROTO_IP: IPv4 sockets, and IPv6 ones for their IPv4 traffic */
	INET(IPPROTO_IP, IP_TOS, SOPT_EARLY),
	INET(IPPROTO_IP, IP_TTL, SOPT_EARLY),
	INET(IPPROTO_IP, IP_FREEBIND, SOPT_EARLY),
	INET(IPPROTO_IP, IP_TRANSPARENT, SOPT_EARLY),
	INET(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, SOPT_EARLY),
	INET(IPPROTO_IP, IP_MTU_DISCOVER, SOPT_EARLY),
	INET(IPPROTO_IP, IP_RECVTOS, SOPT_EARLY),
	/* IPPROTO_IPV6; V6ONLY decides which addresses bind() takes */
	INT6(IPPROTO_IPV6, IPV6_V6ONLY, SOPT_EARLY),
	INT6(IPPROTO_IPV6, IPV6_TCLASS, SOPT_EARLY),
	INT6(IPPROTO_IPV6, IPV6_UNICAST_HOPS, SOPT_EARLY),
	INT6(IPPROTO_IPV6, IPV6_FREEBIND, SOPT_EARLY),
	INT6(IPPROTO_IPV6, IPV6_TRANSPARENT, SOPT_EARLY),
	INT6(IPPROTO_IPV6, IPV6_MTU_DISCOVER, SOPT_EARLY),
	INT6(IPPROTO_IPV6, IPV6_RECVTCLASS, SOPT_EARLY),
	/* IPPROTO_TCP. TCP_MAXSEG and TCP_WINDOW_CLAMP change by themselves
	 * on a connection: the repair part keeps the MSS; TCP_FASTOPEN can
	 * only be set before connect() or listen(). TCP_NODELAY and TCP_CORK
	 * push what is queued: once the queues are back. */
	INET(IPPROTO_TCP, TCP_NODELAY, SOPT_LATE),
	INET(IPPROTO_TCP, TCP_CORK, SOPT_LATE),
	INET(IPPROTO_TCP, TCP_KEEPIDLE, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_KEEPINTVL, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_KEEPCNT, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_SYNCNT, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_LINGER2, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_DEFER_ACCEPT, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_USER_TIMEOUT, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_NOTSENT_LOWAT, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_FASTOPEN, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_FASTOPEN_CONNECT, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_SAVE_SYN, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_INQ, SOPT_EARLY),
	INET(IPPROTO_TCP, TCP_TX_DELAY, SOPT_EARLY),
	{ AF_INET, IPPROTO_TCP, TCP_CONGESTION, "TCP_CONGESTION", SOPT_STRING, TCP_CA_NAME_LEN, 0, SOPT_EARLY },
	{ AF_INET6, IPPROTO_TCP, TCP_CONGESTION, "TCP_CONGESTION", SOPT_STRING, TCP_CA_NAME_LEN, 0, SOPT_EARLY },
};

const size_t sock_optab_len = ARRAY_SIZE(sock_optab);
_Static_assert(ARRAY_SIZE(sock_optab) <= SOCK_OPTAB_MAX, "sock_optab has more rows than SOCK_OPTAB_MAX");

const struct sock_opt_desc *sock_opt_find(int family, int level, int name)
{
	for (size_t i = 0; i < sock_optab_len; i++) {
		const struct sock_opt_desc *d = &sock_optab[i];

		if ((d->family == 0 || d->family == family) && d->level == level && d->name == name)
			return d;
	}
	return NULL;
}
