// SPDX-License-Identifier: GPL-2.0-or-later
/* Pure checks of a socket's record (validate.h): the part every family
 * shares, then its family's part. */
#include "validate.h"
#include "sock_optab.h"
#include "sock_dgram.h"
#include "cr_limits.h"
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/filter.h>

static const char *check_opt(int family, int type, const Ckpt__Img__SockOpt *o)
{
	const struct sock_opt_desc *d = sock_opt_find(family, o->level, o->name);
	int v;

	if (!d || (d->nostream && type == SOCK_STREAM))
		return "a socket option restart doesn't set";
	if (!o->value.data && o->value.len)
		return "a socket option without its value";
	switch (d->kind) {
	case SOPT_STRING:
		if (o->value.len > d->len || memchr(o->value.data, 0, o->value.len))
			return "a socket option whose name is too long or holds a NUL";
		return NULL;
	default:
		if (o->value.len != d->len)
			return "a socket option of the wrong size";
		if (o->level == SOL_SOCKET && o->name == SO_BUF_LOCK) {
			memcpy(&v, o->value.data, sizeof(v));
			if (v & ~SOCK_BUF_LOCKS)
				return "SO_BUF_LOCK with bits other than the two buffer locks";
		}
		return NULL;
	}
}

static const char *check_tcp_established(const Ckpt__Img__InetSock *in, const Ckpt__Img__TcpSock *t)
{
	if (!in->src_port || !in->dst_port || !in->has_dst_addr || !in->dst_addr.len)
		return "a TCP connection without both of its addresses";
	if (!t->has_snd_seq || !t->has_rcv_seq || !t->has_mss || !t->has_opts || !t->has_snd_wl1 || !t->has_snd_wnd ||
	    !t->has_max_window || !t->has_rcv_wnd || !t->has_rcv_wup)
		return "a TCP connection without its sequence numbers, options or window";
	if (t->sndq.len > CR_TCP_MAX_QUEUE || t->rcvq.len > CR_TCP_MAX_QUEUE)
		return "a TCP queue too large";
	if ((t->sndq.len && !t->sndq.data) || (t->rcvq.len && !t->rcvq.data))
		return "a TCP queue without its bytes";
	if (t->opts & ~(uint32_t)(TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE))
		return "a TCP option restart doesn't set";
	if ((t->opts & TCPI_OPT_WSCALE) && (!t->has_snd_wscale || !t->has_rcv_wscale || t->snd_wscale > 14 || t->rcv_wscale > 14))
		return "a TCP window scale out of range";
	if ((t->opts & TCPI_OPT_TIMESTAMPS) && !t->has_timestamp)
		return "a TCP connection with timestamps but no clock";
	if (t->mss < 8 || t->mss > 65535)
		return "a TCP MSS out of range";
	if (t->peer_fin_outside && t->state != TCP_CLOSE_WAIT && t->state != TCP_LAST_ACK && t->state != TCP_CLOSING)
		return "a peer's FIN to forge on a TCP connection that did not receive one";
	if (t->peer_fin_outside && in->dst_addr.len != in->src_addr.len)
		return "a peer's FIN to forge without both addresses of one family";
	if (t->pending_connect && ((t->state != TCP_ESTABLISHED && t->state != TCP_FIN_WAIT1 && t->state != TCP_FIN_WAIT2) ||
				   t->rcvq.len || t->shut_rd || !t->has_pending_rank))
		return "a TCP connection to connect again that is not established or half-closed, has bytes received or no rank";
	return NULL;
}

static const char *check_tcp(int type, const Ckpt__Img__InetSock *in)
{
	const Ckpt__Img__TcpSock *t = in->tcp;

	if (t && type != SOCK_STREAM)
		return "a TCP state on a socket that is not TCP";
	if (!t)   /* sock_tcp_restore refuses a stream socket without one */
		return NULL;
	switch (t->state) {
	case TCP_FIN_WAIT2:
		/* its FIN is acknowledged: so is every byte before it */
		if (t->sndq.len)
			return "a TCP connection in FIN_WAIT2 with bytes to send";
		/* fall through */
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		return check_tcp_established(in, t);
	case TCP_SYN_SENT:
		if (!in->src_port || !in->dst_port || !in->has_dst_addr || !in->dst_addr.len)
			return "a TCP connect in progress without both of its addresses";
		if (t->has_snd_seq || t->has_rcv_seq || t->sndq.len || t->rcvq.len || t->pending_connect)
			return "a TCP connect in progress with the state of a connection";
		return NULL;
	case TCP_LISTEN:
		if (!t->has_backlog || t->backlog > CR_TCP_MAX_BACKLOG)
			return "a listening TCP socket without a backlog in range";
		break;
	case TCP_CLOSE:
		break;
	default:
		return "a TCP socket in a state restart doesn't make";
	}
	if (t->has_snd_seq || t->has_rcv_seq || t->sndq.len || t->rcvq.len || (in->dst_addr.len && in->has_dst_addr) || in->dst_port ||
	    t->pending_connect)
		return "a TCP socket with the state of a connection it is not";
	return NULL;
}

static const char *check_inet(int family, int type, const Ckpt__Img__InetSock *in)
{
	size_t alen = family == AF_INET ? 4 : 16;

	if ((in->has_src_addr && in->src_addr.len && in->src_addr.len != alen) ||
	    (in->has_dst_addr && in->dst_addr.len && in->dst_addr.len != alen))
		return "an address of the wrong size for its family";
	if (in->src_port > 65535 || in->dst_port > 65535)
		return "a port out of range";
	if (in->has_filter && (!in->filter.len || in->filter.len % sizeof(struct sock_filter) ||
			       in->filter.len / sizeof(struct sock_filter) > CR_SOCK_FILTER_MAX || !in->filter.data))
		return "a socket filter of the wrong size";
	return check_tcp(type, in);
}

#define UNIX_NAME_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* A unix address: a path (absolute, no NUL) or an abstract name. */
static bool unix_name_ok(const ProtobufCBinaryData *n)
{
	if (!n->len || n->len > UNIX_NAME_MAX || !n->data)
		return false;
	return n->data[0] == 0 || (n->data[0] == '/' && !memchr(n->data, 0, n->len) && n->len < UNIX_NAME_MAX);
}

static const char *check_unix_queue(int type, const Ckpt__Img__UnixSock *u)
{
	uint64_t bytes = 0;

	if (u->n_queue > CR_USK_MAX_MSGS)
		return "too many messages queued on a unix socket";
	for (size_t i = 0; i < u->n_queue; i++) {
		const Ckpt__Img__UnixMsg *m = u->queue[i];

		bytes += m->data.len;
		if (!m->data.data && m->data.len)
			return "a unix socket message without its bytes";
		if (m->has_addr && (type != SOCK_DGRAM || !unix_name_ok(&m->addr)))
			return "a unix socket message with a bad sender address";
		if (m->has_pid && (m->pid <= 0 || m->pid >= CR_PID_MAX))
			return "a unix socket message with credentials of a bad pid";
		if (m->n_files > 253)
			return "a unix socket message with too many files in flight";
		for (size_t k = 0; k < m->n_files; k++)
			if (!m->files[k])
				return "a unix socket message with a bad file in flight";
	}
	return bytes > CR_USK_MAX_QUEUE ? "too many bytes queued on a unix socket" : NULL;
}

static const char *check_unix(int type, const Ckpt__Img__UnixSock *u)
{
	bool listening = u->state == TCP_LISTEN;

	if (!u->ino)
		return "a unix socket without its inode";
	if (u->state != TCP_CLOSE && !listening && u->state != TCP_ESTABLISHED)
		return "a unix socket in an unknown state";
	if (u->has_name && !unix_name_ok(&u->name))
		return "a unix socket name that is neither an absolute path nor an abstract name";
	if (u->has_file_mode && u->file_mode > 07777)
		return "a unix socket file mode out of range";
	if (u->shutdown > 3)
		return "a unix socket shutdown out of range";
	if (listening != (u->has_backlog) || (!listening && (u->n_pending || u->n_accepted)))
		return "listening state of a unix socket that is not listening";
	if (listening && (!u->has_name || u->has_peer || u->peer_closed || u->has_listener || u->n_queue))
		return "a listening unix socket with a connection or a queue";
	if (u->n_pending + u->n_accepted > CR_USK_MAX_CONNS)
		return "too many connections of a listening unix socket";
	for (size_t i = 0; i < u->n_pending; i++)
		if (!u->pending[i] || u->pending[i] == u->ino)
			return "a bad pending connection of a unix socket";
	for (size_t i = 0; i < u->n_accepted; i++)
		if (!u->accepted[i]->server || u->accepted[i]->server == u->ino || u->accepted[i]->client == u->ino ||
		    u->accepted[i]->client == u->accepted[i]->server)
			return "a bad accepted connection of a unix socket";
	if ((u->has_peer && (!u->peer || u->peer == u->ino)) || (u->has_peer && u->peer_closed))
		return "a bad peer of a unix socket";
	if (u->connect_peer && (type != SOCK_DGRAM || !u->has_peer))
		return "a unix socket connected by name that is not a connected datagram socket";
	if (u->has_listener && (!u->listener || u->listener == u->ino))
		return "a bad listener of a unix socket";
	return check_unix_queue(type, u);
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
		const char *why = check_inet(s->family, s->type, s->inet);

		if (why || s->type == SOCK_STREAM)
			return why;
		return check_inet_dgram(s);
	}
	if (s->unx)
		return check_unix(s->type, s->unx);
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
		why = check_opt(s->family, s->type, s->opts[i]);
		if (why)
			return why;
	}
	return check_family_part(s);
}
