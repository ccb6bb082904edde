// SPDX-License-Identifier: GPL-2.0-or-later
/* ptys: three pty pairs of the container's devpts, and a session whose
 * controlling terminal is one of them.
 *
 * A: raw mode (cfmakeraw), a window size with pixels, exclusive mode,
 *    bytes waiting in both directions (input for the slave's reader,
 *    output for the master's).
 * B: the controlling terminal of a child that made its own session; the
 *    child's child leads a process group that is the terminal's foreground
 *    group. Both check every 20 ms that /dev/tty opens (they have a
 *    controlling terminal), their session and group, and the child that the
 *    terminal's session is its own and its foreground group the
 *    grandchild's; each beats into a pipe to the workload.
 * C: canonical mode with output processing (ONLCR), echo off, packet mode,
 *    locked (TIOCSPTLCK) after its slave was opened: a partial input line
 *    waits for the slave's reader, and processed output for the master's.
 * D: raw mode, its slave written (non-blocking) until its master's side is
 *    full: what a console nobody is attached to comes to.
 * SIGUSR2: every pty's termios, window size, packet, lock and exclusive
 * state are as set; A's and C's waiting bytes are exactly there (and put
 * back for the next check); C's partial line completes into one line when
 * a newline follows; B's session and foreground group read from its
 * master; the children are alive and beating:
 * "PASS ptys n=<checks> beats=<child,grandchild> A:<index> B:<index> C:<index> D:<index>/<bytes>". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "wl.h"

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

static const char IN_A[] = "in-A \x01\x02\x7f\r\n raw bytes";
static const char OUT_A[] = "out-A\n\x1b[1m raw \r";
static const char PART_C[] = "part\tial";
static const char OUT_C_WRITTEN[] = "line1\nline2";
static const char OUT_C_READ[] = "line1\r\nline2";

struct pty {
	int m, s;
	unsigned idx;
	struct termios t;
	struct winsize ws;
	int packet, locked, excl;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void open_pty(struct pty *p, const char *what)
{
	char name[64];

	p->m = posix_openpt(O_RDWR | O_NOCTTY);
	if (p->m < 0 || grantpt(p->m) < 0 || unlockpt(p->m) < 0 || ptsname_r(p->m, name, sizeof(name)))
		fail("ptys: %s: posix_openpt: %d\n", what, errno);
	if (ioctl(p->m, TIOCGPTN, &p->idx) < 0)
		fail("ptys: %s: TIOCGPTN: %d\n", what, errno);
	p->s = open(name, O_RDWR | O_NOCTTY);
	if (p->s < 0)
		fail("ptys: %s: open %s: %d\n", what, name, errno);
}

static void set_state(struct pty *p, const char *what)
{
	if (tcsetattr(p->s, TCSANOW, &p->t) < 0 || tcgetattr(p->s, &p->t) < 0 || ioctl(p->m, TIOCSWINSZ, &p->ws) < 0)
		fail("ptys: %s: setting termios and window size: %d\n", what, errno);
	if (p->excl && ioctl(p->s, TIOCEXCL) < 0)
		fail("ptys: %s: TIOCEXCL: %d\n", what, errno);
	if (ioctl(p->m, TIOCPKT, &p->packet) < 0)
		fail("ptys: %s: TIOCPKT: %d\n", what, errno);
	if (p->locked && ioctl(p->m, TIOCSPTLCK, &p->locked) < 0)
		fail("ptys: %s: TIOCSPTLCK: %d\n", what, errno);
}

static void check_state(const struct pty *p, const char *what)
{
	struct termios t;
	struct winsize ws;
	int packet = -1, locked = -1, excl = -1;

	if (tcgetattr(p->s, &t) < 0 || ioctl(p->m, TIOCGWINSZ, &ws) < 0 || ioctl(p->m, TIOCGPKT, &packet) < 0 ||
	    ioctl(p->m, TIOCGPTLCK, &locked) < 0 || ioctl(p->s, TIOCGEXCL, &excl) < 0)
		fail("ptys: %s: reading its state: %d\n", what, errno);
	if (t.c_iflag != p->t.c_iflag || t.c_oflag != p->t.c_oflag || t.c_cflag != p->t.c_cflag || t.c_lflag != p->t.c_lflag ||
	    memcmp(t.c_cc, p->t.c_cc, NCCS) || cfgetospeed(&t) != cfgetospeed(&p->t))
		fail("ptys: %s: termios iflag %#x oflag %#x cflag %#x lflag %#x, want %#x %#x %#x %#x (or c_cc, speed)\n", what,
		     t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, p->t.c_iflag, p->t.c_oflag, p->t.c_cflag, p->t.c_lflag);
	if (memcmp(&ws, &p->ws, sizeof(ws)))
		fail("ptys: %s: window %ux%u (%ux%u px), want %ux%u (%ux%u px)\n", what, ws.ws_row, ws.ws_col, ws.ws_xpixel,
		     ws.ws_ypixel, p->ws.ws_row, p->ws.ws_col, p->ws.ws_xpixel, p->ws.ws_ypixel);
	if (packet != p->packet || locked != p->locked || excl != p->excl)
		fail("ptys: %s: packet %d locked %d exclusive %d, want %d %d %d\n", what, packet, locked, excl, p->packet,
		     p->locked, p->excl);
}

/* Everything fd has to read now (it never blocks: poll first). */
static size_t read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&pfd, 1, 50) <= 0 || !(pfd.revents & POLLIN))
			return n;
		k = read(fd, buf + n, len - n);
		if (k <= 0)
			return n;
		n += k;
	}
}

static void put(int fd, const char *data, size_t len, const char *what)
{
	if (write(fd, data, len) != (ssize_t)len)
		fail("ptys: %s: write: %d\n", what, errno);
}

static void expect(const char *got, size_t n, const char *want, size_t wn, const char *what)
{
	char hex[160] = "";

	if (n == wn && !memcmp(got, want, n))
		return;
	for (size_t i = 0; i < n && i < 48; i++)
		snprintf(hex + 3 * i, 4, "%02x ", (unsigned char)got[i]);
	fail("ptys: %s: read %zu bytes (%s), want %zu\n", what, n, hex, wn);
}

/* B's child and grandchild: their terminal must be there, as set. */
static _Noreturn void ctty_loop(char who, pid_t sid, pid_t fg, int slave, int beat)
{
	for (;;) {
		int fd = open("/dev/tty", O_RDWR | O_NOCTTY);

		if (fd < 0)
			fail("ptys: %c: no controlling terminal: /dev/tty: %d\n", who, errno);
		close(fd);
		if (getsid(0) != sid || (who == 'g' && getpgrp() != getpid()))
			fail("ptys: %c: session %d group %d, want session %d\n", who, getsid(0), getpgrp(), sid);
		if (who == 'c' && (tcgetsid(slave) != sid || tcgetpgrp(slave) != fg))
			fail("ptys: c: terminal's session %d foreground %d, want %d %d\n", tcgetsid(slave), tcgetpgrp(slave), sid, fg);
		if (write(beat, &who, 1) != 1 && errno != EINTR)
			fail("ptys: %c: heartbeat: %d\n", who, errno);
		sleep_ms(20);
	}
}

/* The child: a session of its own with B as its terminal, and a
 * grandchild's group in the foreground. */
static _Noreturn void child_main(const char *name, int beat)
{
	int ready[2], s;
	pid_t gc, me;
	char c;

	if (setsid() < 0)
		fail("ptys: child: setsid: %d\n", errno);
	me = getpid();
	s = open(name, O_RDWR);   /* a session leader's first terminal: its controlling one */
	if (s < 0)
		fail("ptys: child: open %s: %d\n", name, errno);
	if (pipe(ready) < 0)
		fail("ptys: child: pipe: %d\n", errno);
	gc = fork();
	if (gc < 0)
		fail("ptys: child: fork: %d\n", errno);
	if (gc == 0) {
		close(ready[1]);
		setpgid(0, 0);
		/* wait until we are the foreground */
		if (read(ready[0], &c, 1) != 1)
			fail("ptys: grandchild: ready\n");
		close(ready[0]);
		ctty_loop('g', me, getpid(), s, beat);
	}
	close(ready[0]);
	setpgid(gc, gc);
	if (tcsetpgrp(s, gc) < 0)
		fail("ptys: child: tcsetpgrp: %d\n", errno);
	if (write(ready[1], "x", 1) != 1)
		fail("ptys: child: ready: %d\n", errno);
	close(ready[1]);
	ctty_loop('c', me, gc, s, beat);
}

static void check_children(void)
{
	int st;
	pid_t p = waitpid(-1, &st, WNOHANG);

	if (p > 0)
		fail("ptys: child %d died (%s %d)\n", p, WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static void check_a(struct pty *a)
{
	char buf[256];
	size_t n;

	check_state(a, "A");
	n = read_all(a->s, buf, sizeof(buf));
	expect(buf, n, IN_A, sizeof(IN_A) - 1, "A's slave");
	n = read_all(a->m, buf, sizeof(buf));
	expect(buf, n, OUT_A, sizeof(OUT_A) - 1, "A's master");
	put(a->m, IN_A, sizeof(IN_A) - 1, "A's master");
	put(a->s, OUT_A, sizeof(OUT_A) - 1, "A's slave");
}

static void check_c(struct pty *c)
{
	char buf[256], want[64];
	size_t n;

	check_state(c, "C");
	n = read_all(c->m, buf, sizeof(buf));
	want[0] = TIOCPKT_DATA;
	memcpy(want + 1, OUT_C_READ, sizeof(OUT_C_READ) - 1);
	expect(buf, n, want, sizeof(OUT_C_READ), "C's master (packet mode)");
	/* a partial line is not for reading until its newline */
	n = read_all(c->s, buf, sizeof(buf));
	expect(buf, n, "", 0, "C's slave before the newline");
	put(c->m, "\n", 1, "C's master");
	n = read_all(c->s, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s\n", PART_C);
	expect(buf, n, want, strlen(want), "C's slave");
	put(c->m, PART_C, sizeof(PART_C) - 1, "C's master");
	put(c->s, OUT_C_WRITTEN, sizeof(OUT_C_WRITTEN) - 1, "C's slave");
}

static char fill_byte(size_t i)
{
	return (char)('a' + (i * 7 + i / 251) % 26);
}

/* Write D's slave until it takes no more for 100 ms (want: that many
 * bytes, 0: until full); how much went in. */
static size_t fill_d(struct pty *d, size_t want)
{
	size_t n = 0;
	int idle = 0;

	while (idle < 100 && (!want || n < want)) {
		char buf[512];
		size_t k = want ? MIN(sizeof(buf), want - n) : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < k; i++)
			buf[i] = fill_byte(n + i);
		w = write(d->s, buf, k);
		if (w > 0) {
			n += w;
			idle = 0;
		} else if (w < 0 && errno == EAGAIN) {
			idle++;
			sleep_ms(1);
		} else {
			fail("ptys: D: write: %d\n", errno);
		}
	}
	return n;
}

static void check_d(struct pty *d, size_t full)
{
	static char buf[256 << 10];
	size_t n;

	check_state(d, "D");
	n = read_all(d->m, buf, sizeof(buf));
	if (n != full)
		fail("ptys: D's master: %zu bytes, want %zu\n", n, full);
	for (size_t i = 0; i < n; i++)
		if (buf[i] != fill_byte(i))
			fail("ptys: D's master: byte %zu is %#x, want %#x\n", i, (unsigned char)buf[i], (unsigned char)fill_byte(i));
	if (fill_d(d, full) != full)
		fail("ptys: D: could not fill it again with %zu bytes\n", full);
}

static void check_b(const struct pty *b, pid_t child, pid_t gc)
{
	pid_t sid = -1;

	check_state(b, "B");
	if (ioctl(b->m, TIOCGSID, &sid) < 0 || sid != child || tcgetpgrp(b->m) != gc)
		fail("ptys: B: session %d foreground %d, want %d %d\n", sid, tcgetpgrp(b->m), child, gc);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct pty a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	size_t full;
	uint64_t checks = 0, beats[2] = { 0 }, at_pass[2] = { 0 };
	char name[64];
	int beat[2];
	pid_t child;

	sigaction(SIGUSR2, &sa, NULL);
	open_pty(&a, "A");
	cfmakeraw(&a.t);
	a.ws = (struct winsize){ .ws_row = 40, .ws_col = 132, .ws_xpixel = 1056, .ws_ypixel = 640 };
	a.excl = 1;
	set_state(&a, "A");

	open_pty(&c, "C");
	tcgetattr(c.s, &c.t);
	c.t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE);
	c.t.c_oflag |= OPOST | ONLCR;
	c.t.c_cc[VEOL] = '@';
	c.ws = (struct winsize){ .ws_row = 10, .ws_col = 20 };
	c.packet = 1;
	c.locked = 1;
	set_state(&c, "C");

	open_pty(&d, "D");
	cfmakeraw(&d.t);
	d.ws = (struct winsize){ .ws_row = 5, .ws_col = 7 };
	set_state(&d, "D");
	if (fcntl(d.s, F_SETFL, O_NONBLOCK) < 0)
		fail("ptys: D: O_NONBLOCK: %d\n", errno);

	b.m = posix_openpt(O_RDWR | O_NOCTTY);
	if (b.m < 0 || grantpt(b.m) < 0 || unlockpt(b.m) < 0 || ptsname_r(b.m, name, sizeof(name)) || ioctl(b.m, TIOCGPTN, &b.idx) < 0)
		fail("ptys: B: posix_openpt: %d\n", errno);
	b.s = open(name, O_RDWR | O_NOCTTY);
	if (b.s < 0 || tcgetattr(b.s, &b.t) < 0)
		fail("ptys: B: open %s: %d\n", name, errno);
	b.ws = (struct winsize){ .ws_row = 25, .ws_col = 80 };
	set_state(&b, "B");

	if (pipe2(beat, O_NONBLOCK) < 0)
		fail("ptys: pipe: %d\n", errno);
	child = fork();
	if (child < 0)
		fail("ptys: fork: %d\n", errno);
	if (child == 0) {
		close(beat[0]);
		close(a.m), close(a.s), close(b.m), close(b.s), close(c.m), close(c.s), close(d.m), close(d.s);
		fcntl(beat[1], F_SETFL, 0);
		child_main(name, beat[1]);
	}
	close(beat[1]);
	close(b.s);   /* the child's terminal: only it holds the slave */
	b.s = open(name, O_RDWR | O_NOCTTY);   /* ... and we, to read its termios */
	if (b.s < 0)
		fail("ptys: B: reopen %s: %d\n", name, errno);

	put(a.m, IN_A, sizeof(IN_A) - 1, "A's master");
	put(a.s, OUT_A, sizeof(OUT_A) - 1, "A's slave");
	put(c.m, PART_C, sizeof(PART_C) - 1, "C's master");
	put(c.s, OUT_C_WRITTEN, sizeof(OUT_C_WRITTEN) - 1, "C's slave");
	full = fill_d(&d, 0);
	if (full < 4096)
		fail("ptys: D: full after %zu bytes\n", full);
	sleep_ms(100);
	say("READY ptys A:%u B:%u C:%u D:%u/%zu\n", a.idx, b.idx, c.idx, d.idx, full);
	for (;;) {
		char buf[256];
		ssize_t n;
		pid_t gc;

		sleep_ms(20);
		while ((n = read(beat[0], buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < n; i++)
				beats[buf[i] == 'g']++;
		check_children();
		checks++;
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		if (beats[0] == at_pass[0] || beats[1] == at_pass[1])
			fail("ptys: no heartbeat since the last check (child %lu, grandchild %lu)\n", (unsigned long)beats[0],
			     (unsigned long)beats[1]);
		gc = tcgetpgrp(b.m);
		check_a(&a);
		check_b(&b, child, gc);
		if (getpgid(gc) != gc || getsid(gc) != child)
			fail("ptys: B's foreground group %d is not the grandchild's in session %d\n", gc, child);
		check_c(&c);
		check_d(&d, full);
		at_pass[0] = beats[0];
		at_pass[1] = beats[1];
		say("PASS ptys n=%lu beats=%lu,%lu A:%u B:%u C:%u D:%u/%zu\n", (unsigned long)checks, (unsigned long)beats[0],
		    (unsigned long)beats[1], a.idx, b.idx, c.idx, d.idx, full);
	}
}
