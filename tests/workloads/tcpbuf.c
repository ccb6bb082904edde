// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpbuf: TCP connections whose program sized their buffers, with both
 * queues full, over 127.0.0.1 in one process.
 *
 * One connection per setting (MSS 1400, as on Ethernet): SO_SNDBUF of 4, 64 and 128 KiB on one end,
 * SO_RCVBUF of 4, 64 and 128 KiB on one end, both at 128 KiB on one end.
 * Each end writes its stream (byte i a function of i, the connection and
 * the direction) without blocking until the kernel takes no more (or
 * CAP bytes, for an end TCP sized by itself, which may hold megabytes),
 * and nobody reads: where the program sized a buffer, the queues behind
 * it are full, both ways. On SIGUSR2: the sizes the program set read as they did
 * (getsockopt SO_SNDBUF, SO_RCVBUF) and every end's SO_BUF_LOCK as it did
 * (locked only where the program set a size); then each end reads all its
 * peer wrote, checking every byte in order, and both fill again.
 *
 * "PASS tcpbuf rounds=<n> bytes=<checked>". */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif

struct spec {
	int snd, rcv;   /* what the program asks for on end 0; 0: nothing */
};

static const struct spec specs[] = {
	{ 4 << 10, 0 }, { 64 << 10, 0 }, { 128 << 10, 0 },
	{ 0, 4 << 10 }, { 0, 64 << 10 }, { 0, 128 << 10 },
	{ 128 << 10, 128 << 10 },
};
#define NCONN (sizeof(specs) / sizeof(specs[0]))
#define CAP (1u << 20)   /* bytes in flight one way, at most */
/* an Ethernet-sized MSS: on loopback's (64 KiB) a 4 KiB receive buffer
 * never opens a segment's worth of window, and bytes crawl in on window
 * probes */
#define MSS 1400

struct conn {
	int fd[2];
	int snd, rcv;          /* end 0's sizes as read once set */
	int locks[2];          /* SO_BUF_LOCK of each end */
	uint64_t out[2], in[2]; /* stream of end i: written by i, checked at 1 - i */
};

static struct conn conns[NCONN];
static uint64_t rounds, checked;

static uint8_t stream_byte(size_t c, int dir, uint64_t pos)
{
	return (uint8_t)(pos * 131 + (pos >> 9) + c * 29 + (unsigned)dir * 71);
}

static int get_int(int fd, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
		fail("getsockopt %d: %s\n", opt, strerror(errno));
	return v;
}

static void set_int(int fd, int opt, int v)
{
	if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0)
		fail("setsockopt %d: %s\n", opt, strerror(errno));
}

/* Writes end dir's stream until the kernel takes nothing for a while. */
static void fill_one(size_t c, int dir)
{
	struct conn *k = &conns[c];
	uint8_t buf[16384];
	int idle = 0;
	uint64_t end = k->out[dir] + CAP;

	while (idle < 5 && k->out[dir] < end) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = stream_byte(c, dir, k->out[dir] + i);
		size_t len = end - k->out[dir] < sizeof(buf) ? (size_t)(end - k->out[dir]) : sizeof(buf);
		ssize_t n = send(k->fd[dir], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			k->out[dir] += (uint64_t)n;
			idle = 0;
		} else if (n < 0 && errno == EAGAIN) {
			idle++;
			usleep(20000);
		} else {
			fail("conn %zu: send: %s\n", c, n < 0 ? strerror(errno) : "0");
		}
	}
}

/* Reads what end dir's stream has for us at the other end, every byte
 * checked; returns the bytes still to come. */
static uint64_t read_one(size_t c, int dir)
{
	struct conn *k = &conns[c];
	uint8_t buf[16384];
	uint64_t want = k->out[dir] - k->in[dir];
	ssize_t n;

	if (!want)
		return 0;
	n = recv(k->fd[1 - dir], buf, want < sizeof(buf) ? want : sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return want;
	if (n <= 0)
		fail("conn %zu dir %d: recv: %s\n", c, dir, n < 0 ? strerror(errno) : "EOF");
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != stream_byte(c, dir, k->in[dir] + (uint64_t)i))
			fail("conn %zu dir %d: byte %llu differs\n", c, dir, (unsigned long long)(k->in[dir] + (uint64_t)i));
	k->in[dir] += (uint64_t)n;
	checked += (uint64_t)n;
	return want - (uint64_t)n;
}

/* Every stream read to its end, all at once: a sender restored behind a
 * closed window resends on its retransmission timer, which backs off
 * while its receiver waits its turn. */
static void drain(void)
{
	struct pollfd p[NCONN * 2];
	uint64_t left;
	int idle_ms = 0;

	for (;;) {
		left = 0;
		for (size_t c = 0; c < NCONN; c++)
			for (int dir = 0; dir < 2; dir++) {
				uint64_t l = read_one(c, dir);

				p[c * 2 + dir] = (struct pollfd){ .fd = l ? conns[c].fd[1 - dir] : -1, .events = POLLIN };
				left += l;
			}
		if (!left)
			return;
		int np = poll(p, NCONN * 2, 1000);

		if (np < 0 && errno != EINTR)
			fail("poll: %s\n", strerror(errno));
		idle_ms = np > 0 ? 0 : idle_ms + 1000;
		if (idle_ms > 40000)
			fail("%llu bytes did not arrive\n", (unsigned long long)left);
	}
}

static void setup(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, NCONN) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) < 0)
		fail("listener: %s\n", strerror(errno));
	for (size_t c = 0; c < NCONN; c++) {
		struct conn *k = &conns[c];
		int mss = MSS;

		k->fd[0] = socket(AF_INET, SOCK_STREAM, 0);
		if (k->fd[0] < 0 || setsockopt(k->fd[0], IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) < 0 || connect(k->fd[0], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    (k->fd[1] = accept(l, NULL, NULL)) < 0)
			fail("conn %zu: %s\n", c, strerror(errno));
		if (specs[c].snd)
			set_int(k->fd[0], SO_SNDBUF, specs[c].snd);
		if (specs[c].rcv)
			set_int(k->fd[0], SO_RCVBUF, specs[c].rcv);
		k->snd = get_int(k->fd[0], SO_SNDBUF);
		k->rcv = get_int(k->fd[0], SO_RCVBUF);
		for (int e = 0; e < 2; e++)
			k->locks[e] = get_int(k->fd[e], SO_BUF_LOCK);
		if (k->locks[0] != ((specs[c].snd ? 1 : 0) | (specs[c].rcv ? 2 : 0)) || k->locks[1])
			fail("conn %zu: SO_BUF_LOCK %d/%d before any checkpoint\n", c, k->locks[0], k->locks[1]);
	}
	close(l);
}

static void fill(void)
{
	for (size_t c = 0; c < NCONN; c++)
		for (int dir = 0; dir < 2; dir++)
			fill_one(c, dir);
}

static void verify(void)
{
	for (size_t c = 0; c < NCONN; c++) {
		struct conn *k = &conns[c];
		int snd = get_int(k->fd[0], SO_SNDBUF), rcv = get_int(k->fd[0], SO_RCVBUF);

		if (specs[c].snd && snd != k->snd)
			fail("conn %zu: SO_SNDBUF %d, was %d\n", c, snd, k->snd);
		if (specs[c].rcv && rcv != k->rcv)
			fail("conn %zu: SO_RCVBUF %d, was %d\n", c, rcv, k->rcv);
		for (int e = 0; e < 2; e++)
			if (get_int(k->fd[e], SO_BUF_LOCK) != k->locks[e])
				fail("conn %zu end %d: SO_BUF_LOCK %d, was %d\n", c, e, get_int(k->fd[e], SO_BUF_LOCK), k->locks[e]);
	}
	drain();
	rounds++;
	fill();
	say("PASS tcpbuf rounds=%llu bytes=%llu\n", (unsigned long long)rounds, (unsigned long long)checked);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2 };
	uint64_t queued = 0;

	sigaction(SIGUSR2, &sa, NULL);
	setup();
	fill();
	for (size_t c = 0; c < NCONN; c++)
		queued += conns[c].out[0] + conns[c].out[1];
	say("READY tcpbuf connections=%zu queued=%llu\n", NCONN, (unsigned long long)queued);
	for (;;) {
		if (got_usr2) {
			got_usr2 = 0;
			verify();
		}
		usleep(50000);
	}
}
