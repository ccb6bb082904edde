// SPDX-License-Identifier: GPL-2.0-or-later
/* ttylines: a pty of the container's devpts in canonical mode with input
 * typed ahead of its reader: complete lines and a partial one waiting.
 *
 * Typed into the master (echo off, VEOL ';', IXON off while typing, on
 * after): "alpha\n", an empty line "\n", an end-of-file on an empty line
 * (^D), "beta" ended by ^D, "ga\0mma\n" (a NUL inside), "delta;" (ended
 * by VEOL), then the partial line "par" ^V "\n" "t" ^Q (a quoted newline
 * that ends no line, a flow control character typed while IXON was off).
 * SIGUSR2: the slave's reader reads, one read() a line, exactly those lines
 * with the same boundaries (a read of 0 for the end-of-file), then nothing
 * more is complete; typing "ial\n" completes the partial line as one line
 * "par\nt^Qial\n"; the master holds no output (nothing was echoed again);
 * then it types everything again for the next check:
 * "PASS ttylines n=<checks> pts=<index>". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>

#include "wl.h"

static const struct {
	const char *s;
	size_t len;
} LINES[] = {
	{ "alpha\n", 6 }, { "\n", 1 }, { "", 0 }, { "beta", 4 }, { "ga\0mma\n", 7 }, { "delta;", 6 },
};
static const char TYPED[] = "alpha\n\n\4beta\4ga\0mma\ndelta;par\26\nt\21";
static const char PARTIAL_DONE[] = "par\nt\21ial\n";

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void set_termios(int s, bool ixon)
{
	struct termios t;

	if (tcgetattr(s, &t))
		fail("tcgetattr: %m\n");
	t.c_lflag |= ICANON | IEXTEN;
	t.c_lflag &= ~(ECHO | ECHONL);
	t.c_cc[VEOL] = ';';
	t.c_iflag = ixon ? (t.c_iflag | IXON) : (t.c_iflag & ~IXON);
	if (tcsetattr(s, TCSANOW, &t))
		fail("tcsetattr: %m\n");
}

/* Type the lines, and wait until the slave has them all. */
static void type_ahead(int m, int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	int n = 0, want = 0;

	for (size_t i = 0; i < sizeof(LINES) / sizeof(LINES[0]); i++)
		want += LINES[i].len;
	set_termios(s, false);
	if (write(m, TYPED, sizeof(TYPED) - 1) != sizeof(TYPED) - 1)
		fail("typing: %m\n");
	for (int i = 0; i < 2000; i++) {
		if (ioctl(s, TIOCINQ, &n))
			fail("TIOCINQ: %m\n");
		poll(&p, 1, 0);
		if (n == want && (p.revents & POLLIN))
			break;
		sleep_ms(1);
	}
	if (n != want)
		fail("typed lines: %d bytes of complete lines, not %d\n", n, want);
	/* the partial line is in once a poll finds no more lines: wait for it */
	sleep_ms(20);
	set_termios(s, true);
}

static void check(int m, int s)
{
	char buf[4096];
	struct pollfd p = { .fd = m, .events = POLLIN };
	ssize_t n;

	for (size_t i = 0; i < sizeof(LINES) / sizeof(LINES[0]); i++) {
		n = read(s, buf, sizeof(buf));
		if (n < 0)
			fail("line %zu: read: %m\n", i);
		if ((size_t)n != LINES[i].len || memcmp(buf, LINES[i].s, n))
			fail("line %zu: read %zd bytes \"%.*s\", not %zu\n", i, n, (int)(n > 0 ? n : 0), buf, LINES[i].len);
	}
	n = read(s, buf, sizeof(buf));
	if (n >= 0 || errno != EAGAIN)
		fail("after the lines: read %zd (%m), not EAGAIN: the partial line completed, or more lines\n", n);
	if (write(m, "ial\n", 4) != 4)
		fail("typing the rest of the partial line: %m\n");
	for (int i = 0; i < 2000; i++) {
		n = read(s, buf, sizeof(buf));
		if (n >= 0 || errno != EAGAIN)
			break;
		sleep_ms(1);
	}
	if (n != sizeof(PARTIAL_DONE) - 1 || memcmp(buf, PARTIAL_DONE, n))
		fail("the partial line completed as %zd bytes \"%.*s\", not \"par\\nt^Qial\\n\"\n", n, (int)(n > 0 ? n : 0), buf);
	if (poll(&p, 1, 0) != 0)
		fail("the master has output (revents %#x): input was echoed again\n", p.revents);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	unsigned idx, n = 0;
	int m, s, unlock = 0;

	sigaction(SIGUSR2, &sa, NULL);
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) || ioctl(m, TIOCGPTN, &idx))
		fail("ptmx: %m\n");
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (s < 0)
		fail("slave: %m\n");
	type_ahead(m, s);
	say("READY ttylines pts=%u\n", idx);
	for (;;) {
		pause();
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		check(m, s);
		type_ahead(m, s);
		say("PASS ttylines n=%u pts=%u\n", ++n, idx);
	}
}
