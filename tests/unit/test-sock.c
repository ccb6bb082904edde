// SPDX-License-Identifier: GPL-2.0-or-later
/* The parts of a socket record every family shares (validate_socket) and
 * the option table they are checked against (sock_optab). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include "validate.h"
#include "sock_optab.h"

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sock_optab_len; i++) {
		const struct sock_opt_desc *d = &sock_optab[i];

		assert_non_null(d->label);
		if (d->kind == SOPT_INT || d->kind == SOPT_BUF)
			assert_int_equal(d->len, sizeof(int));
		assert_true(d->len > 0 && d->len <= 64);
		/* one entry per (family, level, name): the lookup finds this one */
		assert_ptr_equal(sock_opt_find(d->family ? d->family : AF_INET, d->level, d->name), d);
	}
	assert_null(sock_opt_find(AF_INET, SOL_SOCKET, 12345));
}

static void test_socket_base(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__UnixSock u = CKPT__IMG__UNIX_SOCK__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;

	(void)state;
	assert_non_null(validate_socket(NULL));
	s.family = AF_UNIX;
	s.type = SOCK_STREAM;
	s.unx = &u;
	u.ino = 7;
	u.state = 7;   /* TCP_CLOSE: made, not connected */
	assert_null(validate_socket(&s));
	s.type = 77;
	assert_non_null(validate_socket(&s));
	s.type = SOCK_DGRAM;
	s.family = AF_BLUETOOTH;
	assert_non_null(validate_socket(&s));
	/* the family's part must be the family's own */
	s.family = AF_INET;
	assert_non_null(validate_socket(&s));
	s.unx = NULL;
	s.inet = &in;
	s.protocol = IPPROTO_UDP;
	assert_null(validate_socket(&s));
	s.protocol = -1;
	assert_non_null(validate_socket(&s));
	s.protocol = IPPROTO_SCTP;   /* a datagram kind restart doesn't make */
	assert_non_null(validate_socket(&s));
}

static void test_inet_addrs(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__InetSock in = CKPT__IMG__INET_SOCK__INIT;
	uint8_t a[16] = { 127, 0, 0, 1 };

	(void)state;
	s.family = AF_INET;
	s.type = SOCK_STREAM;
	s.inet = &in;
	in.has_src_addr = true;
	in.src_addr = (ProtobufCBinaryData){ 4, a };
	in.src_port = 80;
	assert_null(validate_socket(&s));
	in.src_addr.len = 16;   /* a v6 address on a v4 socket */
	assert_non_null(validate_socket(&s));
	s.family = AF_INET6;
	assert_null(validate_socket(&s));
	in.src_addr.len = 0;    /* unbound */
	assert_null(validate_socket(&s));
	in.dst_port = 65536;
	assert_non_null(validate_socket(&s));
}

static void test_options(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__UnixSock u = CKPT__IMG__UNIX_SOCK__INIT;
	Ckpt__Img__SockOpt o = CKPT__IMG__SOCK_OPT__INIT, *op = &o;
	int one = 1;
	struct linger lg = { 1, 5 };
	char dev[IFNAMSIZ + 4] = "eth0";

	(void)state;
	s.family = AF_UNIX;
	s.type = SOCK_STREAM;
	s.unx = &u;
	u.ino = 7;
	u.state = 7;
	s.n_opts = 1;
	s.opts = &op;
	o.level = SOL_SOCKET;
	o.name = SO_PASSCRED;
	o.value = (ProtobufCBinaryData){ sizeof(one), (uint8_t *)&one };
	assert_null(validate_socket(&s));
	o.value.len = 2;              /* not an int */
	assert_non_null(validate_socket(&s));
	o.value.data = NULL;
	o.value.len = 4;
	assert_non_null(validate_socket(&s));
	o.name = 12345;               /* not an option restart sets */
	o.value = (ProtobufCBinaryData){ sizeof(one), (uint8_t *)&one };
	assert_non_null(validate_socket(&s));
	o.name = SO_LINGER;
	o.value = (ProtobufCBinaryData){ sizeof(lg), (uint8_t *)&lg };
	assert_null(validate_socket(&s));
	o.value.len = sizeof(lg) + 1;
	assert_non_null(validate_socket(&s));
	o.name = SO_BINDTODEVICE;
	o.value = (ProtobufCBinaryData){ strlen(dev), (uint8_t *)dev };
	assert_null(validate_socket(&s));
	o.value.len = IFNAMSIZ;       /* longer than a device name */
	memset(dev, 'x', sizeof(dev));
	assert_non_null(validate_socket(&s));
	o.value.len = 3;
	dev[1] = 0;                   /* a NUL inside */
	assert_non_null(validate_socket(&s));
	s.n_opts = CR_SOCK_MAX_OPTS + 1;
	assert_non_null(validate_socket(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_socket_base),
		cmocka_unit_test(test_inet_addrs),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
