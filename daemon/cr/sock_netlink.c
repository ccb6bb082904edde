// SPDX-License-Identifier: GPL-2.0-or-later
/* Netlink sockets of the protocols whose kernel side keeps nothing for a
 * socket beyond its port id, groups and options (sock_netlink_kept):
 * route, sock_diag, uevents. Others hold state a new socket would not get
 * back (an audit daemon's registration, an nfqueue binding, generic
 * netlink family ids resolved at start) and are refused.
 *
 * Messages waiting to be read are answers the program is owed or events
 * it listens for; netlink can't peek past the first (no SO_PEEK_OFF) nor
 * be sent from the kernel's address again, and a dump in progress lives in
 * the kernel: a socket with either is refused, to be checkpointed a moment
 * later once the program has read them. */
#include "sock.h"
#include "macro.h"
#include "cr_limits.h"
#include <errno.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef NETLINK_LIST_MEMBERSHIPS
#define NETLINK_LIST_MEMBERSHIPS 9
#endif

static const char *proto_name(int protocol)
{
	static const char *const names[] = {
		[NETLINK_ROUTE] = "route", [NETLINK_USERSOCK] = "usersock", [NETLINK_FIREWALL] = "firewall",
		[NETLINK_SOCK_DIAG] = "sock_diag", [NETLINK_NFLOG] = "nflog", [NETLINK_XFRM] = "xfrm",
		[NETLINK_SELINUX] = "selinux", [NETLINK_ISCSI] = "iscsi", [NETLINK_AUDIT] = "audit",
		[NETLINK_FIB_LOOKUP] = "fib_lookup", [NETLINK_CONNECTOR] = "connector", [NETLINK_NETFILTER] = "netfilter",
		[NETLINK_IP6_FW] = "ip6_fw", [NETLINK_DNRTMSG] = "dnrtmsg", [NETLINK_KOBJECT_UEVENT] = "kobject_uevent",
		[NETLINK_GENERIC] = "generic", [NETLINK_SCSITRANSPORT] = "scsitransport", [NETLINK_ECRYPTFS] = "ecryptfs",
		[NETLINK_RDMA] = "rdma", [NETLINK_CRYPTO] = "crypto", [NETLINK_SMC] = "smc",
	};

	return protocol >= 0 && (size_t)protocol < ARRAY_SIZE(names) && names[protocol] ? names[protocol] : "unknown";
}

struct diag_nl {
	ino_t ino;
	uint32_t flags;
	bool found;
};

static int diag_nl_one(const struct nlmsghdr *h, void *arg)
{
	struct diag_nl *d = arg;
	const struct netlink_diag_msg *m = NLMSG_DATA(h);
	const struct nlattr *a;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->ndiag_ino != d->ino)
		return 0;
	a = sock_diag_attr((const char *)m + NLMSG_ALIGN(sizeof(*m)), h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)), NETLINK_DIAG_FLAGS);
	if (a && a->nla_len >= NLA_HDRLEN + sizeof(uint32_t))
		memcpy(&d->flags, (const char *)a + NLA_HDRLEN, sizeof(uint32_t));
	d->found = true;
	return 1;
}

/* Unread messages, or a dump the kernel is still producing. */
static int check_pending(struct sock_dump *sd)
{
	struct netlink_diag_req req = {
		.sdiag_family = AF_NETLINK,
		.sdiag_protocol = (uint8_t)sd->s->protocol,
		.ndiag_show = NDIAG_SHOW_FLAGS,
	};
	struct diag_nl d = { .ino = sd->ino };
	char c;
	int r;

	if (recv(sd->sk, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
		return sock_refuse(sd, "netlink messages the program has not read yet");
	r = sock_diag_find(&req, sizeof(req), diag_nl_one, &d);
	if (r < 0)
		return sock_fail(sd, -r, "sock_diag");
	if (!d.found)
		return sock_refuse(sd, "the kernel's socket listing (sock_diag) does not show it");
	if (d.flags & NDIAG_FLAG_CB_RUNNING)
		return sock_refuse(sd, "a netlink dump in progress (its rest is in the kernel)");
	return 0;
}

static int read_groups(struct sock_dump *sd, Ckpt__Img__NetlinkSock *nl)
{
	uint32_t words[CR_NETLINK_MAX_GROUP_WORDS];
	socklen_t len = sizeof(words);
	size_t n;

	memset(words, 0, sizeof(words));
	if (getsockopt(sd->sk, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len) < 0)
		return sock_fail(sd, errno, "NETLINK_LIST_MEMBERSHIPS");
	if (len > sizeof(words))   /* the kernel says how much it needed */
		return sock_refuse(sd, "netlink groups beyond the first %u", CR_NETLINK_MAX_GROUP_WORDS * 32);
	for (n = len / sizeof(uint32_t); n > 0 && !words[n - 1]; n--)
		;
	if (!n)
		return 0;
	nl->groups = calloc(n, sizeof(uint32_t));
	if (!nl->groups)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "netlink groups");
	memcpy(nl->groups, words, n * sizeof(uint32_t));
	nl->n_groups = n;
	return 0;
}

int sock_netlink_dump(struct sock_dump *sd)
{
	Ckpt__Img__NetlinkSock *nl;
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);
	int r;

	if (!sock_netlink_kept(sd->s->protocol))
		return sock_refuse(sd, "netlink sockets of protocol %d (%s) are not supported: the kernel keeps state for them that a new socket would not have",
				   sd->s->protocol, proto_name(sd->s->protocol));
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket");
	ckpt__img__netlink_sock__init(nl);
	sd->s->nl = nl;
	r = check_pending(sd);
	if (r >= 0)
		r = sock_refuse_filter(sd);
	if (r < 0)
		return r;
	memset(&sa, 0, sizeof(sa));
	if (getsockname(sd->sk, (struct sockaddr *)&sa, &len) < 0)
		return sock_fail(sd, errno, "getsockname");
	nl->has_portid = true;
	nl->portid = sa.nl_pid;
	len = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	if (getpeername(sd->sk, (struct sockaddr *)&sa, &len) < 0)
		return sock_fail(sd, errno, "getpeername");
	nl->has_dst_portid = nl->has_dst_group = true;
	nl->dst_portid = sa.nl_pid;
	nl->dst_group = sa.nl_groups;
	return read_groups(sd, nl);
}

void sock_netlink_free(Ckpt__Img__Socket *s)
{
	if (!s->nl)
		return;
	free(s->nl->groups);
	free(s->nl);
	s->nl = NULL;
}

static int restore_fail(struct sock_restore *sr, int err, const char *what)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_KERNEL, err, "%s: %s", sock_name(sr->f, name, sizeof(name)), what);
}

/* bind() with the port id (an unbound socket stays unbound: its first
 * send binds it as it would have), then every group past the first 32
 * (bind() takes those). */
static int restore_bind(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__NetlinkSock *nl = sr->s->nl;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = nl->portid };

	if (nl->n_groups)
		sa.nl_groups = nl->groups[0];
	if ((nl->portid || sa.nl_groups) && bind(sk, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return restore_fail(sr, errno, errno == EADDRINUSE ? "bind: its port id is taken" : "bind");
	for (size_t w = 1; w < nl->n_groups; w++)
		for (unsigned b = 0; b < 32; b++) {
			int g = (int)(w * 32 + b + 1);

			if ((nl->groups[w] >> b & 1) && setsockopt(sk, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
				return restore_fail(sr, errno, "NETLINK_ADD_MEMBERSHIP");
		}
	return 0;
}

int sock_netlink_restore(struct sock_restore *sr)
{
	const Ckpt__Img__NetlinkSock *nl = sr->s->nl;
	_cleanup_close_ int sk = -1;
	int r;

	sk = socket(AF_NETLINK, sr->s->type | SOCK_CLOEXEC, sr->s->protocol);
	if (sk < 0)
		return restore_fail(sr, errno, "socket");
	r = sock_opts_restore(sr, sk, SOPT_EARLY);
	if (r >= 0)
		r = restore_bind(sr, sk);
	if (r >= 0 && (nl->dst_portid || nl->dst_group)) {
		struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = nl->dst_portid, .nl_groups = nl->dst_group };

		if (connect(sk, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			r = restore_fail(sr, errno, "connect");
	}
	if (r >= 0)
		r = sock_opts_restore(sr, sk, SOPT_LATE);
	return r < 0 ? r : TAKE_FD(sk);
}
