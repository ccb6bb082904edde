// SPDX-License-Identifier: GPL-2.0-or-later
/* The record checks of datagram, raw, netlink and packet sockets
 * (validate_sock.c): good records pass, each kind of bad one is refused. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "cr_limits.h"
#include "validate.h"

static uint8_t lo4[4] = { 127, 0, 0, 1 }, peer4[4] = { 127, 0, 0, 3 };
static uint8_t lo6[16] = { [15] = 1 }, mapped[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 3 };
static uint8_t big[CR_DGRAM_MAX_DATA6 + 1];

static void test_udp(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;
	Ckpt__Img__Datagram g = CKPT__IMG__DATAGRAM__INIT, *q[1] = { &g };

	(void)state;
	s.family = AF_INET;
	s.type = SOCK_DGRAM;
	s.protocol = IPPROTO_UDP;
	s.inet = &in;
	in.has_src_addr = in.has_src_port = true;
	in.src_addr = (ProtobufCBinaryData){ 4, lo4 };
	in.src_port = 5000;
	assert_null(validate_socket(&s));
	in.connected = true;                   /* connected to nothing */
	assert_non_null(validate_socket(&s));
	in.dst_addr = (ProtobufCBinaryData){ 4, peer4 };
	in.dst_port = 6000;
	assert_null(validate_socket(&s));
	in.shutdown = 4;                       /* no such bit */
	assert_non_null(validate_socket(&s));
	in.shutdown = 3;
	assert_null(validate_socket(&s));

	in.n_queue = 1;
	in.queue = q;
	g.src_addr = (ProtobufCBinaryData){ 4, peer4 };
	g.src_port = 6000;
	g.data = (ProtobufCBinaryData){ CR_DGRAM_MAX_DATA4, big };
	assert_null(validate_socket(&s));
	g.data.len = CR_DGRAM_MAX_DATA4 + 1;   /* more than IPv4 carries */
	assert_non_null(validate_socket(&s));
	g.data.len = 0;
	g.src_port = 70000;
	assert_non_null(validate_socket(&s));
	g.src_port = 6000;
	g.src_addr.len = 5;
	assert_non_null(validate_socket(&s));
	g.src_addr = (ProtobufCBinaryData){ 16, lo6 };   /* an IPv6 sender on an IPv4 socket */
	assert_non_null(validate_socket(&s));
	g.src_addr = (ProtobufCBinaryData){ 4, peer4 };
	g.has_dst_addr = true;
	g.dst_addr = (ProtobufCBinaryData){ 3, peer4 };
	assert_non_null(validate_socket(&s));
	g.dst_addr.len = 4;
	assert_null(validate_socket(&s));
	in.src_port = 0;                        /* queued, but no port to receive on */
	assert_non_null(validate_socket(&s));
	in.src_port = 5000;
	in.n_queue = CR_DGRAM_MAX_QUEUE + 1;
	assert_non_null(validate_socket(&s));
	in.n_queue = 1;

	/* IPv6: larger datagrams; an IPv4 sender as a mapped address */
	s.family = AF_INET6;
	in.src_addr = (ProtobufCBinaryData){ 16, lo6 };
	in.dst_addr = (ProtobufCBinaryData){ 16, lo6 };
	g.has_dst_addr = false;
	g.src_addr = (ProtobufCBinaryData){ 16, lo6 };
	g.data = (ProtobufCBinaryData){ CR_DGRAM_MAX_DATA6, big };
	assert_null(validate_socket(&s));
	g.src_addr = (ProtobufCBinaryData){ 16, mapped };
	assert_non_null(validate_socket(&s));
	g.data.len = CR_DGRAM_MAX_DATA4;
	assert_null(validate_socket(&s));

	/* datagrams only on UDP sockets */
	s.protocol = IPPROTO_ICMPV6;
	assert_non_null(validate_socket(&s));
	in.n_queue = 0;
	assert_null(validate_socket(&s));
	s.protocol = IPPROTO_TCP;               /* SOCK_DGRAM + TCP: no such socket */
	assert_non_null(validate_socket(&s));
}

static void test_raw_mc(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;
	Ckpt__Img__McGroup m = CKPT__IMG__MC_GROUP__INIT, *ms[1] = { &m };
	uint8_t group[4] = { 239, 1, 2, 3 };
	ProtobufCBinaryData src[1] = { { 4, peer4 } };

	(void)state;
	s.family = AF_INET;
	s.type = SOCK_RAW;
	s.protocol = 253;
	s.inet = &in;
	assert_null(validate_socket(&s));
	in.src_port = 253;                      /* raw sockets have no port */
	assert_non_null(validate_socket(&s));
	in.src_port = 0;
	s.protocol = 256;
	assert_non_null(validate_socket(&s));
	s.protocol = 253;

	in.n_mc = 1;
	in.mc = ms;
	m.ifname = "lo";
	m.group = (ProtobufCBinaryData){ 4, group };
	assert_null(validate_socket(&s));
	m.fmode = 2;
	assert_non_null(validate_socket(&s));
	m.fmode = MCAST_INCLUDE;
	m.n_sources = 1;
	m.sources = src;
	assert_null(validate_socket(&s));
	src[0].len = 16;                        /* a source of another family */
	assert_non_null(validate_socket(&s));
	src[0].len = 4;
	m.n_sources = CR_MC_MAX_SOURCES + 1;
	assert_non_null(validate_socket(&s));
	m.n_sources = 1;
	m.ifname = "../eth0";
	assert_non_null(validate_socket(&s));
	m.ifname = "";
	assert_non_null(validate_socket(&s));
	m.ifname = "lo";
	m.group = (ProtobufCBinaryData){ 16, lo6 };   /* IPv6 group on an IPv4 socket */
	assert_non_null(validate_socket(&s));
	m.group = (ProtobufCBinaryData){ 4, group };
	in.n_mc = CR_MC_MAX_GROUPS + 1;
	assert_non_null(validate_socket(&s));
}

static void test_netlink_packet(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__NetlinkSock nl = CKPT__IMG__NETLINK_SOCK__INIT;
	Ckpt__Img__PacketSock p = CKPT__IMG__PACKET_SOCK__INIT;
	uint32_t groups[CR_NETLINK_MAX_GROUP_WORDS + 1] = { 1 };

	(void)state;
	s.family = AF_NETLINK;
	s.type = SOCK_RAW;
	s.protocol = 0;                          /* NETLINK_ROUTE */
	s.nl = &nl;
	nl.portid = 2;
	nl.n_groups = 1;
	nl.groups = groups;
	assert_null(validate_socket(&s));
	s.protocol = 9;                          /* NETLINK_AUDIT: not made again */
	assert_non_null(validate_socket(&s));
	s.protocol = 0;
	s.type = SOCK_STREAM;
	assert_non_null(validate_socket(&s));
	s.type = SOCK_DGRAM;
	nl.n_groups = CR_NETLINK_MAX_GROUP_WORDS + 1;
	assert_non_null(validate_socket(&s));
	nl.n_groups = 1;
	nl.dst_group = CR_NETLINK_MAX_GROUP_WORDS * 32 + 1;
	assert_non_null(validate_socket(&s));
	nl.dst_group = 0;
	s.packet = &p;                           /* another family's part */
	assert_non_null(validate_socket(&s));

	s = (Ckpt__Img__Socket)CKPT__IMG__SOCKET__INIT;
	s.family = AF_PACKET;
	s.type = SOCK_DGRAM;
	s.protocol = 0x0008;
	s.packet = &p;
	p.proto = 0x0008;
	assert_null(validate_socket(&s));
	p.ifindex = 1;                           /* an interface without its name */
	assert_non_null(validate_socket(&s));
	p.ifname = "lo";
	assert_null(validate_socket(&s));
	p.ifname = "a/b";
	assert_non_null(validate_socket(&s));
	p.ifname = "0123456789abcdef";           /* IFNAMSIZ with its NUL */
	assert_non_null(validate_socket(&s));
	p.ifname = "lo";
	p.proto = 65536;
	assert_non_null(validate_socket(&s));
	p.proto = 0x0008;
	s.type = SOCK_SEQPACKET;
	assert_non_null(validate_socket(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_raw_mc),
		cmocka_unit_test(test_netlink_packet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
