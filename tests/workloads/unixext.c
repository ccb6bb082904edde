// SPDX-License-Identifier: GPL-2.0-or-later
/* unixext PATH: a unix stream socket connected to the listener at PATH,
 * outside the container, which sent MSG the workload has not read yet.
 * Checkpointed with --external-unix drop, the peer is taken as gone.
 * SIGUSR2: the socket reads MSG, then EOF, and a write fails with EPIPE,
 * as for a peer that hung up; "PASS unixext". */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wl.h"

#define MSG "hello from outside"

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[64];
	int sk, n;

	if (argc != 2 || strlen(argv[1]) >= sizeof(a.sun_path))
		fail("usage: unixext PATH\n");
	signal(SIGPIPE, SIG_IGN);
	if (sigaction(SIGUSR2, &sa, NULL) < 0)
		fail("unixext: sigaction\n");
	strcpy(a.sun_path, argv[1]);
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (sk < 0 || connect(sk, (void *)&a, sizeof(a)) < 0)
		fail("unixext: connect %s: %s\n", argv[1], strerror(errno));
	/* the peer's bytes are queued before READY */
	for (int i = 0; i < 100; i++) {
		if (recv(sk, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) == (ssize_t)strlen(MSG))
			break;
		usleep(50000);
	}
	if (recv(sk, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) != (ssize_t)strlen(MSG))
		fail("unixext: the peer's bytes did not arrive\n");
	say("READY unixext\n");
	for (;;) {
		pause();
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		n = (int)recv(sk, buf, sizeof(buf), MSG_DONTWAIT);
		if (n != (int)strlen(MSG) || memcmp(buf, MSG, (size_t)n))
			fail("unixext: read %d bytes, not the peer's %zu\n", n, strlen(MSG));
		n = (int)recv(sk, buf, sizeof(buf), MSG_DONTWAIT);
		if (n != 0)
			fail("unixext: after the peer's bytes, %d (%s), not EOF\n", n, strerror(errno));
		if (send(sk, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
			fail("unixext: a write to the peer that hung up did not fail with EPIPE (%s)\n", strerror(errno));
		say("PASS unixext\n");
	}
}
