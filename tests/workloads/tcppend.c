// SPDX-License-Identifier: GPL-2.0-or-later
/* tcppend: connections waiting in a listener's accept queue.
 *
 *   tcppend [data|fin]
 *
 * The server (this process) listens on 127.0.0.1 and [::1] (ports the
 * kernel picks) and forks a client process, which connects five times,
 * 25 ms apart, alternating listeners (0, 1, 0, 1, 0), each from a port
 * lower than the one before: three wait in the
 * IPv4 listener's accept queue, two in the IPv6 one's, none accepted
 * until the first verification. The client tells the server each
 * connection's port, in the order it connected. "data": the third
 * connection also sends "early\n" before READY (a connection that
 * received bytes while it waited, which a checkpoint refuses). "fin": the
 * fourth connection (IPv6) shuts its writing side before READY: it waits
 * in the queue with its peer's FIN (CLOSE_WAIT), its client in FIN_WAIT2.
 *
 * SIGUSR2, the first time: each listener's queue holds its connections
 * (TCP_INFO), the server accepts them and each comes from the port of the
 * connection made in that place of the order; the data one has "early\n"
 * to read first. Every SIGUSR2 then runs a round on each connection: the
 * server sends 4096 bytes (byte n a function of the connection, the round
 * and n), the client checks them and sends them back, the server checks
 * the echo; the client also checks that its ends' addresses are those of
 * before. The half-closed one of "fin" reads EOF once accepted and after
 * each round; its client checks the round and tells the server so on a
 * pipe instead of echoing it. "PASS tcppend rounds=<n> conns=5
 * bytes=<checked>". */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wl.h"

#define NCONN 5
#define NLSN 2
#define ROUND_BYTES 4096
#define EARLY "early\n"
#define DATA_CONN 2
#define FIN_CONN 3
#define CLIENT_PORT 45100

static const int conn_lsn[NCONN] = { 0, 1, 0, 1, 0 };
static int lsk[NLSN];
static struct sockaddr_storage laddr[NLSN];
static uint16_t conn_port[NCONN];     /* each connection's client port, in connect order */
static int srv[NCONN];                /* the server's accepted ends, by connect order */
static bool data_mode, fin_mode;
static int ack_rd = -1;               /* fin: the client's word that it checked a round */

static bool half_closed(int i)
{
	return fin_mode && i == FIN_CONN;
}

static int chk(int r, const char *what)
{
	if (r < 0)
		fail("tcppend: %s: %s\n", what, strerror(errno));
	return r;
}

static socklen_t alen(int fam)
{
	return fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static uint8_t pattern(int conn, uint64_t round, size_t n)
{
	return (uint8_t)(conn * 131 + round * 29 + n * 7 + (n >> 8));
}

static void full_io(int fd, void *buf, size_t len, bool out, const char *what)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = out ? write(fd, (char *)buf + off, len - off) : read(fd, (char *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("tcppend: %s: %s\n", what, n ? strerror(errno) : "end of stream");
		off += (size_t)n;
	}
}

/* Each client end its own port, lower for each later one: the queue's
 * order is not the ports'. The container's network is its own. */
static void bind_port(int fd, int fam, uint16_t port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)fam };

	if (fam == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	}
	chk(bind(fd, (struct sockaddr *)&ss, alen(fam)), "binding a client end");
}

/* The client: connects, reports its ports, then echoes rounds. */
static void client(int report)
{
	struct sockaddr_storage self[NCONN], peer[NCONN];
	uint64_t rounds[NCONN] = { 0 };
	static uint8_t buf[NCONN][ROUND_BYTES];
	size_t got[NCONN] = { 0 };
	int cl[NCONN];

	signal(SIGUSR2, SIG_IGN);   /* verification is the server's to run */

	for (int i = 0; i < NCONN; i++) {
		int l = conn_lsn[i];
		socklen_t len = sizeof(self[i]);

		cl[i] = chk(socket(laddr[l].ss_family, SOCK_STREAM, 0), "socket");
		bind_port(cl[i], laddr[l].ss_family, (uint16_t)(CLIENT_PORT - 10 * i));
		chk(connect(cl[i], (struct sockaddr *)&laddr[l], alen(laddr[l].ss_family)), "connect");
		chk(getsockname(cl[i], (struct sockaddr *)&self[i], &len), "getsockname");
		len = sizeof(peer[i]);
		chk(getpeername(cl[i], (struct sockaddr *)&peer[i], &len), "getpeername");
		conn_port[i] = port_of(&self[i]);
		if (data_mode && i == DATA_CONN)
			full_io(cl[i], EARLY, strlen(EARLY), true, "early bytes");
		if (half_closed(i))
			chk(shutdown(cl[i], SHUT_WR), "shutdown");
		usleep(25000);   /* the accept queue's order is kept to the kernel's tick */
	}
	full_io(report, conn_port, sizeof(conn_port), true, "reporting the ports");
	if (!fin_mode)
		close(report);
	for (;;) {
		struct pollfd p[NCONN];

		for (int i = 0; i < NCONN; i++)
			p[i] = (struct pollfd){ .fd = cl[i], .events = POLLIN };
		if (poll(p, NCONN, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("tcppend: client poll: %s\n", strerror(errno));
		}
		for (int i = 0; i < NCONN; i++) {
			struct sockaddr_storage a;
			socklen_t len = sizeof(a);
			ssize_t n;

			if (!p[i].revents)
				continue;
			n = read(cl[i], buf[i] + got[i], ROUND_BYTES - got[i]);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				fail("tcppend: client connection %d: %s\n", i, n ? strerror(errno) : "end of stream");
			for (size_t k = got[i]; k < got[i] + (size_t)n; k++)
				if (buf[i][k] != pattern(i, rounds[i], k))
					fail("tcppend: client connection %d round %llu byte %zu: %u, want %u\n", i,
					     (unsigned long long)rounds[i], k, buf[i][k], pattern(i, rounds[i], k));
			got[i] += (size_t)n;
			if (got[i] < ROUND_BYTES)
				continue;
			chk(getsockname(cl[i], (struct sockaddr *)&a, &len), "getsockname");
			if (memcmp(&a, &self[i], alen(a.ss_family)))
				fail("tcppend: client connection %d: its own address changed\n", i);
			len = sizeof(a);
			chk(getpeername(cl[i], (struct sockaddr *)&a, &len), "getpeername");
			if (memcmp(&a, &peer[i], alen(a.ss_family)))
				fail("tcppend: client connection %d: its peer's address changed\n", i);
			if (half_closed(i))
				full_io(report, "k", 1, true, "a round's word");
			else
				full_io(cl[i], buf[i], ROUND_BYTES, true, "echo");
			got[i] = 0;
			rounds[i]++;
		}
	}
}

static void listen_on(int l, int fam)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
	}
	lsk[l] = chk(socket(fam, SOCK_STREAM, 0), "socket");
	chk(bind(lsk[l], (struct sockaddr *)&ss, alen(fam)), "bind");
	chk(listen(lsk[l], 8), "listen");
	chk(getsockname(lsk[l], (struct sockaddr *)&laddr[l], &len), "getsockname");
}

static unsigned queued(int l)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	chk(getsockopt(lsk[l], IPPROTO_TCP, TCP_INFO, &ti, &len), "TCP_INFO");
	return ti.tcpi_unacked;
}

/* The half-closed connection's end of stream: there at once. */
static void expect_eof(int i)
{
	struct pollfd p = { .fd = srv[i], .events = POLLIN | POLLRDHUP };
	char b;
	ssize_t n;

	if (poll(&p, 1, 5000) != 1)
		fail("tcppend: connection %d: no end of stream\n", i);
	n = recv(srv[i], &b, 1, MSG_DONTWAIT);
	if (n != 0)
		fail("tcppend: connection %d: %s where its end of stream was\n", i, n > 0 ? "a byte" : strerror(errno));
}

/* Each listener's queue, accepted: in the order the client connected. */
static void accept_all(void)
{
	unsigned want[NLSN] = { 0 };

	for (int i = 0; i < NCONN; i++)
		want[conn_lsn[i]]++;
	for (int l = 0; l < NLSN; l++)
		if (queued(l) != want[l])
			fail("tcppend: listener %d holds %u connections not accepted, want %u\n", l, queued(l), want[l]);
	for (int i = 0; i < NCONN; i++) {
		struct pollfd p = { .fd = lsk[conn_lsn[i]], .events = POLLIN };
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);

		if (poll(&p, 1, 5000) != 1)
			fail("tcppend: listener %d: no connection to accept for connection %d\n", conn_lsn[i], i);
		srv[i] = chk(accept(lsk[conn_lsn[i]], (struct sockaddr *)&peer, &len), "accept");
		if (port_of(&peer) != conn_port[i])
			fail("tcppend: listener %d accepted port %u where connection %d (port %u) was queued\n",
			     conn_lsn[i], port_of(&peer), i, conn_port[i]);
		if (data_mode && i == DATA_CONN) {
			char b[sizeof(EARLY) - 1];

			full_io(srv[i], b, sizeof(b), false, "early bytes");
			if (memcmp(b, EARLY, sizeof(b)))
				fail("tcppend: connection %d: its early bytes changed\n", i);
		}
		if (half_closed(i))
			expect_eof(i);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2 };
	uint64_t rounds = 0, bytes = 0;
	bool accepted = false;
	int rep[2];
	pid_t kid;

	data_mode = argc > 1 && !strcmp(argv[1], "data");
	fin_mode = argc > 1 && !strcmp(argv[1], "fin");
	if (argc > 1 && !data_mode && !fin_mode)
		fail("usage: tcppend [data|fin]\n");
	listen_on(0, AF_INET);
	listen_on(1, AF_INET6);
	chk(pipe(rep), "pipe");
	kid = chk(fork(), "fork");
	if (!kid) {
		close(rep[0]);
		client(rep[1]);
	}
	close(rep[1]);
	full_io(rep[0], conn_port, sizeof(conn_port), false, "the client's ports");
	if (fin_mode)
		ack_rd = rep[0];
	else
		close(rep[0]);
	sigaction(SIGUSR2, &sa, NULL);
	say("READY tcppend ports %u %u %u %u %u\n", conn_port[0], conn_port[1], conn_port[2], conn_port[3], conn_port[4]);
	for (;;) {
		uint8_t out[ROUND_BYTES], in[ROUND_BYTES];
		int st;

		if (waitpid(kid, &st, WNOHANG) == kid)
			fail("tcppend: the client ended (status %d)\n", st);
		if (!got_usr2) {
			usleep(20000);
			continue;
		}
		got_usr2 = 0;
		if (!accepted)
			accept_all();
		accepted = true;
		for (int i = 0; i < NCONN; i++) {
			for (size_t n = 0; n < ROUND_BYTES; n++)
				out[n] = pattern(i, rounds, n);
			full_io(srv[i], out, sizeof(out), true, "a round");
			if (half_closed(i)) {
				full_io(ack_rd, in, 1, false, "the client's word");
				expect_eof(i);
				bytes += sizeof(out);
				continue;
			}
			full_io(srv[i], in, sizeof(in), false, "an echo");
			if (memcmp(in, out, sizeof(in)))
				fail("tcppend: connection %d round %llu: the echo differs\n", i, (unsigned long long)rounds);
			bytes += 2 * sizeof(in);
		}
		rounds++;
		say("PASS tcppend rounds=%llu conns=%d bytes=%llu\n", (unsigned long long)rounds, NCONN,
		    (unsigned long long)bytes);
	}
}
