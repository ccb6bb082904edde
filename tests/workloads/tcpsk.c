// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpsk: TCP sockets whose state must survive a restart, over IPv4 and IPv6
 * on loopback.
 *
 * The parent listens on 127.0.0.1, [::1] and [::] (dual-stack; ports the
 * kernel picks) and forks an echo child, which connects to each (to the
 * third over IPv4: the parent's end has an IPv4-mapped address); the
 * parent accepts. On each
 * connection, every round: the parent's stream (byte i of it is a function
 * of i) goes to the child, which checks it byte by byte and echoes it, and
 * the child's own stream comes back; the parent checks both. Between
 * rounds, bytes are left in flight both ways: ROUND bytes of the parent's
 * stream the child has not read, EXTRA bytes of the child's stream the
 * parent has not read. So a checkpoint always holds queued data in both
 * directions, and a lost, repeated or reordered byte fails the next round.
 *
 * Options set and checked: on the parent's IPv4 end TCP_NODELAY,
 * SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT, TCP_USER_TIMEOUT, IP_TOS,
 * TCP_CONGESTION "reno", TCP_NOTSENT_LOWAT; on the child's IPv4 end a
 * classic BPF filter (accept all), locked; on the child's IPv6 end
 * IPV6_TCLASS and a small SO_RCVBUF, and a large SO_SNDBUF on the
 * parent's: its bytes in flight there wait in the parent's send queue,
 * most of them never sent (the child's window is closed); on the listeners TCP_FASTOPEN (v4), IPV6_V6ONLY and
 * TCP_DEFER_ACCEPT (v6). Addresses and ports must be those of before.
 * On the parent's dual-stack end, SO_PEEK_OFF, moved past the first bytes
 * in flight by a peek after each round. Beside, a connection whose
 * client end was shut for reading (shutdown(SHUT_RD)): it must still read
 * EOF and send. Each round also connects to each
 * listener anew, sends a byte, accepts
 * and reads it: the listeners still listen where they did.
 *
 * "tcpsk pending": also a connection to the IPv4 listener not accepted,
 * holding a byte it received;
 * "tcpsk closewait": also a connection whose peer end the child closed
 * (this end in CLOSE_WAIT). The checkpoint must refuse both.
 *
 * SIGUSR2: a round; "PASS tcpsk rounds=<n> bytes=<checked>". */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wl.h"

#define ROUND (48 << 10)
#define EXTRA (40 << 10)
#define NCONN 3
/* Listener and client families: the third listener is IPv6 on the
 * wildcard address, dual-stack, and its client IPv4 (the accepted end has
 * an IPv4-mapped address). */
static const int lfam[NCONN] = { AF_INET, AF_INET6, AF_INET6 };
static const int cfam[NCONN] = { AF_INET, AF_INET6, AF_INET };

struct conn {
	int fam;
	int fd;                          /* parent: accepted; child: connected */
	uint64_t out, in;                /* stream positions: written, checked */
	struct sockaddr_storage self, peer;
};

static struct conn conns[NCONN];
static int lsk[NCONN];
static struct sockaddr_storage laddr[NCONN];
static int go_pipe[2], ok_pipe[2];
static pid_t kid;
static uint64_t rounds, checked;
static int sndbuf, rcvbuf;   /* as the kernel reports them once set */
#define PEEKED 10
static char peeked[PEEKED];

static int chk(int r, const char *what)
{
	if (r < 0)
		fail("tcpsk: %s: %s\n", what, strerror(errno));
	return r;
}

/* The two streams: the parent's (dir 0) and the child's (dir 1). */
static unsigned char sbyte(int dir, int c, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)(dir * 2 + c) << 56);

	x ^= x >> 29;
	return (unsigned char)(x * 0xbf58476d1ce4e5b9ull >> 40);
}

static void put_stream(int fd, int dir, int c, uint64_t *pos, size_t n)
{
	unsigned char buf[4096];

	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < k; i++)
			buf[i] = sbyte(dir, c, *pos + i);
		w = write(fd, buf, k);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail("tcpsk: write on connection %d: %s\n", c, strerror(errno));
		*pos += (uint64_t)w;
		n -= (size_t)w;
	}
}

/* Read n bytes of stream dir on fd; echo them to echo_fd if >= 0. */
static void take_stream(int fd, int dir, int c, uint64_t *pos, size_t n, int echo_fd, uint64_t *echo_pos)
{
	unsigned char buf[4096];

	while (n) {
		ssize_t r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("tcpsk: read on connection %d at byte %llu: %s\n", c, (unsigned long long)*pos,
			     r ? strerror(errno) : "end of stream");
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != sbyte(dir, c, *pos + i))
				fail("tcpsk: connection %d: stream %d byte %llu is %#x, want %#x\n", c, dir,
				     (unsigned long long)(*pos + i), buf[i], sbyte(dir, c, *pos + i));
		if (echo_fd >= 0) {
			for (ssize_t off = 0; off < r;) {
				ssize_t w = write(echo_fd, buf + off, r - off);

				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					fail("tcpsk: echo on connection %d: %s\n", c, strerror(errno));
				off += w;
			}
			*echo_pos += (uint64_t)r;
		}
		*pos += (uint64_t)r;
		n -= (size_t)r;
	}
}

static void set_int(int fd, int level, int opt, int v, const char *what)
{
	chk(setsockopt(fd, level, opt, &v, sizeof(v)), what);
}

static int get_int(int fd, int level, int opt, const char *what)
{
	int v = 0;
	socklen_t len = sizeof(v);

	chk(getsockopt(fd, level, opt, &v, &len), what);
	return v;
}

static void want_int(int fd, int level, int opt, int v, const char *what)
{
	int got = 0;
	socklen_t len = sizeof(got);

	chk(getsockopt(fd, level, opt, &got, &len), what);
	if (got != v)
		fail("tcpsk: %s is %d, want %d\n", what, got, v);
}

static socklen_t alen(int fam)
{
	return fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void loopback(int fam, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
	}
}

static void same_addr(int fd, bool peer, const struct sockaddr_storage *want, const char *what)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	chk(peer ? getpeername(fd, (void *)&ss, &len) : getsockname(fd, (void *)&ss, &len), what);
	if (len != alen(want->ss_family) || memcmp(&ss, want, len))
		fail("tcpsk: %s changed\n", what);
}

static void listeners(void)
{
	for (int c = 0; c < NCONN; c++) {
		int fam = lfam[c];
		socklen_t len = sizeof(laddr[c]);

		lsk[c] = chk(socket(fam, SOCK_STREAM, 0), "socket");
		if (c == 1) {
			set_int(lsk[c], IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
			set_int(lsk[c], IPPROTO_TCP, TCP_DEFER_ACCEPT, 5, "TCP_DEFER_ACCEPT");
		} else if (c == 0) {
			set_int(lsk[c], IPPROTO_TCP, TCP_FASTOPEN, 16, "TCP_FASTOPEN");
		}
		loopback(fam, &laddr[c]);
		if (c == 2)
			((struct sockaddr_in6 *)&laddr[c])->sin6_addr = in6addr_any;
		chk(bind(lsk[c], (void *)&laddr[c], alen(fam)), "bind");
		chk(listen(lsk[c], 8), "listen");
		chk(getsockname(lsk[c], (void *)&laddr[c], &len), "getsockname");
	}
}

/* Where a client of listener c connects. */
static void target(int c, struct sockaddr_storage *ss)
{
	if (cfam[c] == lfam[c]) {
		*ss = laddr[c];
		return;
	}
	loopback(AF_INET, ss);
	((struct sockaddr_in *)ss)->sin_port = ((struct sockaddr_in6 *)&laddr[c])->sin6_port;
}

static int defer_accept_value;
static bool pending_mode;   /* listener 0 holds a connection never accepted */

static void check_listeners(void)
{
	for (int c = 0; c < NCONN; c++) {
		int fam = cfam[c], cl, sv;
		struct sockaddr_storage to;
		char b = 0;

		if (c == 0 && pending_mode)
			continue;
		same_addr(lsk[c], false, &laddr[c], "a listener's address");
		if (lfam[c] == AF_INET6)
			want_int(lsk[c], IPPROTO_IPV6, IPV6_V6ONLY, c == 1, "IPV6_V6ONLY");
		if (c == 1)
			want_int(lsk[c], IPPROTO_TCP, TCP_DEFER_ACCEPT, defer_accept_value, "TCP_DEFER_ACCEPT");
		else if (c == 0)
			want_int(lsk[c], IPPROTO_TCP, TCP_FASTOPEN, 16, "TCP_FASTOPEN");
		/* a new connection to it, with a byte (TCP_DEFER_ACCEPT waits for one) */
		cl = chk(socket(fam, SOCK_STREAM, 0), "socket");
		target(c, &to);
		chk(connect(cl, (void *)&to, alen(fam)), "connecting to a listener");
		if (write(cl, "L", 1) != 1)
			fail("tcpsk: write to a new connection: %s\n", strerror(errno));
		sv = chk(accept(lsk[c], NULL, NULL), "accept");
		if (read(sv, &b, 1) != 1 || b != 'L')
			fail("tcpsk: a new connection to listener %d lost its byte\n", c);
		/* the client closes first: its TIME_WAIT holds its own port,
		 * not the listener's */
		close(cl);
		if (read(sv, &b, 1) != 0)
			fail("tcpsk: a new connection to listener %d did not end\n", c);
		close(sv);
	}
}

static void parent_options(void)
{
	const char *cc = "reno";
	int fd = conns[0].fd;

	set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 77, "TCP_KEEPIDLE");
	set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, 11, "TCP_KEEPINTVL");
	set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 5, "TCP_KEEPCNT");
	set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345, "TCP_USER_TIMEOUT");
	set_int(fd, IPPROTO_IP, IP_TOS, 0x10, "IP_TOS");
	set_int(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 99999, "TCP_NOTSENT_LOWAT");
	chk(setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, strlen(cc)), "TCP_CONGESTION");
	set_int(conns[1].fd, SOL_SOCKET, SO_SNDBUF, 256 << 10, "SO_SNDBUF");
	set_int(conns[2].fd, SOL_SOCKET, SO_PEEK_OFF, 0, "SO_PEEK_OFF");
	sndbuf = get_int(conns[1].fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
}

static void check_parent_options(void)
{
	int fd = conns[0].fd;
	char cc[16] = "";
	socklen_t len = sizeof(cc);

	want_int(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	want_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	want_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 77, "TCP_KEEPIDLE");
	want_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, 11, "TCP_KEEPINTVL");
	want_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 5, "TCP_KEEPCNT");
	want_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345, "TCP_USER_TIMEOUT");
	want_int(fd, IPPROTO_IP, IP_TOS, 0x10, "IP_TOS");
	want_int(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 99999, "TCP_NOTSENT_LOWAT");
	chk(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len), "TCP_CONGESTION");
	if (strcmp(cc, "reno"))
		fail("tcpsk: TCP_CONGESTION is %s, want reno\n", cc);
	want_int(conns[1].fd, SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF");
}

static void child_options(void)
{
	struct sock_filter all = BPF_STMT(BPF_RET | BPF_K, 0xffffffff);
	struct sock_fprog prog = { .len = 1, .filter = &all };

	chk(setsockopt(conns[0].fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)), "SO_ATTACH_FILTER");
	set_int(conns[0].fd, SOL_SOCKET, SO_LOCK_FILTER, 1, "SO_LOCK_FILTER");
	set_int(conns[1].fd, IPPROTO_IPV6, IPV6_TCLASS, 0x20, "IPV6_TCLASS");
	rcvbuf = get_int(conns[1].fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
}

static void check_child_options(void)
{
	struct sock_filter f[2];
	socklen_t n = 2;

	chk(getsockopt(conns[0].fd, SOL_SOCKET, SO_GET_FILTER, f, &n), "SO_GET_FILTER");
	if (n != 1 || f[0].code != (BPF_RET | BPF_K) || f[0].k != 0xffffffff)
		fail("tcpsk: the socket filter changed (%u instructions)\n", (unsigned)n);
	want_int(conns[0].fd, SOL_SOCKET, SO_LOCK_FILTER, 1, "SO_LOCK_FILTER");
	want_int(conns[1].fd, IPPROTO_IPV6, IPV6_TCLASS, 0x20, "IPV6_TCLASS");
	want_int(conns[1].fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF");
}

static void check_addrs(void)
{
	for (int c = 0; c < NCONN; c++) {
		same_addr(conns[c].fd, false, &conns[c].self, "a connection's own address");
		same_addr(conns[c].fd, true, &conns[c].peer, "a connection's peer address");
	}
}

static void save_addrs(void)
{
	for (int c = 0; c < NCONN; c++) {
		socklen_t a = sizeof(conns[c].self), b = sizeof(conns[c].peer);

		memset(&conns[c].self, 0, a);
		memset(&conns[c].peer, 0, b);
		chk(getsockname(conns[c].fd, (void *)&conns[c].self, &a), "getsockname");
		chk(getpeername(conns[c].fd, (void *)&conns[c].peer, &b), "getpeername");
	}
}

/* The child: each "go" byte on its pipe is a round. */
static void child(void)
{
	char go;

	for (int c = 0; c < NCONN; c++) {
		int fam = cfam[c];
		struct sockaddr_storage to;

		conns[c].fd = chk(socket(fam, SOCK_STREAM, 0), "socket");
		if (c == 1)
			set_int(conns[c].fd, SOL_SOCKET, SO_RCVBUF, 4096, "SO_RCVBUF");
		target(c, &to);
		chk(connect(conns[c].fd, (void *)&to, alen(fam)), "connect");
		if (c == 1 && write(conns[c].fd, "D", 1) != 1)   /* for TCP_DEFER_ACCEPT */
			fail("tcpsk: write: %s\n", strerror(errno));
	}
	save_addrs();
	child_options();
	for (;;) {
		ssize_t r = read(go_pipe[0], &go, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1)
			_exit(0);
		check_addrs();
		check_child_options();
		for (int c = 0; c < NCONN; c++) {
			uint64_t before = conns[c].in;

			/* the parent's bytes, echoed; then ours, left unread */
			take_stream(conns[c].fd, 0, c, &conns[c].in, ROUND, conns[c].fd, &conns[c].out);
			if (conns[c].in != before + ROUND)
				fail("tcpsk: child connection %d: short round\n", c);
			put_stream(conns[c].fd, 1, c, &conns[c].out, EXTRA);
		}
		if (write(ok_pipe[1], "k", 1) != 1)
			fail("tcpsk: ok pipe: %s\n", strerror(errno));
	}
}

/* Stream 1 (the child's) interleaves its extra bytes and the echo of
 * stream 0: the parent checks it against both, in the order written. */
static uint64_t echo_pos[NCONN], extra_pos[NCONN];

static void take_mixed(int c, size_t extra_first)
{
	unsigned char buf[4096];
	size_t n = extra_first;

	/* the child's extra bytes of the round before */
	while (n) {
		ssize_t r = read(conns[c].fd, buf, n < sizeof(buf) ? n : sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("tcpsk: parent connection %d: read: %s\n", c, r ? strerror(errno) : "end of stream");
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != sbyte(1, c, extra_pos[c] + i))
				fail("tcpsk: connection %d: child byte %llu is %#x, want %#x\n", c,
				     (unsigned long long)(extra_pos[c] + i), buf[i], sbyte(1, c, extra_pos[c] + i));
		extra_pos[c] += (uint64_t)r;
		n -= (size_t)r;
	}
	/* then the echo of this round's bytes of ours */
	take_stream(conns[c].fd, 0, c, &echo_pos[c], ROUND, -1, NULL);
	checked += extra_first + ROUND;
}

/* A connection whose client end shut its reading side: it still reads
 * EOF, poll says so, and it still sends. What it sends stays unread in the
 * accepted end, which so never closes with a FIN: no TIME_WAIT holds the
 * listener's port when the workload is killed in the host's network. */
static int shut_cl, shut_sv, shut_sent;

static void shut_pair(void)
{
	shut_cl = chk(socket(AF_INET, SOCK_STREAM, 0), "socket");
	chk(connect(shut_cl, (void *)&laddr[0], alen(AF_INET)), "connect");
	shut_sv = chk(accept(lsk[0], NULL, NULL), "accept");
	chk(shutdown(shut_cl, SHUT_RD), "shutdown(SHUT_RD)");
}

static void check_shut_pair(void)
{
	struct pollfd p = { .fd = shut_cl, .events = POLLRDHUP };
	int queued = -1;
	char b = 0;

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLRDHUP))
		fail("tcpsk: a connection shut for reading no longer is (revents %#x)\n", p.revents);
	if (recv(shut_cl, &b, 1, MSG_DONTWAIT) != 0)
		fail("tcpsk: a connection shut for reading does not read EOF\n");
	if (write(shut_cl, "s", 1) != 1)
		fail("tcpsk: a connection shut for reading no longer sends: %s\n", strerror(errno));
	shut_sent++;
	for (int i = 0; i < 100 && queued != shut_sent; i++) {
		if (i)
			usleep(10000);
		chk(ioctl(shut_sv, FIONREAD, &queued), "FIONREAD");
	}
	if (queued != shut_sent)
		fail("tcpsk: %d bytes sent on a connection shut for reading, %d arrived\n", shut_sent, queued);
}

static void round_trip(void)
{
	char k;

	check_addrs();
	check_parent_options();
	want_int(conns[2].fd, SOL_SOCKET, SO_PEEK_OFF, rounds ? PEEKED : 0, "SO_PEEK_OFF");
	check_shut_pair();
	check_listeners();
	if (write(go_pipe[1], "g", 1) != 1)
		fail("tcpsk: go pipe: %s\n", strerror(errno));
	for (int c = 0; c < NCONN; c++) {
		take_mixed(c, rounds ? EXTRA : 0);
		/* the extra bytes share the child's stream positions with the echo */
		extra_pos[c] += ROUND;
	}
	for (;;) {
		ssize_t r = read(ok_pipe[0], &k, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1)
			fail("tcpsk: the child did not finish its round\n");
		break;
	}
	rounds++;
	/* peek at the child's extra bytes: SO_PEEK_OFF moves past them, and a
	 * checkpoint must still save them from the start of the queue */
	if (recv(conns[2].fd, peeked, PEEKED, MSG_PEEK | MSG_WAITALL) != PEEKED)
		fail("tcpsk: MSG_PEEK: %s\n", strerror(errno));
	/* leave bytes in flight both ways: ours unread by the child, the
	 * child's extra unread by us */
	for (int c = 0; c < NCONN; c++)
		put_stream(conns[c].fd, 0, c, &conns[c].out, ROUND);
}

/* What the checkpoint refuses, kept open beside the rest. */
static int extra_fds[2];

static void refused_state(const char *mode)
{
	int fd;

	if (!strcmp(mode, "pending")) {
		fd = chk(socket(AF_INET, SOCK_STREAM, 0), "socket");
		chk(connect(fd, (void *)&laddr[0], alen(AF_INET)), "connect");
		if (write(fd, "p", 1) != 1)
			fail("tcpsk: write to a pending connection: %s\n", strerror(errno));
		extra_fds[0] = fd;
		pending_mode = true;
	} else if (!strcmp(mode, "closewait")) {
		fd = chk(socket(AF_INET, SOCK_STREAM, 0), "socket");
		chk(connect(fd, (void *)&laddr[0], alen(AF_INET)), "connect");
		extra_fds[0] = chk(accept(lsk[0], NULL, NULL), "accept");
		close(fd);
		usleep(100000);
	} else {
		fail("usage: tcpsk [pending|closewait]\n");
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	socklen_t len = sizeof(defer_accept_value);

	signal(SIGPIPE, SIG_IGN);
	/* before the fork: SIGUSR2 may reach the child too */
	chk(sigaction(SIGUSR2, &sa, NULL), "sigaction");
	listeners();
	chk(getsockopt(lsk[1], IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_accept_value, &len), "TCP_DEFER_ACCEPT");
	chk(pipe(go_pipe), "pipe");
	chk(pipe(ok_pipe), "pipe");
	kid = chk(fork(), "fork");
	if (kid == 0) {
		close(go_pipe[1]);
		close(ok_pipe[0]);
		child();
	}
	close(go_pipe[0]);
	close(ok_pipe[1]);
	for (int c = 0; c < NCONN; c++) {
		char d;

		conns[c].fd = chk(accept(lsk[c], NULL, NULL), "accept");
		if (c == 1 && read(conns[c].fd, &d, 1) != 1)
			fail("tcpsk: the deferred byte: %s\n", strerror(errno));
	}
	save_addrs();
	parent_options();
	shut_pair();
	if (argc > 1)
		refused_state(argv[1]);
	/* the first bytes in flight */
	for (int c = 0; c < NCONN; c++)
		put_stream(conns[c].fd, 0, c, &conns[c].out, ROUND);
	say("READY tcpsk v4:%d v6:%d dual:%d\n", ntohs(((struct sockaddr_in *)&laddr[0])->sin_port),
	    ntohs(((struct sockaddr_in6 *)&laddr[1])->sin6_port), ntohs(((struct sockaddr_in6 *)&laddr[2])->sin6_port));
	for (;;) {
		int st;

		pause();
		if (waitpid(kid, &st, WNOHANG) == kid)
			fail("tcpsk: the child ended (status %#x)\n", st);
		if (got_usr2) {
			got_usr2 = 0;
			round_trip();
			say("PASS tcpsk rounds=%llu bytes=%llu\n", (unsigned long long)rounds, (unsigned long long)checked);
		}
	}
}
