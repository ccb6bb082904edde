// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpclose: TCP connections in the closing states and a connect in
 * progress, both ends in this process, over 127.0.0.1.
 *
 *   fw2/cw:  a shut its writing side after sending bytes b has not read;
 *            b sent bytes a has not read. a is in FIN_WAIT2, b in
 *            CLOSE_WAIT. b must read a's bytes, then EOF, and still write;
 *            a must still read all of b's bytes, and fail to write.
 *   fw1:     c filled d's closed window (d reads nothing, SO_RCVBUF small)
 *            and shut its writing side: c is in FIN_WAIT1, its FIN behind
 *            its bytes. d must read every byte, then EOF, and still write
 *            to c, which still reads.
 *   lastack: f shut its writing side (e read EOF), then e filled f's
 *            closed window and shut its own: e in LAST_ACK, f in
 *            FIN_WAIT2. e must read EOF and fail to write; f must read
 *            every byte of e's, then EOF.
 *   synsent: g connects (non-blocking) to a listener whose classic BPF
 *            filter drops every segment: g stays in SYN_SENT. After the
 *            restart g is still connecting; once the filter is removed
 *            its SYN gets through, the listener accepts and a byte goes
 *            each way.
 * Every state is checked before READY. SIGUSR2: the check above (the
 * first time; e and f are closed then), then again what still holds (b and
 * d read EOF and still write to a and c, which can't write; g still
 * sends); "PASS tcpclose checks=<n>". */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "wl.h"

static int chk(int r, const char *what)
{
	if (r < 0)
		fail("tcpclose: %s: %s\n", what, strerror(errno));
	return r;
}

static uint8_t sbyte(int stream, uint64_t i)
{
	return (uint8_t)(i * 31 + (uint64_t)stream * 7 + (i >> 8));
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static unsigned state_of(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	chk(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), "TCP_INFO");
	return ti.tcpi_state;
}

/* Until fd is in state want (segments on loopback take a moment). */
static void wait_state(int fd, unsigned want, const char *who)
{
	long end = now_ms() + 5000;

	while (state_of(fd) != want) {
		if (now_ms() > end)
			fail("tcpclose: %s: state %u, not %u\n", who, state_of(fd), want);
		usleep(5000);
	}
}

static void nonblock(int fd)
{
	chk(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), "O_NONBLOCK");
}

static int lsk;
static struct sockaddr_in laddr;

/* A connected pair: *cl the client (SO_RCVBUF rcvbuf if set), *sv the
 * accepted end (SO_SNDBUF sndbuf if set); both non-blocking. */
static void pair(int *cl, int *sv, int rcvbuf, int sndbuf)
{
	*cl = chk(socket(AF_INET, SOCK_STREAM, 0), "socket");
	if (rcvbuf)
		chk(setsockopt(*cl, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), "SO_RCVBUF");
	chk(connect(*cl, (void *)&laddr, sizeof(laddr)), "connect");
	*sv = chk(accept(lsk, NULL, NULL), "accept");
	if (sndbuf)
		chk(setsockopt(*sv, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), "SO_SNDBUF");
	nonblock(*cl);
	nonblock(*sv);
}

/* n bytes of stream from position *pos; all of them (n > 0), or until the
 * window is full (n == 0): returns how many. */
static uint64_t put(int fd, int stream, uint64_t *pos, uint64_t n, const char *who)
{
	uint8_t buf[4096];
	uint64_t done = 0;
	long end = now_ms() + 10000;

	for (;;) {
		size_t k = n ? (size_t)(n - done < sizeof(buf) ? n - done : sizeof(buf)) : sizeof(buf);
		ssize_t w;

		if (n && done == n)
			return done;
		for (size_t i = 0; i < k; i++)
			buf[i] = sbyte(stream, *pos + i);
		w = send(fd, buf, k, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			if (!n)
				return done;
			if (now_ms() > end)
				fail("tcpclose: %s: could not send\n", who);
			usleep(1000);
			continue;
		}
		if (w <= 0)
			fail("tcpclose: %s: send: %s\n", who, w < 0 ? strerror(errno) : "0");
		*pos += (uint64_t)w;
		done += (uint64_t)w;
	}
}

/* Exactly n bytes of stream from *pos (checked), then EOF if eof. */
static void take(int fd, int stream, uint64_t *pos, uint64_t n, bool eof, const char *who)
{
	uint8_t buf[4096];
	uint64_t got = 0;
	long end = now_ms() + 15000;

	for (;;) {
		size_t k = got < n ? (size_t)(n - got < sizeof(buf) ? n - got : sizeof(buf)) : sizeof(buf);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (got == n && !eof)
			return;
		r = recv(fd, buf, k, 0);
		if (r < 0 && errno == EAGAIN) {
			if (now_ms() > end)
				fail("tcpclose: %s: %llu of %llu bytes%s, then nothing\n", who, (unsigned long long)got,
				     (unsigned long long)n, eof ? " and EOF" : "");
			poll(&p, 1, 100);
			continue;
		}
		if (r < 0)
			fail("tcpclose: %s: recv: %s\n", who, strerror(errno));
		if (r == 0) {
			if (got != n || !eof)
				fail("tcpclose: %s: EOF after %llu of %llu bytes\n", who, (unsigned long long)got,
				     (unsigned long long)n);
			return;
		}
		if (got + (uint64_t)r > n)
			fail("tcpclose: %s: more than the %llu bytes expected\n", who, (unsigned long long)n);
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != sbyte(stream, *pos + (uint64_t)i))
				fail("tcpclose: %s: byte %llu is wrong\n", who, (unsigned long long)(*pos + (uint64_t)i));
		*pos += (uint64_t)r;
		got += (uint64_t)r;
	}
}

static void no_more(int fd, const char *who)
{
	char c;

	if (recv(fd, &c, 1, 0) != 0)
		fail("tcpclose: %s: not at EOF (%s)\n", who, strerror(errno));
}

static void cant_write(int fd, const char *who)
{
	if (send(fd, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		fail("tcpclose: %s: a write after shutdown did not fail with EPIPE (%s)\n", who, strerror(errno));
}

/* The connections and each stream's positions (sent, checked). */
static int a, b, c, d, e, f, g, h, l2;
enum { S_AB, S_BA, S_CD, S_DC, S_EF, S_GL, NSTREAM };
static uint64_t sent[NSTREAM], seen[NSTREAM];
static uint64_t pending_ab, pending_ba, pending_cd, pending_ef;

static void setup(void)
{
	socklen_t len = sizeof(laddr);
	int one = 1, rcv = 4096, snd = 8192;
	struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = drop };
	struct sockaddr_in l2addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	lsk = chk(socket(AF_INET, SOCK_STREAM, 0), "socket");
	laddr = l2addr;
	chk(setsockopt(lsk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), "SO_REUSEADDR");
	chk(bind(lsk, (void *)&laddr, sizeof(laddr)), "bind");
	chk(listen(lsk, 8), "listen");
	chk(getsockname(lsk, (void *)&laddr, &len), "getsockname");

	/* fw2/cw */
	pair(&a, &b, 0, 0);
	pending_ab = put(a, S_AB, &sent[S_AB], 1000, "a");
	pending_ba = put(b, S_BA, &sent[S_BA], 1500, "b");
	chk(shutdown(a, SHUT_WR), "shutdown a");
	wait_state(a, TCP_FIN_WAIT2, "a");
	wait_state(b, TCP_CLOSE_WAIT, "b");

	/* fw1: c's bytes fill d's window, its FIN waits behind them */
	pair(&d, &c, rcv, snd);
	usleep(20000);
	pending_cd = put(c, S_CD, &sent[S_CD], 0, "c");
	usleep(50000);
	pending_cd += put(c, S_CD, &sent[S_CD], 0, "c");
	chk(shutdown(c, SHUT_WR), "shutdown c");
	wait_state(c, TCP_FIN_WAIT1, "c");
	if (state_of(d) != TCP_ESTABLISHED)
		fail("tcpclose: d: state %u\n", state_of(d));

	/* lastack */
	pair(&f, &e, rcv, snd);
	chk(shutdown(f, SHUT_WR), "shutdown f");
	wait_state(e, TCP_CLOSE_WAIT, "e");
	take(e, S_EF, &seen[S_EF], 0, true, "e reads f's EOF");
	usleep(20000);
	pending_ef = put(e, S_EF, &sent[S_EF], 0, "e");
	usleep(50000);
	pending_ef += put(e, S_EF, &sent[S_EF], 0, "e");
	chk(shutdown(e, SHUT_WR), "shutdown e");
	wait_state(e, TCP_LAST_ACK, "e");
	wait_state(f, TCP_FIN_WAIT2, "f");

	/* synsent: a listener that drops every segment */
	l2 = chk(socket(AF_INET, SOCK_STREAM, 0), "socket");
	chk(bind(l2, (void *)&l2addr, sizeof(l2addr)), "bind");
	len = sizeof(l2addr);
	chk(getsockname(l2, (void *)&l2addr, &len), "getsockname");
	chk(setsockopt(l2, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)), "SO_ATTACH_FILTER");
	chk(listen(l2, 1), "listen");
	g = chk(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), "socket");
	if (connect(g, (void *)&l2addr, sizeof(l2addr)) == 0 || errno != EINPROGRESS)
		fail("tcpclose: g: connect did not stay in progress: %s\n", strerror(errno));
	usleep(50000);
	if (state_of(g) != TCP_SYN_SENT)
		fail("tcpclose: g: state %u, not SYN_SENT\n", state_of(g));
}

static void check_synsent(void)
{
	struct pollfd p = { .fd = g, .events = POLLOUT };
	int err = -1, zero = 0;
	socklen_t len = sizeof(err);
	uint64_t pos = 0;

	if (state_of(g) != TCP_SYN_SENT)
		fail("tcpclose: g: state %u, not SYN_SENT after the restart\n", state_of(g));
	chk(getsockopt(g, SOL_SOCKET, SO_ERROR, &err, &len), "SO_ERROR");
	if (err)
		fail("tcpclose: g: connect failed: %s\n", strerror(err));
	chk(setsockopt(l2, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero)), "SO_DETACH_FILTER");
	if (poll(&p, 1, 20000) != 1)
		fail("tcpclose: g: the connect did not complete once the listener took segments\n");
	chk(getsockopt(g, SOL_SOCKET, SO_ERROR, &err, &len), "SO_ERROR");
	if (err)
		fail("tcpclose: g: connect: %s\n", strerror(err));
	h = chk(accept(l2, NULL, NULL), "accept g");
	nonblock(h);
	put(g, S_GL, &sent[S_GL], 1, "g");
	take(h, S_GL, &seen[S_GL], 1, false, "the accepted end of g");
	put(h, S_GL, &pos, 1, "h");
	pos = 0;
	take(g, S_GL, &pos, 1, false, "g");
}

static int checks;

static void check(void)
{
	if (!checks) {
		/* fw2/cw */
		take(b, S_AB, &seen[S_AB], pending_ab, true, "b (CLOSE_WAIT)");
		put(b, S_BA, &sent[S_BA], 700, "b");
		take(a, S_BA, &seen[S_BA], pending_ba + 700, false, "a (FIN_WAIT2)");
		cant_write(a, "a");
		wait_state(a, TCP_FIN_WAIT2, "a");
		/* fw1 */
		take(d, S_CD, &seen[S_CD], pending_cd, true, "d");
		put(d, S_DC, &sent[S_DC], 300, "d");
		take(c, S_DC, &seen[S_DC], 300, false, "c (FIN_WAIT1)");
		cant_write(c, "c");
		/* lastack */
		no_more(e, "e (LAST_ACK)");
		cant_write(e, "e");
		take(f, S_EF, &seen[S_EF], pending_ef, true, "f");
		cant_write(f, "f");
		/* both FINs are through: the connection ends (TIME_WAIT) */
		close(e);
		close(f);
		check_synsent();
	} else {
		no_more(b, "b");
		put(b, S_BA, &sent[S_BA], 100, "b");
		take(a, S_BA, &seen[S_BA], 100, false, "a");
		cant_write(a, "a");
		wait_state(b, TCP_CLOSE_WAIT, "b");
		no_more(d, "d");
		put(d, S_DC, &sent[S_DC], 100, "d");
		take(c, S_DC, &seen[S_DC], 100, false, "c");
		cant_write(c, "c");
		put(g, S_GL, &sent[S_GL], 1, "g");
		take(h, S_GL, &seen[S_GL], 1, false, "the accepted end of g");
	}
	checks++;
	say("PASS tcpclose checks=%d bytes=%llu\n", checks,
	    (unsigned long long)(seen[S_AB] + seen[S_BA] + seen[S_CD] + seen[S_DC] + seen[S_EF]));
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };

	signal(SIGPIPE, SIG_IGN);
	chk(sigaction(SIGUSR2, &sa, NULL), "sigaction");
	setup();
	say("READY tcpclose ab=%llu ba=%llu cd=%llu ef=%llu\n", (unsigned long long)pending_ab,
	    (unsigned long long)pending_ba, (unsigned long long)pending_cd, (unsigned long long)pending_ef);
	for (;;) {
		pause();
		if (got_usr2) {
			got_usr2 = 0;
			check();
		}
	}
}
