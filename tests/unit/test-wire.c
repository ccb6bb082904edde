// SPDX-License-Identifier: GPL-2.0-or-later
/* RPC framing over a seqpacket socketpair: data, fds, truncation, EOF. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "wire.h"
#include "rpc.pb-c.h"

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;   /* the DIR's own fd */
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_fds_round_trip(void **state)
{
	int sv[2], p[2], fds[CKPT_RPC_MAX_FDS], before;
	char buf[64];
	size_t nfds = 99;
	ssize_t n;

	before = count_fds();
	pair(sv);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(wire_send(sv[0], "hello", 5, p, 2), 0);
	close(p[0]);
	close(p[1]);
	n = wire_recv(sv[1], buf, sizeof(buf), fds, CKPT_RPC_MAX_FDS, &nfds);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(nfds, 2);
	/* received fds are close-on-exec and work: the pipe still connects */
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(read(fds[0], buf, 1), 1);
	assert_int_equal(buf[0], 'x');
	close(fds[0]);
	close(fds[1]);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

static void test_msg_round_trip(void **state)
{
	Ckpt__Rpc__Response *out;
	int sv[2];
	static uint8_t buf[CKPT_RPC_MAX_MSG];
	size_t nfds;
	ssize_t n;
	int fds[1];

	pair(sv);
	{
		Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;

		assert_int_equal(wire_send_msg(sv[0], &resp.base, NULL, 0), 0);
	}
	n = wire_recv(sv[1], buf, sizeof(buf), fds, 1, &nfds);
	assert_true(n >= 0);
	assert_int_equal(nfds, 0);
	out = ckpt__rpc__response__unpack(NULL, (size_t)n, buf);
	assert_non_null(out);
	ckpt__rpc__response__free_unpacked(out, NULL);
	close(sv[0]);
	close(sv[1]);
}

/* A datagram larger than the buffer: -EMSGSIZE, and its fds don't leak. */
static void test_truncated(void **state)
{
	int sv[2], p[2], fds[CKPT_RPC_MAX_FDS], before;
	char big[4096] = { 0 }, small[16];
	size_t nfds = 99;

	before = count_fds();
	pair(sv);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(wire_send(sv[0], big, sizeof(big), p, 2), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(wire_recv(sv[1], small, sizeof(small), fds, CKPT_RPC_MAX_FDS, &nfds), -EMSGSIZE);
	assert_int_equal(nfds, 0);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

/* More fds than the caller takes: -EBADMSG, all of them closed. */
static void test_too_many_fds(void **state)
{
	int sv[2], p[2], fds[1], before;
	char buf[16];
	size_t nfds = 99;

	before = count_fds();
	pair(sv);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(wire_send(sv[0], "m", 1, p, 2), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(wire_recv(sv[1], buf, sizeof(buf), fds, 1, &nfds), -EBADMSG);
	assert_int_equal(nfds, 0);
	assert_int_equal(wire_send(sv[0], "m", 1, (int[]){ 0 }, 1), 0);
	assert_int_equal(wire_recv(sv[1], buf, sizeof(buf), fds, 0, &nfds), -EBADMSG);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

/* The restore spawner passes a whole fd table in one datagram. */
static void test_many_fds(void **state)
{
	int sv[2], in[250], out[250], before;
	char buf[16];
	size_t nfds = 0;

	before = count_fds();
	pair(sv);
	for (int i = 0; i < 250; i++)
		in[i] = 0;
	assert_int_equal(wire_send(sv[0], "m", 1, in, 250), 0);
	assert_int_equal(wire_recv(sv[1], buf, sizeof(buf), out, 250, &nfds), 1);
	assert_int_equal(nfds, 250);
	for (int i = 0; i < 250; i++)
		close(out[i]);
	assert_int_equal(wire_send(sv[0], "m", 1, in, 254), -EINVAL);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
}

static void test_eof(void **state)
{
	int sv[2], fds[1];
	char buf[16];
	size_t nfds = 99;

	pair(sv);
	close(sv[0]);
	assert_int_equal(wire_recv(sv[1], buf, sizeof(buf), fds, 1, &nfds), 0);
	assert_int_equal(nfds, 0);
	close(sv[1]);
}

static void test_send_errors(void **state)
{
	int sv[2];
	char buf[16];

	pair(sv);
	assert_int_equal(wire_send(sv[0], "m", 1, (int[]){ -1 }, 1), -EBADF);
	close(sv[1]);
	/* no SIGPIPE: the error comes back as a value */
	assert_int_equal(wire_send(sv[0], "m", 1, NULL, 0), -EPIPE);
	close(sv[0]);
	assert_int_equal(wire_recv(-1, buf, sizeof(buf), NULL, 0, NULL), -EBADF);
}

static void test_socket_path(void **state)
{
	unsetenv("CKPTD_SOCKET");
	assert_string_equal(wire_socket_path(NULL), CKPTD_DEFAULT_SOCKET);
	assert_string_equal(wire_socket_path("/x.sock"), "/x.sock");
	setenv("CKPTD_SOCKET", "/env.sock", 1);
	assert_string_equal(wire_socket_path(NULL), "/env.sock");
	assert_string_equal(wire_socket_path("/x.sock"), "/x.sock");
	unsetenv("CKPTD_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fds_round_trip),
		cmocka_unit_test(test_msg_round_trip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_too_many_fds),
		cmocka_unit_test(test_many_fds),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_send_errors),
		cmocka_unit_test(test_socket_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
