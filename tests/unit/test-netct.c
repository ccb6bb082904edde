// SPDX-License-Identifier: GPL-2.0-or-later
/* The conntrack entries ckptd deletes when a container's address is given
 * up: those with the address in a tuple of either direction, found in a
 * ctnetlink dump message, whose attributes are read within their bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <cmocka.h>

#include "netct.h"

struct msg {
	uint8_t buf[1024];
	size_t len;
	size_t open[4];         /* offsets of the nested attributes being built */
	int depth;
};

static void msg_init(struct msg *m)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)m->buf;
	struct nfgenmsg *nf = NLMSG_DATA(nh);

	memset(m, 0, sizeof(*m));
	nf->nfgen_family = AF_INET;
	m->len = NLMSG_SPACE(sizeof(*nf));
}

static void put(struct msg *m, uint16_t type, const void *data, size_t n)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + n;
	memcpy(m->buf + m->len + NLA_HDRLEN, data, n);
	m->len += NLA_ALIGN(a->nla_len);
}

static void nest(struct msg *m, uint16_t type)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->len);

	a->nla_type = type | NLA_F_NESTED;
	m->open[m->depth++] = m->len;
	m->len += NLA_HDRLEN;
}

static void end(struct msg *m)
{
	size_t at = m->open[--m->depth];

	((struct nlattr *)(m->buf + at))->nla_len = m->len - at;
}

static struct nlmsghdr *done(struct msg *m)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)m->buf;

	nh->nlmsg_len = m->len;
	return nh;
}

static void tuple(struct msg *m, uint16_t type, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	uint32_t s = inet_addr(src), d = inet_addr(dst);
	uint16_t sp = htons(sport), dp = htons(dport);
	uint8_t proto = 6;

	nest(m, type);
	nest(m, CTA_TUPLE_IP);
	put(m, CTA_IP_V4_SRC, &s, 4);
	put(m, CTA_IP_V4_DST, &d, 4);
	end(m);
	nest(m, CTA_TUPLE_PROTO);
	put(m, CTA_PROTO_NUM, &proto, 1);
	put(m, CTA_PROTO_SRC_PORT, &sp, 2);
	put(m, CTA_PROTO_DST_PORT, &dp, 2);
	end(m);
	end(m);
}

/* A loopback client of a published port, SNATed to the host end. */
static void loop_client(struct msg *m, bool zone)
{
	uint16_t z = htons(7);

	msg_init(m);
	tuple(m, CTA_TUPLE_ORIG, "127.0.0.1", "127.0.0.1", 40000, 8080);
	tuple(m, CTA_TUPLE_REPLY, "10.213.0.6", "10.213.0.5", 80, 40000);
	if (zone)
		put(m, CTA_ZONE, &z, 2);
}

static void test_match_reply(void **state)
{
	struct netct_entry e;
	struct msg m;
	size_t orig_len;

	loop_client(&m, true);
	assert_true(netct_match(done(&m), inet_addr("10.213.0.6"), &e));
	/* the delete gets the original tuple and the zone as they came */
	orig_len = ((struct nlattr *)(m.buf + NLMSG_SPACE(sizeof(struct nfgenmsg))))->nla_len;
	assert_int_equal(e.tuple_len, orig_len);
	assert_memory_equal(e.tuple, m.buf + NLMSG_SPACE(sizeof(struct nfgenmsg)), orig_len);
	assert_int_equal(e.zone_len, NLA_HDRLEN + 2);
	/* the host end's address is in the reply tuple too */
	assert_true(netct_match(done(&m), inet_addr("10.213.0.5"), &e));
	assert_false(netct_match(done(&m), inet_addr("10.213.0.10"), &e));
	assert_false(netct_match(done(&m), inet_addr("10.213.0.2"), &e));
}

static void test_match_orig(void **state)
{
	struct netct_entry e;
	struct msg m;

	/* the container connected out */
	msg_init(&m);
	tuple(&m, CTA_TUPLE_ORIG, "10.213.0.6", "192.0.2.2", 5000, 53);
	tuple(&m, CTA_TUPLE_REPLY, "192.0.2.2", "10.213.0.6", 53, 5000);
	assert_true(netct_match(done(&m), inet_addr("10.213.0.6"), &e));
	assert_int_equal(e.zone_len, 0);
}

static void test_hostile(void **state)
{
	struct netct_entry e;
	struct msg m;
	struct nlmsghdr *nh;

	/* cut short: the reply tuple's length runs past the message */
	loop_client(&m, false);
	nh = done(&m);
	nh->nlmsg_len -= 8;
	assert_false(netct_match(nh, inet_addr("10.213.0.6"), &e));
	/* an attribute shorter than its header ends the walk */
	loop_client(&m, false);
	((struct nlattr *)(m.buf + NLMSG_SPACE(sizeof(struct nfgenmsg))))->nla_len = 2;
	assert_false(netct_match(done(&m), inet_addr("10.213.0.6"), &e));
	/* an address of the wrong size is not an address */
	msg_init(&m);
	nest(&m, CTA_TUPLE_ORIG);
	nest(&m, CTA_TUPLE_IP);
	put(&m, CTA_IP_V4_SRC, "\x0a\xd5\x00\x06\x00", 5);
	end(&m);
	end(&m);
	assert_false(netct_match(done(&m), inet_addr("10.213.0.6"), &e));
	/* no original tuple: nothing a delete could name */
	msg_init(&m);
	tuple(&m, CTA_TUPLE_REPLY, "10.213.0.6", "10.213.0.5", 80, 40000);
	assert_false(netct_match(done(&m), inet_addr("10.213.0.6"), &e));
	/* shorter than its own header */
	msg_init(&m);
	nh = done(&m);
	nh->nlmsg_len = 8;
	assert_false(netct_match(nh, inet_addr("10.213.0.6"), &e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_reply),
		cmocka_unit_test(test_match_orig),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
