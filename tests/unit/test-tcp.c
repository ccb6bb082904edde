// SPDX-License-Identifier: GPL-2.0-or-later
/* The TCP part of an internet socket's record (validate_socket), and the
 * IP, IPv6 and TCP rows of the option table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/filter.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "validate.h"
#include "sock_optab.h"

static uint8_t lo4[4] = { 127, 0, 0, 1 };

/* A valid established IPv4 connection. */
static void established(Ckpt__Img__Socket *s, Ckpt__Img__InetSock *in, Ckpt__Img__TcpSock *t)
{
	s->family = AF_INET;
	s->type = SOCK_STREAM;
	s->protocol = IPPROTO_TCP;
	s->inet = in;
	in->has_src_addr = in->has_dst_addr = true;
	in->src_addr = (ProtobufCBinaryData){ 4, lo4 };
	in->dst_addr = (ProtobufCBinaryData){ 4, lo4 };
	in->src_port = 40000;
	in->dst_port = 80;
	in->tcp = t;
	t->state = TCP_ESTABLISHED;
	t->has_snd_seq = t->has_rcv_seq = t->has_mss = t->has_opts = true;
	t->has_snd_wl1 = t->has_snd_wnd = t->has_max_window = t->has_rcv_wnd = t->has_rcv_wup = true;
	t->mss = 65483;
	t->opts = TCPI_OPT_WSCALE | TCPI_OPT_SACK;
	t->has_snd_wscale = t->has_rcv_wscale = true;
	t->snd_wscale = t->rcv_wscale = 7;
}

static void test_established(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;
	Ckpt__Img__TcpSock t = CKPT__IMG__TCP_SOCK__INIT;
	uint8_t q[8] = "abcdefg";

	(void)state;
	established(&s, &in, &t);
	assert_null(validate_socket(&s));
	t.sndq = (ProtobufCBinaryData){ sizeof(q), q };
	t.rcvq = (ProtobufCBinaryData){ sizeof(q), q };
	assert_null(validate_socket(&s));
	t.rcvq.data = NULL;                  /* bytes counted but absent */
	assert_non_null(validate_socket(&s));
	t.rcvq.data = q;
	t.sndq.len = CR_TCP_MAX_QUEUE + 1;   /* too large */
	assert_non_null(validate_socket(&s));
	t.sndq.len = sizeof(q);
	t.snd_wscale = 15;
	assert_non_null(validate_socket(&s));
	t.snd_wscale = 7;
	t.opts |= TCPI_OPT_ECN;              /* not an option restart sets */
	assert_non_null(validate_socket(&s));
	t.opts = TCPI_OPT_TIMESTAMPS;        /* timestamps, but no clock saved */
	assert_non_null(validate_socket(&s));
	t.has_timestamp = true;
	assert_null(validate_socket(&s));
	t.mss = 0;
	assert_non_null(validate_socket(&s));
	t.mss = 1460;
	t.has_rcv_wup = false;               /* no window */
	assert_non_null(validate_socket(&s));
	t.has_rcv_wup = true;
	in.dst_port = 0;                     /* connected to no one */
	assert_non_null(validate_socket(&s));
	in.dst_port = 80;
	t.state = TCP_SYN_RECV;              /* a state restart doesn't make */
	assert_non_null(validate_socket(&s));
	t.state = TCP_CLOSE_WAIT;            /* closing: made like an established one */
	assert_null(validate_socket(&s));
	t.has_peer_fin_outside = t.peer_fin_outside = true;   /* its FIN forged: it received one */
	assert_null(validate_socket(&s));
	t.state = TCP_LAST_ACK;
	assert_null(validate_socket(&s));
	t.state = TCP_CLOSING;
	assert_null(validate_socket(&s));
	t.state = TCP_FIN_WAIT1;             /* it received none */
	assert_non_null(validate_socket(&s));
	t.state = TCP_ESTABLISHED;
	assert_non_null(validate_socket(&s));
	t.has_peer_fin_outside = t.peer_fin_outside = false;
	t.state = TCP_CLOSE_WAIT;
	t.state = TCP_FIN_WAIT2;             /* its FIN acknowledged, bytes still to send */
	assert_non_null(validate_socket(&s));
	t.state = TCP_SYN_SENT;              /* a connect in progress with sequence numbers */
	assert_non_null(validate_socket(&s));
	t.state = TCP_ESTABLISHED;
	s.type = SOCK_DGRAM;                 /* TCP state on a datagram socket */
	assert_non_null(validate_socket(&s));
}

/* A connection whose peer waited in an accept queue: established or
 * half-closed by itself, with nothing received, and its rank; nothing
 * else is connected again. */
static void test_pending(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;
	Ckpt__Img__TcpSock t = CKPT__IMG__TCP_SOCK__INIT;
	uint8_t q[4] = "abc";

	(void)state;
	established(&s, &in, &t);
	t.has_pending_connect = t.pending_connect = true;
	assert_non_null(validate_socket(&s));   /* no rank */
	t.has_pending_rank = true;
	t.pending_rank = 3;
	assert_null(validate_socket(&s));
	t.sndq = (ProtobufCBinaryData){ sizeof(q), q };   /* unsent bytes: written after the connect */
	assert_null(validate_socket(&s));
	t.rcvq = (ProtobufCBinaryData){ sizeof(q), q };   /* received bytes: its peer sent nothing */
	assert_non_null(validate_socket(&s));
	t.rcvq = (ProtobufCBinaryData){ 0, NULL };
	t.has_shut_rd = t.shut_rd = true;
	assert_non_null(validate_socket(&s));
	t.shut_rd = false;
	t.state = TCP_FIN_WAIT1;               /* its bytes, then its FIN */
	assert_null(validate_socket(&s));
	t.state = TCP_FIN_WAIT2;               /* its FIN acknowledged: no bytes left */
	assert_non_null(validate_socket(&s));
	t.sndq.len = 0;
	assert_null(validate_socket(&s));
	t.sndq.len = sizeof(q);
	t.state = TCP_CLOSE_WAIT;              /* its peer's FIN received: it had a peer */
	assert_non_null(validate_socket(&s));
	t.state = TCP_SYN_SENT;
	t.sndq.len = 0;
	t.has_snd_seq = t.has_rcv_seq = false;
	assert_non_null(validate_socket(&s));
	t = (Ckpt__Img__TcpSock)CKPT__IMG__TCP_SOCK__INIT;
	t.state = TCP_LISTEN;
	t.has_backlog = true;
	in.dst_addr.len = 0;
	in.dst_port = 0;
	assert_null(validate_socket(&s));
	t.pending_connect = true;              /* a listener connected again */
	assert_non_null(validate_socket(&s));
}

static void test_listen_close(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;
	Ckpt__Img__TcpSock t = CKPT__IMG__TCP_SOCK__INIT;

	(void)state;
	established(&s, &in, &t);
	in.dst_addr.len = 0;
	in.dst_port = 0;
	t = (Ckpt__Img__TcpSock)CKPT__IMG__TCP_SOCK__INIT;
	t.state = TCP_LISTEN;
	assert_non_null(validate_socket(&s));   /* no backlog */
	t.has_backlog = true;
	t.backlog = 128;
	assert_null(validate_socket(&s));
	t.backlog = CR_TCP_MAX_BACKLOG + 1;
	assert_non_null(validate_socket(&s));
	t.backlog = 128;
	t.has_snd_seq = true;                   /* a connection's state on a listener */
	assert_non_null(validate_socket(&s));
	t.has_snd_seq = false;
	in.dst_port = 80;
	assert_non_null(validate_socket(&s));
	in.dst_port = 0;
	t.state = TCP_CLOSE;
	assert_null(validate_socket(&s));
}

static void test_filter(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;
	Ckpt__Img__TcpSock t = CKPT__IMG__TCP_SOCK__INIT;
	struct sock_filter f[2] = { BPF_STMT(BPF_RET | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 0) };

	(void)state;
	established(&s, &in, &t);
	in.has_filter = true;
	in.filter = (ProtobufCBinaryData){ sizeof(f), (uint8_t *)f };
	assert_null(validate_socket(&s));
	in.filter.len = sizeof(f) - 1;          /* not whole instructions */
	assert_non_null(validate_socket(&s));
	in.filter.len = 0;
	assert_non_null(validate_socket(&s));
	in.filter.len = (CR_SOCK_FILTER_MAX + 1) * sizeof(f[0]);
	assert_non_null(validate_socket(&s));
}

static void test_options(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;
	Ckpt__Img__TcpSock t = CKPT__IMG__TCP_SOCK__INIT;
	Ckpt__Img__SockOpt o = CKPT__IMG__SOCK_OPT__INIT, *op = &o;
	int one = 1;
	char cc[] = "reno";

	(void)state;
	established(&s, &in, &t);
	s.n_opts = 1;
	s.opts = &op;
	o.level = IPPROTO_TCP;
	o.name = TCP_NODELAY;
	o.value = (ProtobufCBinaryData){ sizeof(one), (uint8_t *)&one };
	assert_null(validate_socket(&s));
	o.level = IPPROTO_IPV6;                 /* an IPv6 option on an IPv4 socket */
	o.name = IPV6_V6ONLY;
	assert_non_null(validate_socket(&s));
	o.level = IPPROTO_IP;
	o.name = IP_TOS;
	assert_null(validate_socket(&s));
	o.level = IPPROTO_TCP;
	o.name = TCP_CONGESTION;
	o.value = (ProtobufCBinaryData){ strlen(cc), (uint8_t *)cc };
	assert_null(validate_socket(&s));
	o.value.len = 16;                       /* longer than TCP_CA_NAME_MAX allows */
	assert_non_null(validate_socket(&s));
	o.name = TCP_MAXSEG;                    /* kept by the repair part, not an option */
	o.value = (ProtobufCBinaryData){ sizeof(one), (uint8_t *)&one };
	assert_non_null(validate_socket(&s));
	/* both families have the TCP rows; only IPv6 sockets the IPv6 ones */
	assert_non_null(sock_opt_find(AF_INET6, IPPROTO_TCP, TCP_KEEPIDLE));
	assert_non_null(sock_opt_find(AF_INET, IPPROTO_TCP, TCP_KEEPIDLE));
	assert_non_null(sock_opt_find(AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY));
	assert_null(sock_opt_find(AF_UNIX, IPPROTO_TCP, TCP_NODELAY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_established),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_listen_close),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
