// SPDX-License-Identifier: GPL-2.0-or-later
/* The host's connection tracking, read and trimmed through ctnetlink.
 *
 * The NAT of a published port lives in the host's conntrack entries, and
 * the loopback clients' SNAT binding is not tied to the container's veth:
 * it outlives a checkpoint, so that the restarted container's sockets meet
 * their clients again. When the address is given up for good those entries
 * would steer a client's segments to a route that leads nowhere, and the
 * client would retransmit into silence for many minutes; without them its
 * next segment reaches the host's own port, whose reset ends it at once. */
#include "netct.h"
#include "macro.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NETCT_BUF (64 * 1024)
#define NETCT_BATCH 1024        /* entries deleted per dump */
#define NETCT_ROUNDS 16         /* dumps, when a batch was full */

/* The attribute at p if a whole one lies before end, else NULL. */
static const struct nlattr *nla_at(const void *p, const void *end)
{
	const struct nlattr *a = p;
	ptrdiff_t room = (const uint8_t *)end - (const uint8_t *)p;

	if (room < (ptrdiff_t)NLA_HDRLEN || a->nla_len < NLA_HDRLEN || a->nla_len > room)
		return NULL;
	return a;
}

#define nla_for_each(a, start, len)                                                               \
	for (const struct nlattr *a = nla_at((start), (const uint8_t *)(start) + (len)); a;          \
	     a = nla_at((const uint8_t *)a + NLA_ALIGN(a->nla_len), (const uint8_t *)(start) + (len)))

static const void *nla_data(const struct nlattr *a)
{
	return (const uint8_t *)a + NLA_HDRLEN;
}

static size_t nla_payload(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

static int nla_type(const struct nlattr *a)
{
	return a->nla_type & NLA_TYPE_MASK;
}

/* Does a CTA_TUPLE_* hold addr (network order) as source or destination? */
static bool netct_tuple_has(const struct nlattr *tuple, uint32_t addr)
{
	nla_for_each(ip, nla_data(tuple), nla_payload(tuple)) {
		if (nla_type(ip) != CTA_TUPLE_IP)
			continue;
		nla_for_each(a, nla_data(ip), nla_payload(ip))
			if ((nla_type(a) == CTA_IP_V4_SRC || nla_type(a) == CTA_IP_V4_DST) && nla_payload(a) == 4 &&
			    memcmp(nla_data(a), &addr, 4) == 0)
				return true;
	}
	return false;
}

static void netct_copy(uint8_t *dst, uint16_t *dst_len, const struct nlattr *a)
{
	if (a->nla_len > NETCT_ATTR_MAX)
		return;
	memcpy(dst, a, a->nla_len);
	*dst_len = a->nla_len;
}

bool netct_match(const struct nlmsghdr *nh, uint32_t addr, struct netct_entry *e)
{
	size_t off = NLMSG_SPACE(sizeof(struct nfgenmsg));
	bool hit = false;

	if (nh->nlmsg_len < off)
		return false;
	*e = (struct netct_entry){ 0 };
	nla_for_each(a, (const uint8_t *)nh + off, nh->nlmsg_len - off) {
		if (nla_type(a) == CTA_TUPLE_ORIG) {
			netct_copy(e->tuple, &e->tuple_len, a);
			hit = hit || netct_tuple_has(a, addr);
		} else if (nla_type(a) == CTA_TUPLE_REPLY) {
			hit = hit || netct_tuple_has(a, addr);
		} else if (nla_type(a) == CTA_ZONE) {
			netct_copy(e->zone, &e->zone_len, a);
		}
	}
	return hit && e->tuple_len;
}

static int netct_send(int fd, uint16_t type, uint16_t flags, uint32_t seq, const struct netct_entry *e)
{
	uint8_t buf[NLMSG_SPACE(sizeof(struct nfgenmsg)) + 2 * NETCT_ATTR_MAX];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct nfgenmsg *nf = NLMSG_DATA(nh);
	size_t len = NLMSG_SPACE(sizeof(*nf));

	memset(buf, 0, sizeof(buf));
	*nf = (struct nfgenmsg){ .nfgen_family = AF_INET, .version = NFNETLINK_V0 };
	if (e) {
		memcpy(buf + len, e->tuple, e->tuple_len);
		len += NLA_ALIGN(e->tuple_len);
		memcpy(buf + len, e->zone, e->zone_len);
		len += NLA_ALIGN(e->zone_len);
	}
	*nh = (struct nlmsghdr){ .nlmsg_len = len, .nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type,
				 .nlmsg_flags = NLM_F_REQUEST | flags, .nlmsg_seq = seq };
	return send(fd, buf, len, 0) == (ssize_t)len ? 0 : -errno;
}

/* Read the answers to seq until NLMSG_DONE or an error/ack; a dump's
 * entries that hold addr go to v (at most NETCT_BATCH). */
static int netct_recv(int fd, uint8_t *buf, uint32_t seq, uint32_t addr, struct netct_entry *v, size_t *n)
{
	for (;;) {
		ssize_t got = recv(fd, buf, NETCT_BUF, 0);
		size_t left;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EPROTO;
		left = got;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *err = NLMSG_DATA(nh);

				return nh->nlmsg_len < NLMSG_LENGTH(sizeof(*err)) ? -EPROTO : err->error;
			}
			if (v && *n < NETCT_BATCH && netct_match(nh, addr, &v[*n]))
				(*n)++;
		}
	}
}

int netct_forget(uint32_t addr_host)
{
	_cleanup_free_ struct netct_entry *v = calloc(NETCT_BATCH, sizeof(*v));
	_cleanup_free_ uint8_t *buf = malloc(NETCT_BUF);
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	uint32_t addr = htonl(addr_host), seq = 0;
	int gone = 0, round, r;

	if (!v || !buf)
		return -ENOMEM;
	if (fd < 0)
		return -errno;
	for (round = 0; round < NETCT_ROUNDS; round++) {
		size_t n = 0;

		r = netct_send(fd, IPCTNL_MSG_CT_GET, NLM_F_DUMP, ++seq, NULL);
		if (r >= 0)
			r = netct_recv(fd, buf, seq, addr, v, &n);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			r = netct_send(fd, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, ++seq, &v[i]);
			if (r >= 0)
				r = netct_recv(fd, buf, seq, addr, NULL, NULL);
			if (r == -ENOENT)       /* it ended meanwhile */
				continue;
			if (r < 0)
				return r;
			gone++;
		}
		if (n < NETCT_BATCH)
			break;
	}
	return gone;
}
