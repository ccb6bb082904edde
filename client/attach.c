// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl attach: connect this terminal to a container's console.
 *
 * ckptd hands over a copy of the console pty's master (SCM_RIGHTS); from
 * then on ckptctl alone relays bytes between it and its own stdin/stdout,
 * in raw mode when stdin is a terminal, and passes its window size on at
 * once and at every SIGWINCH. Ctrl-] detaches (the byte is not sent on);
 * so does the end of stdin. The container runs on either way: ckptd keeps
 * the master. When the console's slave is closed (the container ended or
 * was checkpointed), attach ends too. */
#include "ckptctl.h"
#include "macro.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>

#define DETACH_KEY 0x1d   /* Ctrl-] */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (w <= 0)
			return -errno;
		p += w;
		n -= w;
	}
	return 0;
}

static void pass_winsize(int master)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* stdin to the master, up to the detach key: 1 once detached. */
static int from_stdin(struct ctl *c, int master)
{
	char buf[4096], *k;
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return n < 0 ? ctl_fail(c, negerrno(), "reading stdin: %m") : 1;
	k = memchr(buf, DETACH_KEY, n);
	if (write_all(master, buf, k ? (size_t)(k - buf) : (size_t)n) < 0)
		return ctl_fail(c, negerrno(), "writing to the console: %m");
	return k != NULL;
}

/* The master to stdout: 1 once the console's slave is gone. */
static int to_stdout(struct ctl *c, int master)
{
	char buf[4096];
	ssize_t n = read(master, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)   /* EIO: no process holds the slave any more */
		return 1;
	if (write_all(STDOUT_FILENO, buf, n) < 0)
		return ctl_fail(c, negerrno(), "writing to stdout: %m");
	return 0;
}

static int relay(struct ctl *c, int master, int sigfd)
{
	bool in_open = true;
	int r = 0;

	while (r == 0) {
		struct pollfd p[3] = {
			{ .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = master, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return ctl_fail(c, negerrno(), "poll: %m");
		}
		if (p[2].revents & POLLIN) {
			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				;
			pass_winsize(master);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			r = to_stdout(c, master);
		if (r == 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			r = from_stdin(c, master);
	}
	return r < 0 ? r : 0;
}

int verb_attach(struct ctl *c, int argc, char **argv)
{
	_cleanup_close_ int master = -1, sigfd = -1;
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO);
	const char *name = NULL;
	struct winsize ws = {};
	sigset_t mask;
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
		return r;
	if (tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		ws = (struct winsize){};
	if ((r = ctl_connect(c)) < 0 ||
	    (r = ctl_lib(c, ckpt_attach(c->h, name, ws.ws_row, ws.ws_col, &master, &c->derr))) < 0)
		return r;
	/* the console is ours now: no connection to hold */
	ctl_disconnect(c);
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0)
		return ctl_fail(c, negerrno(), "signalfd: %m");
	if (tty) {
		if (tcgetattr(STDIN_FILENO, &saved) < 0)
			return ctl_fail(c, negerrno(), "tcgetattr: %m");
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
			return ctl_fail(c, negerrno(), "tcsetattr: %m");
	}
	fprintf(stderr, "[attached to %s: Ctrl-] detaches]\r\n", name);
	r = relay(c, master, sigfd);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	fprintf(stderr, "\r\n[detached from %s]\n", name);
	return r;
}
