// SPDX-License-Identifier: GPL-2.0-or-later
/* unixsk: unix sockets across two processes, with data waiting in them.
 *
 * The parent (P) and its child (C) share, one end each:
 *   stream, dgram and seqpacket socketpairs, each holding the messages the
 *     other side sent in the last round (3 per side, of different lengths:
 *     a message boundary lost or moved shows); P's seqpacket end has
 *     SO_PASSCRED (C's messages carry C's pid and uid), P's stream end an
 *     SO_PEEK_OFF of 3 and a 64 KiB SO_SNDBUF; P's first datagram of a
 *     round carries a pipe (SCM_RIGHTS) held by nothing but the message;
 *   a connection accepted from P's listener bound to a path (still
 *     listening): the accepted end (named like the listener) and its
 *     client, data both ways;
 *   a stream pair shut down for writing both ways, "last" left for P;
 *   a datagram socket of P bound to an abstract name, and C's datagram
 *     socket bound to a path and connected to P's: P holds C's datagrams
 *     with C's path as sender.
 * P also holds a listener bound to a path and one with an abstract name,
 * each with one connection of C waiting in its backlog (C sent nothing on
 * it), a pair whose other end was closed after writing "gone", and an
 * unbound, unconnected socket.
 *
 * SIGUSR2 (to P): a round. P reads and checks what waits for it (exact
 * messages, boundaries, sender names, credentials, peek offset, shutdown
 * and EOF without consuming them), accepts the pending connections and
 * greets them; then C, told through a pipe, does the same on its side,
 * reads the greetings, replaces its pending clients and sends the next
 * round; P sends its own, and prints
 * "PASS unixsk rounds=<n> bytes=<total>".
 *
 * "unixsk rights": P also holds a pair with one of its own ends in flight
 * (SCM_RIGHTS: a socket in flight); "unixsk outside PATH": P is also
 * connected to the listener at PATH, outside the container. A checkpoint
 * refuses both. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wl.h"

#define NMSG 3

enum { STREAM, DGRAM, SEQP, ACC, NPAIR };
static const int ptype[NPAIR] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM };
static const char *pname[NPAIR] = { "stream", "dgram", "seqpacket", "accepted" };

static int pe[NPAIR], ce[NPAIR];      /* P's and C's ends */
static int shut_p, shut_c;            /* the shut down pair */
static int ndg_p, ndg_c;              /* named datagram sockets */
static int lpath, lab;               /* listeners */
static int cl_path, cl_abs;           /* C's clients waiting in their backlogs */
static int gone, loose;
static int to_c[2], to_p[2];          /* control pipes */
static char path_l[108], path_acc[108], abs_l[64], abs_dgp[64], abs_dgc[108];
static pid_t child;
static unsigned long rounds, total;

static int chk(int r, const char *what)
{
	if (r < 0)
		fail("unixsk %s: %s\n", what, strerror(errno));
	return r;
}

static socklen_t addr_of(const char *name, struct sockaddr_un *sa)
{
	size_t n = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@')
		sa->sun_path[0] = 0;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '@' ? 0 : 1));
}

static int bound(int type, const char *name)
{
	struct sockaddr_un sa;
	socklen_t len = addr_of(name, &sa);
	int s = chk(socket(AF_UNIX, type, 0), "socket");

	if (name[0] != '@')
		unlink(name);
	chk(bind(s, (struct sockaddr *)&sa, len), name);
	return s;
}

static int client_of(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len = addr_of(name, &sa);
	int s = chk(socket(AF_UNIX, SOCK_STREAM, 0), "socket");

	chk(connect(s, (struct sockaddr *)&sa, len), name);
	return s;
}

/* Message i of round r from side ('P' or 'C') on pair k: lengths 1, 37, 300. */
static size_t msg(char *buf, int side, int k, unsigned long r, int i)
{
	static const size_t len[NMSG] = { 1, 37, 300 };

	for (size_t j = 0; j < len[i]; j++)
		buf[j] = (char)('a' + (side + k * 7 + r * 3 + i * 5 + j) % 26);
	return len[i];
}

/* P's first datagram of a round carries the read end of a pipe holding
 * "fd <round>", whose write end is closed: the pipe lives in flight only. */
static bool carries_fd(int side, int k, int i)
{
	return side == 'P' && k == DGRAM && i == 0;
}

static void send_round(int side, const int *ends, unsigned long r)
{
	union { struct cmsghdr a; char b[CMSG_SPACE(sizeof(int))]; } ctl;
	char buf[512], token[32];
	int p[2] = { -1, -1 };

	for (int k = 0; k < NPAIR; k++)
		for (int i = 0; i < NMSG; i++) {
			struct iovec iov = { buf, msg(buf, side, k, r, i) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

			if (carries_fd(side, k, i)) {
				struct cmsghdr *c;

				chk(pipe(p), "pipe");
				snprintf(token, sizeof(token), "fd %lu", r);
				chk((int)write(p[1], token, strlen(token)), "pipe write");
				close(p[1]);
				mh.msg_control = ctl.b;
				mh.msg_controllen = sizeof(ctl.b);
				c = CMSG_FIRSTHDR(&mh);
				c->cmsg_level = SOL_SOCKET;
				c->cmsg_type = SCM_RIGHTS;
				c->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(c), &p[0], sizeof(int));
			}
			if (chk(sendmsg(ends[k], &mh, MSG_NOSIGNAL), pname[k]) != (ssize_t)iov.iov_len)
				fail("unixsk %s: short send\n", pname[k]);
			if (p[0] >= 0)
				close(p[0]);
			p[0] = -1;
		}
}

/* The pipe that came with a datagram: "fd <r>", then EOF. */
static void check_passed(struct msghdr *mh, unsigned long r)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(mh);
	char want[32], got[32];
	ssize_t n;
	int fd;

	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		fail("unixsk dgram: no file came with the first datagram of round %lu\n", r);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	snprintf(want, sizeof(want), "fd %lu", r);
	n = read(fd, got, sizeof(got));
	if (n != (ssize_t)strlen(want) || memcmp(got, want, n) || read(fd, got, 1) != 0)
		fail("unixsk dgram: the pipe in flight held %zd bytes, not \"%s\" then EOF\n", n, want);
	close(fd);
}

static void recv_exact(int fd, char *buf, size_t n, const char *what)
{
	size_t done = 0;

	while (done < n) {
		ssize_t m = recv(fd, buf + done, n - done, MSG_DONTWAIT);

		if (m <= 0)
			fail("unixsk %s: %zu of %zu bytes waiting (%s)\n", what, done, n, m < 0 ? strerror(errno) : "EOF");
		done += m;
	}
}

/* What the other side sent in round r waits on ends, exactly. */
static void check_round(int from, const int *ends, unsigned long r, bool creds)
{
	char want[512], got[600];

	for (int k = 0; k < NPAIR; k++) {
		size_t all = 0;

		for (int i = 0; i < NMSG; i++)
			all += msg(want, from, k, r, i);
		if (ptype[k] == SOCK_STREAM) {
			char *cat = got;

			recv_exact(ends[k], got, all, pname[k]);
			for (int i = 0; i < NMSG; i++) {
				size_t n = msg(want, from, k, r, i);

				if (memcmp(cat, want, n))
					fail("unixsk %s: round %lu bytes differ\n", pname[k], r);
				cat += n;
			}
		} else {
			for (int i = 0; i < NMSG; i++) {
				union { struct cmsghdr a; char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))]; } ctl;
				size_t n = msg(want, from, k, r, i);
				struct iovec iov = { got, sizeof(got) };
				struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
				ssize_t m = recvmsg(ends[k], &mh, MSG_DONTWAIT);
				struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
				struct ucred uc;

				if (m != (ssize_t)n || memcmp(got, want, n))
					fail("unixsk %s: message %d of round %lu: %zd bytes, want %zu (%s)\n", pname[k], i, r, m, n,
					     m < 0 ? strerror(errno) : "boundary or bytes");
				if (carries_fd(from, k, i))
					check_passed(&mh, r);
				if (!creds || k != SEQP)
					continue;
				if (!c || c->cmsg_type != SCM_CREDENTIALS)
					fail("unixsk seqpacket: no credentials with message %d\n", i);
				memcpy(&uc, CMSG_DATA(c), sizeof(uc));
				if (uc.pid != child || uc.uid != getuid() || uc.gid != getgid())
					fail("unixsk seqpacket: credentials pid %d uid %d gid %d, want %d %d %d\n", uc.pid, uc.uid, uc.gid,
					     child, getuid(), getgid());
			}
		}
		if (recv(ends[k], got, 1, MSG_DONTWAIT | MSG_PEEK) != -1 || errno != EAGAIN)
			fail("unixsk %s: more than round %lu waits\n", pname[k], r);
		total += all;
	}
}

/* The shut pair: the reader's side has "last" (or nothing) then EOF, and
 * neither side can send; checked without consuming. */
static void check_shut(int fd, const char *left)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char buf[16];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);

	if (n != (ssize_t)strlen(left) || memcmp(buf, left, n))
		fail("unixsk shut: peeked %zd bytes, want \"%s\"\n", n, left);
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLRDHUP))
		fail("unixsk shut: no POLLRDHUP (%#x)\n", p.revents);
	if (send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE)
		fail("unixsk shut: send was not refused with EPIPE\n");
}

static void check_name(int fd, bool peer, const char *want, const char *what)
{
	struct sockaddr_un sa, w;
	socklen_t len = sizeof(sa), wlen = addr_of(want, &w);

	memset(&sa, 0, sizeof(sa));
	chk(peer ? getpeername(fd, (struct sockaddr *)&sa, &len) : getsockname(fd, (struct sockaddr *)&sa, &len), what);
	if (want[0] != '@')
		wlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(want) + 1);
	if (len != wlen || memcmp(sa.sun_path, w.sun_path, len - offsetof(struct sockaddr_un, sun_path)))
		fail("unixsk %s: name is not %s\n", what, want);
}

/* C's datagrams, from its abstract name, wait on P's named socket. */
static void check_named_dgrams(unsigned long r)
{
	char buf[64], want[64];

	for (int i = 0; i < 2; i++) {
		struct sockaddr_un from, w;
		socklen_t flen = sizeof(from), wlen = addr_of(abs_dgc, &w);
		ssize_t n;

		n = recvfrom(ndg_p, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
		snprintf(want, sizeof(want), "dgram %lu/%d", r, i);
		if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
			fail("unixsk named dgram %d of round %lu: %zd bytes\n", i, r, n);
		if (flen != wlen || memcmp(from.sun_path, w.sun_path, wlen - offsetof(struct sockaddr_un, sun_path)))
			fail("unixsk named dgram: not from %s\n", abs_dgc);
		total += n;
	}
	if (recv(ndg_p, buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("unixsk named dgram: more than 2 waiting\n");
}

static void send_named_dgrams(unsigned long r)
{
	char buf[64];

	for (int i = 0; i < 2; i++) {
		snprintf(buf, sizeof(buf), "dgram %lu/%d", r, i);
		chk(send(ndg_c, buf, strlen(buf), 0), "named dgram send");
	}
}

/* P: exactly one connection waits in l: accept it and greet it. */
static void accept_one(int l, const char *what)
{
	char buf[32];
	int a = chk(accept4(l, NULL, NULL, SOCK_NONBLOCK), what);

	if (accept4(l, NULL, NULL, SOCK_NONBLOCK) != -1 || errno != EAGAIN)
		fail("unixsk %s: more than one connection was waiting (%s)\n", what, strerror(errno));
	snprintf(buf, sizeof(buf), "hello %lu", rounds + 1);
	chk(send(a, buf, strlen(buf), MSG_NOSIGNAL), what);
	close(a);
}

static void greeted(int c, unsigned long r, const char *what)
{
	char buf[32], want[32];
	ssize_t n;

	snprintf(want, sizeof(want), "hello %lu", r);
	n = recv(c, buf, sizeof(buf), 0);
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		fail("unixsk %s: the accepted connection said %zd bytes, not \"%s\"\n", what, n, want);
}

static void child_main(void)
{
	unsigned long r;

	for (;;) {
		ssize_t n = read(to_c[0], &r, sizeof(r));

		if (n == 0)
			_exit(0);
		if (n != sizeof(r))
			fail("unixsk child: control pipe: %s\n", strerror(errno));
		if (r) {   /* a round: P's round r-1 waits here */
			check_round('P', ce, r - 1, false);
			check_shut(shut_c, "");
			check_name(ce[ACC], true, path_acc, "accepted end's client");
			greeted(cl_path, r, "path listener");
			greeted(cl_abs, r, "abstract listener");
			close(cl_path);
			close(cl_abs);
			cl_path = client_of(path_l);
			cl_abs = client_of(abs_l);
		}
		send_round('C', ce, r);
		send_named_dgrams(r);
		chk((int)write(to_p[1], &r, sizeof(r)), "control pipe");
	}
}

static void wait_child(unsigned long r)
{
	unsigned long got;

	chk((int)write(to_c[1], &r, sizeof(r)), "control pipe");
	if (read(to_p[0], &got, sizeof(got)) != sizeof(got) || got != r)
		fail("unixsk: the child did not finish round %lu\n", r);
}

static void set_peek_off(void)
{
	int v = 3;

	chk(setsockopt(pe[STREAM], SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)), "SO_PEEK_OFF");
}

/* P's stream end: SO_PEEK_OFF 3 holds, and peeks from there. */
static void check_peek_off(unsigned long r)
{
	char want[8], buf[8];
	int v = -1;
	socklen_t len = sizeof(v);

	chk(getsockopt(pe[STREAM], SOL_SOCKET, SO_PEEK_OFF, &v, &len), "SO_PEEK_OFF");
	if (v != 3)
		fail("unixsk stream: SO_PEEK_OFF is %d, not 3\n", v);
	msg(want, 'C', STREAM, r, 1);   /* bytes 3.. of the round: message 1 from its 3rd byte */
	if (recv(pe[STREAM], buf, 4, MSG_PEEK | MSG_DONTWAIT) != 4 || memcmp(buf, want + 2, 4))
		fail("unixsk stream: a peek at offset 3 saw other bytes\n");
	v = 0;
	chk(setsockopt(pe[STREAM], SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)), "SO_PEEK_OFF");
	v = -1;
	chk(setsockopt(pe[STREAM], SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)), "SO_PEEK_OFF");
}

static void check_static(void)
{
	int v = 0;
	socklen_t len = sizeof(v);
	struct sockaddr_un sa;

	chk(getsockopt(pe[SEQP], SOL_SOCKET, SO_PASSCRED, &v, &len), "SO_PASSCRED");
	if (!v)
		fail("unixsk seqpacket: SO_PASSCRED is off\n");
	chk(getsockopt(pe[STREAM], SOL_SOCKET, SO_SNDBUF, &v, &len), "SO_SNDBUF");
	if (v != 2 * 65536)
		fail("unixsk stream: SO_SNDBUF is %d\n", v);
	check_name(lpath, false, path_l, "path listener");
	check_name(lab, false, abs_l, "abstract listener");
	check_name(pe[ACC], false, path_acc, "accepted end");
	check_name(ndg_p, false, abs_dgp, "named dgram");
	check_shut(shut_p, "last");
	check_shut(gone, "gone");
	len = sizeof(sa);
	chk(getsockname(loose, (struct sockaddr *)&sa, &len), "unbound socket");
	if (len != sizeof(sa_family_t))
		fail("unixsk: the unbound socket has a name\n");
}

static void setup(void)
{
	int sv[2], i;
	char cwd[64];

	if (!getcwd(cwd, sizeof(cwd)))
		fail("unixsk: getcwd: %s\n", strerror(errno));
	snprintf(path_l, sizeof(path_l), "%s/unixsk-%d.l", cwd, getpid());
	snprintf(path_acc, sizeof(path_acc), "%s/unixsk-%d.a", cwd, getpid());
	snprintf(abs_l, sizeof(abs_l), "@unixsk-%d.l", getpid());
	snprintf(abs_dgp, sizeof(abs_dgp), "@unixsk-%d.dp", getpid());
	snprintf(abs_dgc, sizeof(abs_dgc), "%s/unixsk-%d.dc", cwd, getpid());
	for (i = 0; i < ACC; i++) {
		chk(socketpair(AF_UNIX, ptype[i], 0, sv), "socketpair");
		pe[i] = sv[0];
		ce[i] = sv[1];
	}
	i = 1;
	chk(setsockopt(pe[SEQP], SOL_SOCKET, SO_PASSCRED, &i, sizeof(i)), "SO_PASSCRED");
	i = 65536;
	chk(setsockopt(pe[STREAM], SOL_SOCKET, SO_SNDBUF, &i, sizeof(i)), "SO_SNDBUF");
	/* a connection accepted from a listener that stays open */
	i = bound(SOCK_STREAM, path_acc);
	chk(listen(i, 4), "listen");
	ce[ACC] = client_of(path_acc);
	pe[ACC] = chk(accept(i, NULL, NULL), "accept");
	lpath = bound(SOCK_STREAM, path_l);
	chk(listen(lpath, 8), "listen");
	chk(fcntl(lpath, F_SETFL, O_NONBLOCK), "O_NONBLOCK");
	lab = bound(SOCK_STREAM, abs_l);
	chk(listen(lab, 8), "listen");
	chk(fcntl(lab, F_SETFL, O_NONBLOCK), "O_NONBLOCK");
	chk(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	shut_p = sv[0];
	shut_c = sv[1];
	chk(send(shut_c, "last", 4, 0), "send");
	chk(shutdown(shut_c, SHUT_WR), "shutdown");
	chk(shutdown(shut_p, SHUT_WR), "shutdown");
	chk(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	gone = sv[0];
	chk(send(sv[1], "gone", 4, 0), "send");
	close(sv[1]);
	loose = chk(socket(AF_UNIX, SOCK_STREAM, 0), "socket");
	ndg_p = bound(SOCK_DGRAM, abs_dgp);
	ndg_c = bound(SOCK_DGRAM, abs_dgc);
	{
		struct sockaddr_un sa;
		socklen_t len = addr_of(abs_dgp, &sa);

		chk(connect(ndg_c, (struct sockaddr *)&sa, len), "connect dgram");
	}
	chk(pipe(to_c), "pipe");
	chk(pipe(to_p), "pipe");
}

/* What a checkpoint must refuse, beside the rest. */
static void extra(int argc, char **argv)
{
	union { struct cmsghdr a; char b[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { "f", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int sv[2];

	if (argc < 2)
		return;
	if (!strcmp(argv[1], "outside") && argc > 2) {
		client_of(argv[2]);
		return;
	}
	if (strcmp(argv[1], "rights"))
		fail("usage: unixsk [rights | outside PATH]\n");
	chk(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), "socketpair");
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	chk(sendmsg(sv[0], &mh, 0), "sendmsg SCM_RIGHTS");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2 };

	setup();
	child = chk(fork(), "fork");
	if (!child) {
		signal(SIGUSR2, SIG_IGN);   /* rounds come from P */
		for (int i = 0; i < NPAIR; i++)
			close(pe[i]);
		close(shut_p);
		close(lpath);
		close(lab);
		close(gone);
		close(loose);
		close(ndg_p);
		close(to_c[1]);
		close(to_p[0]);
		cl_path = client_of(path_l);
		cl_abs = client_of(abs_l);
		child_main();
	}
	for (int i = 0; i < NPAIR; i++)
		close(ce[i]);
	close(shut_c);
	close(ndg_c);
	close(to_c[0]);
	close(to_p[1]);
	extra(argc, argv);
	sigaction(SIGUSR2, &sa, NULL);
	wait_child(0);
	send_round('P', pe, 0);
	set_peek_off();
	say("READY unixsk child %d\n", child);
	for (;;) {
		pause();
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		check_static();
		check_peek_off(rounds);
		check_round('C', pe, rounds, true);
		check_named_dgrams(rounds);
		accept_one(lpath, "path listener");
		accept_one(lab, "abstract listener");
		rounds++;
		wait_child(rounds);
		send_round('P', pe, rounds);
		set_peek_off();
		say("PASS unixsk rounds=%lu bytes=%lu\n", rounds, total);
	}
}
