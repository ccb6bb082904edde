// SPDX-License-Identifier: GPL-2.0-or-later
/* Pure checks of a socket's record (validate.h): the part every family
 * shares, then its family's part. */
#include "validate.h"
#include "sock_optab.h"
#include "sock_dgram.h"
#include "cr_limits.h"
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static const char *check_opt(int family, const Ckpt__Img__SockOpt *o)
{
	const struct sock_opt_desc *d = sock_opt_find(family, o->level, o->name);

	if (!d)
		return "a socket option restart doesn't set";
	if (!o->value.data && o->value.len)
		return "a socket option without its value";
	switch (d->kind) {
	case SOPT_STRING:
		if (o->value.len > d->len || memchr(o->value.data, 0, o->value.len))
			return "a socket option whose name is too long or holds a NUL";
		return NULL;
	default:
		return o->value.len == d->len ? NULL : "a socket option of the wrong size";
	}
}

static const char *check_inet(int family, const Ckpt__Img__InetSock *in)
{
	size_t alen = family == AF_INET ? 4 : 16;

	if ((in->has_src_addr && in->src_addr.len && in->src_addr.len != alen) ||
	    (in->has_dst_addr && in->dst_addr.len && in->dst_addr.len != alen))
		return "an address of the wrong size for its family";
	if (in->src_port > 65535 || in->dst_port > 65535)
		return "a port out of range";
	return NULL;
}

static const char *check_dgram(const Ckpt__Img__Datagram *g)
{
	size_t max;

	if (!g->src_addr.data || (g->src_addr.len != 4 && g->src_addr.len != 16) || g->src_port > 65535)
		return "a queued datagram whose sender is not an address and port";
	if (g->has_dst_addr && (!g->dst_addr.data || (g->dst_addr.len != 4 && g->dst_addr.len != 16)))
		return "a queued datagram whose destination is not an address";
	max = g->src_addr.len == 4 || memcmp(g->src_addr.data, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 ?
	      CR_DGRAM_MAX_DATA4 : CR_DGRAM_MAX_DATA6;
	if (g->data.len > max || (!g->data.data && g->data.len))
		return "a queued datagram larger than its IP version allows";
	return NULL;
}

static const char *check_mc(int family, const Ckpt__Img__McGroup *g)
{
	if (!g->ifname || !g->ifname[0] || strlen(g->ifname) >= IFNAMSIZ || strchr(g->ifname, '/'))
		return "a multicast group on an interface name that is not one";
	if (!g->group.data || (g->group.len != 4 && (g->group.len != 16 || family != AF_INET6)))
		return "a multicast group that is not an address of its socket's family";
	if (g->fmode != MCAST_EXCLUDE && g->fmode != MCAST_INCLUDE)
		return "a multicast filter mode out of range";
	if (g->n_sources > CR_MC_MAX_SOURCES)
		return "too many multicast sources";
	for (size_t i = 0; i < g->n_sources; i++)
		if (!g->sources[i].data || g->sources[i].len != g->group.len)
			return "a multicast source that is not an address of its group's family";
	return NULL;
}

/* The datagram and raw kinds (sock_dgram.c). */
static const char *check_inet_dgram(const Ckpt__Img__Socket *s)
{
	const Ckpt__Img__InetSock *in = s->inet;
	enum dgram_kind kind = dgram_kind(s->family, s->type, s->protocol);
	size_t bytes = 0;
	const char *why;

	if (kind == DG_NONE)
		return "an internet socket of a kind restart doesn't make";
	if (in->shutdown & ~(SHUTDOWN_RD | SHUTDOWN_WR))
		return "a socket shutdown state out of range";
	if (in->connected && in->dst_addr.len == 0)
		return "a connected socket without its peer";
	if (kind == DG_RAW && (in->src_port || in->dst_port))
		return "a port on a raw socket";
	if (in->n_queue && kind != DG_UDP)
		return "queued datagrams on a socket that is not UDP";
	if (in->n_mc > CR_MC_MAX_GROUPS)
		return "too many multicast groups";
	for (size_t i = 0; i < in->n_mc; i++) {
		why = check_mc(s->family, in->mc[i]);
		if (why)
			return why;
	}
	if (in->n_queue > CR_DGRAM_MAX_QUEUE)
		return "too many queued datagrams";
	if (in->n_queue && !in->src_port)
		return "queued datagrams on a socket without a port";
	for (size_t i = 0; i < in->n_queue; i++) {
		why = check_dgram(in->queue[i]);
		if (why)
			return why;
		if (s->family == AF_INET && in->queue[i]->src_addr.len != 4)
			return "an IPv6 sender on an IPv4 socket";
		bytes += in->queue[i]->data.len;
		if (bytes > CR_DGRAM_MAX_BYTES)
			return "too many bytes of queued datagrams";
	}
	return NULL;
}

static const char *check_netlink(const Ckpt__Img__Socket *s)
{
	const Ckpt__Img__NetlinkSock *nl = s->nl;

	if (!sock_netlink_kept(s->protocol))
		return "a netlink socket of a protocol restart doesn't make";
	if (s->type != SOCK_RAW && s->type != SOCK_DGRAM)
		return "a netlink socket of a type the kernel doesn't make";
	if (nl->n_groups > CR_NETLINK_MAX_GROUP_WORDS)
		return "netlink groups out of range";
	if (nl->dst_group > CR_NETLINK_MAX_GROUP_WORDS * 32)
		return "a netlink destination group out of range";
	return NULL;
}

static const char *check_packet(const Ckpt__Img__Socket *s)
{
	const Ckpt__Img__PacketSock *p = s->packet;

	if (s->type != SOCK_RAW && s->type != SOCK_DGRAM)
		return "a packet socket of a type restart doesn't make";
	if (p->proto > 65535)
		return "a packet socket protocol out of range";
	if (p->ifindex < 0 || (p->ifindex > 0 && !p->ifname))
		return "a packet socket bound to an interface without its name";
	if (p->ifname && (!p->ifname[0] || strlen(p->ifname) >= IFNAMSIZ || strchr(p->ifname, '/')))
		return "a packet socket bound to an interface name that is not one";
	return NULL;
}

static const char *check_family_part(const Ckpt__Img__Socket *s)
{
	bool inet = s->family == AF_INET || s->family == AF_INET6;

	if (!!s->unx != (s->family == AF_UNIX) || !!s->inet != inet || !!s->nl != (s->family == AF_NETLINK) ||
	    !!s->packet != (s->family == AF_PACKET))
		return "a socket whose state is not its family's";
	if (s->inet) {
		const char *why = check_inet(s->family, s->inet);

		if (why || s->type == SOCK_STREAM)
			return why;
		return check_inet_dgram(s);
	}
	if (s->nl)
		return check_netlink(s);
	if (s->packet)
		return check_packet(s);
	return NULL;
}

const char *validate_socket(const Ckpt__Img__Socket *s)
{
	const char *why;

	if (!s)
		return "a socket without its state";
	switch (s->family) {
	case AF_UNIX: case AF_INET: case AF_INET6: case AF_NETLINK: case AF_PACKET:
		break;
	default:
		return "a socket of an unknown family";
	}
	switch (s->type) {
	case SOCK_STREAM: case SOCK_DGRAM: case SOCK_SEQPACKET: case SOCK_RAW:
		break;
	default:
		return "a socket of an unknown type";
	}
	if (s->protocol < 0 || s->protocol > 65535)
		return "a socket protocol out of range";
	if (s->n_opts > CR_SOCK_MAX_OPTS)
		return "too many socket options";
	for (size_t i = 0; i < s->n_opts; i++) {
		why = check_opt(s->family, s->opts[i]);
		if (why)
			return why;
	}
	return check_family_part(s);
}
