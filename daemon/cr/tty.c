// SPDX-License-Identifier: GPL-2.0-or-later
/* Terminals: the ptys of the container's own devpts instance.
 *
 * Each container has a devpts of its own (init mounts it), so a pty index
 * means the same thing again after a restart in a fresh instance: restart
 * opens its ptmx until it gets the index back. A pty is saved with its
 * first File (master or slave): the slave's termios, the window size,
 * packet mode, the lock, exclusive mode and the bytes waiting in either
 * direction. Those bytes can only be read by taking them, so the
 * checkpoint puts them back at once the way restart will (tty_put_*),
 * while the container is frozen. Sessions keep their controlling terminal
 * (made by the leader before anything is forked into the session) and
 * its foreground process group (set once every group exists). */
#include "tty.h"
#include "validate.h"
#include "arch.h"
#include "log.h"
#include "macro.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <time.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#define PTMX_RDEV makedev(5, 2)
#define DEVTTY_RDEV makedev(5, 0)
#define N_TTY_FULL 4095   /* what N_TTY's read buffer holds at most */
#define PTS_MAJOR_FIRST 136
#define PTS_MAJOR_LAST 143

static bool is_pts(dev_t rdev)
{
	return major(rdev) >= PTS_MAJOR_FIRST && major(rdev) <= PTS_MAJOR_LAST;
}

static uint32_t pts_index(dev_t rdev)
{
	return (major(rdev) - PTS_MAJOR_FIRST) * 256 + minor(rdev);
}

static bool is_other_tty(dev_t rdev)
{
	unsigned maj = major(rdev);

	return maj == 4 || maj == 5 || (maj >= 128 && maj <= 135);
}

bool tty_kind(Ckpt__Img__FileKind kind)
{
	return kind == CKPT__IMG__FILE_KIND__FILE_PTY_MASTER || kind == CKPT__IMG__FILE_KIND__FILE_PTY_SLAVE;
}

/* ---- putting bytes in: shared by the checkpoint (giving back what it
 * read) and restart ---- */

static void msleep(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	size_t done = 0;
	int tries = 0;

	while (done < len) {
		/* in small pieces: a big one waits for flip buffer room that
		 * only frees up piece by piece */
		ssize_t n = write(fd, p + done, MIN(len - done, (size_t)512));

		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (++tries > 2000)
			return -ETIMEDOUT;
		msleep(1);
	}
	return 0;
}

/* Input waiting for the slave's reader (struct tty_input): data, of
 * which, in canonical mode, the first lines[] are complete lines, each
 * its length as read() returns it (0: an end-of-file on an empty line),
 * and the rest is the partial line. */
struct tty_input {
	const uint8_t *data;
	size_t len;
	const uint32_t *lines;
	size_t nlines;
};

static bool canonical(const struct termios *t)
{
	return (t->c_lflag & ICANON) && !(t->c_lflag & EXTPROC);
}

/* The part of the canonical stream written last in one piece: small
 * enough for one flip buffer, so the line discipline takes it in at once
 * (TTY_BUFFER_PAGE is 1792 bytes with 4 KiB pages). */
#define CANON_TAIL_MAX 1024

/* The characters of a canonical stream: the lines' own line ends
 * (newline, and VEOL, VEOL2 when the slave has them), and an
 * end-of-file and a quote (VLNEXT) of our own choosing. */
struct canon_chars {
	uint8_t eol, eol2, eof, lnext;
};

static bool canon_special(const struct canon_chars *c, uint8_t b)
{
	return b == '\n' || b == c->eof || b == c->lnext || (c->eol && b == c->eol) || (c->eol2 && b == c->eol2);
}

static void canon_chars_of(const struct termios *t, struct canon_chars *c)
{
	static const uint8_t pick[] = { 4, 0x16, 1, 2, 3, 5, 6 };
	size_t i = 0;

	c->eol = t->c_cc[VEOL];
	c->eol2 = (t->c_lflag & IEXTEN) ? t->c_cc[VEOL2] : 0;
	c->eof = c->lnext = 0;
	while (canon_special(c, pick[i]))
		i++;
	c->eof = pick[i];
	while (canon_special(c, pick[i]))
		i++;
	c->lnext = pick[i];
}

static size_t canon_quote(const struct canon_chars *c, const uint8_t *d, size_t len, uint8_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (canon_special(c, d[i]))
			out[n++] = c->lnext;
		out[n++] = d[i];
	}
	return n;
}

/* What to type for in (out: 2 * len + nlines bytes) so each line ends
 * as it did: in its own line end when it has one, else in an end-of-file;
 * everything else is quoted. *tail: where the last piece starts (the end
 * of the last non-empty line, or the start when there is none); *sum:
 * what TIOCINQ counts once it is in. */
static size_t canon_stream(const struct canon_chars *c, const struct tty_input *in, uint8_t *out, size_t *tail, size_t *sum)
{
	size_t n = 0, off = 0;

	*tail = 0;
	*sum = 0;
	for (size_t i = 0; i < in->nlines; i++) {
		const uint8_t *l = in->data + off;
		size_t ll = in->lines[i];
		bool own = ll && (l[ll - 1] == '\n' || (c->eol && l[ll - 1] == c->eol) || (c->eol2 && l[ll - 1] == c->eol2));

		n += canon_quote(c, l, own ? ll - 1 : ll, out + n);
		if (ll)
			*tail = n;
		out[n++] = own ? l[ll - 1] : c->eof;
		off += ll;
		*sum += ll;
	}
	return n + canon_quote(c, in->data + off, in->len - off, out + n);
}

/* The line discipline takes what the master wrote in from a work queue:
 * wait (2 s at most) until the slave's input queue holds want bytes, or,
 * with readable, exactly want bytes of which a line is readable. */
static int wait_taken_in(int peer, size_t want, bool readable)
{
	for (int tries = 0;; tries++) {
		struct pollfd pfd = { .fd = peer, .events = POLLIN };
		int q = 0;

		poll(&pfd, 1, 0);
		if (ioctl(peer, TIOCINQ, &q) < 0)
			return -errno;
		if (readable ? (size_t)q == want && (pfd.revents & POLLIN) : (size_t)q >= want)
			return 0;
		if (tries >= 2000)
			return -ETIMEDOUT;
		msleep(1);
	}
}

/* Canonical input typed again into master, peer an open of the slave
 * with its termios t. The line discipline takes it in from a work queue,
 * and the bytes must be in before t comes back: the last piece goes in
 * one write, so once TIOCINQ counts every line (or, when all are
 * end-of-files, one is readable) everything is in. Without complete lines
 * a poll waits for that work itself. -E2BIG: the last piece is too big
 * to be taken in at once (put in anyway, as well as it goes). */
static int put_canon(int master, int peer, const struct termios *t, const struct tty_input *in)
{
	struct canon_chars c;
	struct termios ti = *t;
	_cleanup_free_ uint8_t *s = malloc(2 * in->len + in->nlines + 1);
	size_t n, tail, sum;
	int r, big;

	if (!s)
		return -ENOMEM;
	canon_chars_of(t, &c);
	n = canon_stream(&c, in, s, &tail, &sum);
	big = n - tail > CANON_TAIL_MAX;
	ti.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ISIG);
	ti.c_lflag |= IEXTEN;
	ti.c_iflag &= ~(ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | PARMRK | BRKINT | IGNBRK | INPCK | IMAXBEL | IXON | IXOFF | IXANY);
	ti.c_cc[VINTR] = ti.c_cc[VQUIT] = ti.c_cc[VERASE] = ti.c_cc[VKILL] = ti.c_cc[VSTART] = ti.c_cc[VSTOP] = _POSIX_VDISABLE;
	ti.c_cc[VSUSP] = ti.c_cc[VREPRINT] = ti.c_cc[VWERASE] = ti.c_cc[VDISCARD] = _POSIX_VDISABLE;
	ti.c_cc[VEOL] = c.eol;
	ti.c_cc[VEOL2] = c.eol2;
	ti.c_cc[VEOF] = c.eof;
	ti.c_cc[VLNEXT] = c.lnext;
	if (tcsetattr(peer, TCSANOW, &ti) < 0)
		return -errno;
	r = write_all(master, s, tail);
	if (r >= 0 && n > tail) {
		ssize_t w = big ? 0 : write(master, s + tail, n - tail);

		r = w == (ssize_t)(n - tail) ? 0 : write_all(master, s + tail + (w > 0 ? w : 0), n - tail - (w > 0 ? w : 0));
	}
	if (r >= 0 && in->nlines)
		r = wait_taken_in(peer, sum, true);
	if (tcsetattr(peer, TCSANOW, t) < 0 && r >= 0)
		r = -errno;
	return r < 0 ? r : big ? -E2BIG : 0;
}

/* Input for the slave's reader, written into the master with the slave's
 * input processing, flow control and echo off so it lands as it was
 * read; canonical input by put_canon. Then the slave's own termios t.
 * peer: an open of the slave. */
static int tty_put_input(int master, int peer, const struct termios *t, const struct tty_input *in)
{
	struct termios ti = *t;
	int r;

	if (canonical(t) && (in->len || in->nlines))
		return put_canon(master, peer, t, in);
	if (!in->len)
		return 0;
	ti.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ISIG | IEXTEN);
	ti.c_iflag &= ~(ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | PARMRK | BRKINT | IGNBRK | INPCK | IMAXBEL | IXON | IXOFF | IXANY);
	if (tcsetattr(peer, TCSANOW, &ti) < 0)
		return -errno;
	r = write_all(master, in->data, in->len);
	if (r >= 0)
		r = wait_taken_in(peer, in->len, false);
	if (tcsetattr(peer, TCSANOW, t) < 0 && r >= 0)
		r = -errno;
	return r;
}

/* Output for the master's reader, written into the slave without output
 * processing (it had been processed), then the slave's termios t. */
static int tty_put_output(int peer, const struct termios *t, const uint8_t *data, size_t len)
{
	struct termios to = *t;
	int r;

	if (!len)
		return 0;
	to.c_oflag &= ~OPOST;
	if (tcsetattr(peer, TCSANOW, &to) < 0)
		return -errno;
	r = write_all(peer, data, len);
	if (tcsetattr(peer, TCSANOW, t) < 0 && r >= 0)
		r = -errno;
	return r;
}

/* A new open of the slave (its pair is open: no hangup when it closes),
 * past the lock if there is one. */
static int open_peer(int master, bool locked)
{
	int unlock = 0, lock = 1, fd;

	if (locked && ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return -errno;
	fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	if (locked && ioctl(master, TIOCSPTLCK, &lock) < 0 && fd >= 0) {
		close(fd);
		fd = -errno;
	}
	return fd;
}

static void termios_to_msg(const struct termios *t, Ckpt__Img__Pty *m)
{
	m->iflag = t->c_iflag;
	m->oflag = t->c_oflag;
	m->cflag = t->c_cflag;
	m->lflag = t->c_lflag;
	m->line = t->c_line;
	m->cc.data = (uint8_t *)t->c_cc;
	m->cc.len = NCCS;
	m->ispeed = cfgetispeed(t);
	m->ospeed = cfgetospeed(t);
}

static void termios_from_msg(const Ckpt__Img__Pty *m, struct termios *t)
{
	memset(t, 0, sizeof(*t));
	t->c_iflag = m->iflag;
	t->c_oflag = m->oflag;
	t->c_cflag = m->cflag;
	t->c_lflag = m->lflag;
	t->c_line = m->line;
	memcpy(t->c_cc, m->cc.data, NCCS);
	cfsetispeed(t, m->ispeed);
	cfsetospeed(t, m->ospeed);
}

/* ---- checkpoint ---- */

struct tty_end {
	pid_t pid;          /* a holder (host pid); 0: none */
	int fd;
};

struct tty_seen {
	uint32_t index;
	struct tty_end master, slave;
	char master_path[32];   /* /dev/ptmx or /dev/pts/ptmx */
	bool saved;         /* its state is in the image */
	struct termios t;   /* ... and f->pty points into these */
	uint8_t *in, *out;
	uint32_t *lines;    /* canonical: the complete lines in in */
	size_t nlines;
};

struct tty_dump {
	dev_t devpts;       /* st_dev of the container's /dev/pts; 0: none of its own */
	struct tty_seen *v;
	size_t n;
	int console_fd;     /* ckptd's master of the console; -1: none */
	int64_t console;    /* its index; -1: none */
	Ckpt__Img__Ctty *cttys;
	Ckpt__Img__Ctty **ctty_ptrs;
	size_t ncttys;
};

static int grab_fd(pid_t pid, int fd)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int r;

	if (pidfd < 0)
		return -errno;
	r = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	return r < 0 ? -errno : r;
}

/* fdinfo of a ptmx description: "tty-index:\tN". */
static int master_index(pid_t pid, int fd)
{
	char path[64], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	unsigned idx;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "tty-index: %u", &idx) == 1)
			return idx <= CR_PTY_MAX_INDEX ? (int)idx : -ERANGE;
	return -ENOENT;
}

static struct tty_seen *seen(struct tty_dump *t, uint32_t index, bool add)
{
	struct tty_seen *v;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].index == index)
			return &t->v[i];
	if (!add)
		return NULL;
	v = realloc(t->v, (t->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	t->v = v;
	v[t->n] = (struct tty_seen){ .index = index };
	return &v[t->n++];
}

/* Which pty an fd of the container's devpts is, and which end. */
static int end_of(struct tty_dump *t, pid_t pid, int fd, const struct stat *st, bool *ret_master)
{
	if (!S_ISCHR(st->st_mode) || !t->devpts || st->st_dev != t->devpts)
		return -ENOENT;
	if (is_pts(st->st_rdev)) {
		*ret_master = false;
		return pts_index(st->st_rdev) <= CR_PTY_MAX_INDEX ? (int)pts_index(st->st_rdev) : -ERANGE;
	}
	if (st->st_rdev != PTMX_RDEV)
		return -ENOENT;
	*ret_master = true;
	return master_index(pid, fd);
}

/* Every pty end the tasks hold: a holder of each. */
static int scan_proc(struct dump_ctx *ctx, const struct dump_proc *p)
{
	struct tty_dump *t = ctx->ttys;
	char path[64];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/fd", p->pid);
	d = opendir(path);
	if (!d)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: listing fds", p->pid);
	while ((de = readdir(d))) {
		struct tty_seen *s;
		struct stat st;
		bool master;
		int fd, idx;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, fd);
		if (stat(path, &st) < 0 || (idx = end_of(t, p->pid, fd, &st, &master)) < 0)
			continue;
		s = seen(t, idx, true);
		if (!s)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "ptys");
		if (master && !s->master.pid) {
			char link[32];
			ssize_t n = readlink(path, link, sizeof(link) - 1);

			link[n > 0 ? n : 0] = 0;
			if (!streq(link, "/dev/ptmx") && !streq(link, "/dev/pts/ptmx"))
				return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): a pty master opened by another path "
					       "than /dev/ptmx or /dev/pts/ptmx", p->pid, fd, link);
			snprintf(s->master_path, sizeof(s->master_path), "%s", link);
			s->master = (struct tty_end){ p->pid, fd };
		}
		if (!master && !s->slave.pid)
			s->slave = (struct tty_end){ p->pid, fd };
	}
	return 0;
}

static int find_devpts(struct dump_ctx *ctx)
{
	struct tty_dump *t = ctx->ttys;
	char path[PATH_MAX];
	struct stat cst, hst;

	/* the host's /dev/pts (ours): a container without its own sees that */
	if (!cr_task_path(ctx->req->init_pid, "/dev/pts", path, sizeof(path)) || stat(path, &cst) < 0 ||
	    (stat("/dev/pts", &hst) == 0 && hst.st_dev == cst.st_dev))
		t->devpts = 0;
	else
		t->devpts = cst.st_dev;
	t->console_fd = ctx->req->console_fd;
	t->console = -1;
	if (t->console_fd >= 0) {
		unsigned idx;
		struct stat st;

		if (fstat(t->console_fd, &st) < 0 || st.st_dev != t->devpts || ioctl(t->console_fd, TIOCGPTN, &idx) < 0 ||
		    idx > CR_PTY_MAX_INDEX)
			return cr_fail_obj(ctx->err, CR_ERR_BAD_STATE, errno, "the console", "it is not a pty of the container's devpts");
		t->console = idx;
	}
	return 0;
}

static const struct dump_proc *proc_by_nspid(const struct dump_ctx *ctx, pid_t nspid)
{
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (ctx->procs[i].nspid == nspid && !ctx->procs[i].zombie)
			return &ctx->procs[i];
	return NULL;
}

/* The master of pty s, in the worker: a task's, or ckptd's console. */
static int master_fd(struct dump_ctx *ctx, const struct tty_seen *s)
{
	int fd;

	if (s->master.pid)
		return grab_fd(s->master.pid, s->master.fd);
	if ((int64_t)s->index == ctx->ttys->console)
		fd = fcntl(ctx->ttys->console_fd, F_DUPFD_CLOEXEC, 3);
	else
		return -ENOENT;
	return fd < 0 ? -errno : fd;
}

static bool leader_holds_slave(const struct dump_ctx *ctx, const struct dump_proc *l, uint32_t index)
{
	char path[320];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/fd", l->pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/fd/%s", l->pid, de->d_name);
		if (de->d_name[0] != '.' && stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_dev == ctx->ttys->devpts &&
		    is_pts(st.st_rdev) && pts_index(st.st_rdev) == index)
			return true;
	}
	return false;
}

/* tty_nr of /proc/PID/stat: new_encode_dev(). */
static dev_t decode_tty_nr(int nr)
{
	unsigned u = (unsigned)nr;

	return makedev((u >> 8) & 0xfff, (u & 0xff) | ((u >> 12) & 0xfff00));
}

static pid_t ns_pgrp(const struct dump_ctx *ctx, pid_t host_pgrp)
{
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (!ctx->procs[i].zombie && ctx->procs[i].ps.pgrp == host_pgrp)
			return ctx->procs[i].nspgid;
	return 0;
}

static Ckpt__Img__Ctty *ctty_of(struct tty_dump *t, pid_t sid)
{
	for (size_t i = 0; i < t->ncttys; i++)
		if (t->cttys[i].sid == sid)
			return &t->cttys[i];
	return NULL;
}

/* The session of p (its leader l) has pty idx as controlling terminal:
 * check restart can give it back, and note its foreground group. */
static int add_ctty(struct dump_ctx *ctx, const struct dump_proc *l, uint32_t idx)
{
	struct tty_dump *t = ctx->ttys;
	struct tty_seen *s = seen(t, idx, false);
	_cleanup_close_ int m = -1;
	pid_t sid = 0, pgrp = 0;
	char obj[64];

	snprintf(obj, sizeof(obj), "its controlling terminal (pts %u)", idx);
	cr_error_scope(ctx->err, l->nspid, l->pid);
	m = s ? master_fd(ctx, s) : -ENOENT;
	if (m < 0)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "its master is held neither in the container nor by ckptd (the console)");
	if (ioctl(m, TIOCGSID, &sid) < 0 || sid != l->pid)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "it is not the container's pts %u (a terminal of another devpts, the host's?)", idx);
	if (!leader_holds_slave(ctx, l, idx))
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "the session leader holds no fd of it: restart could not make it its controlling terminal");
	if (ioctl(m, TIOCGPGRP, &pgrp) < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, errno, obj, "TIOCGPGRP");
	if (pgrp > 0 && !ns_pgrp(ctx, pgrp))
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "its foreground process group (host %d) has no process in the container", pgrp);
	t->cttys[t->ncttys] = (Ckpt__Img__Ctty)CKPT__IMG__CTTY__INIT;
	t->cttys[t->ncttys].sid = l->nspid;
	t->cttys[t->ncttys].index = idx;
	t->cttys[t->ncttys].has_fg_pgrp = true;
	t->cttys[t->ncttys].fg_pgrp = pgrp > 0 ? ns_pgrp(ctx, pgrp) : 0;
	t->ctty_ptrs[t->ncttys] = &t->cttys[t->ncttys];
	t->ncttys++;
	return 0;
}

/* A task's controlling terminal comes back only through its session
 * leader (TIOCSCTTY) and fork: the leader must be restored and everyone
 * in the session must have got it that way. */
static int check_ctty(struct dump_ctx *ctx, const struct dump_proc *p)
{
	const struct dump_proc *l = proc_by_nspid(ctx, p->nssid);
	const struct dump_proc *pp = p->parent >= 0 ? &ctx->procs[p->parent] : NULL;
	dev_t tty = decode_tty_nr(p->ps.tty_nr);
	char obj[64];
	int r;

	cr_error_scope(ctx->err, p->nspid, p->pid);
	snprintf(obj, sizeof(obj), "its controlling terminal (device %u:%u)", major(tty), minor(tty));
	if (!is_pts(tty))
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "only the ptys of the container's devpts are supported");
	if (!l)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "its session leader (%d) is not a live process of the container", p->nssid);
	if (l->ps.tty_nr != p->ps.tty_nr)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "its session leader (%d) has another controlling terminal", p->nssid);
	if (p != l && (!pp || pp->nssid != p->nssid || pp->ps.tty_nr != p->ps.tty_nr))
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "its parent is not in its session with the same terminal: "
				   "restart could not hand it down");
	if (ctty_of(ctx->ttys, l->nspid))
		return 0;
	r = add_ctty(ctx, l, pts_index(tty));
	cr_error_scope(ctx->err, 0, 0);
	return r;
}

static int dump_cttys(struct dump_ctx *ctx)
{
	struct tty_dump *t = ctx->ttys;
	size_t i;
	int r;

	t->cttys = calloc(ctx->nprocs + 1, sizeof(*t->cttys));
	t->ctty_ptrs = calloc(ctx->nprocs + 1, sizeof(*t->ctty_ptrs));
	if (!t->cttys || !t->ctty_ptrs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "controlling terminals");
	for (i = 0; i < ctx->nprocs; i++) {
		const struct dump_proc *p = &ctx->procs[i];

		if (!p->zombie && p->ps.tty_nr && (r = check_ctty(ctx, p)) < 0)
			return r;
	}
	/* one without it in a session that has one got it before the leader did */
	for (i = 0; i < ctx->nprocs; i++) {
		const struct dump_proc *p = &ctx->procs[i];
		const Ckpt__Img__Ctty *c = ctty_of(t, p->nssid);

		if (!p->zombie && !p->ps.tty_nr && c) {
			cr_error_scope(ctx->err, p->nspid, p->pid);
			return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, "its controlling terminal",
					   "it has none while its session has pts %u: restart could not leave it without", c->index);
		}
	}
	cr_error_scope(ctx->err, 0, 0);
	return 0;
}

int tty_dump_header(struct dump_ctx *ctx, Ckpt__Img__Header *h)
{
	const char *why;
	size_t i;
	int r;

	ctx->ttys = calloc(1, sizeof(*ctx->ttys));
	if (!ctx->ttys)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "ptys");
	r = find_devpts(ctx);
	for (i = 0; i < ctx->nprocs && r >= 0; i++)
		if (!ctx->procs[i].zombie)
			r = scan_proc(ctx, &ctx->procs[i]);
	if (r >= 0)
		r = dump_cttys(ctx);
	if (r < 0)
		return r;
	h->n_cttys = ctx->ttys->ncttys;
	h->cttys = ctx->ttys->ctty_ptrs;
	if (ctx->ttys->console >= 0 && seen(ctx->ttys, ctx->ttys->console, false)) {
		h->has_console_pty = true;
		h->console_pty = ctx->ttys->console;
	}
	why = validate_header_tty(h);
	return why ? cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "the container's terminals: %s", why) : 0;
}

void tty_dump_header_free(Ckpt__Img__Header *h)
{
	h->n_cttys = 0;
	h->cttys = NULL;
}

bool tty_is_devtty(const Ckpt__Img__File *f)
{
	return f->kind == CKPT__IMG__FILE_KIND__FILE_CHR && f->has_rdev && f->rdev == DEVTTY_RDEV;
}

/* /dev/tty: a description of the process's controlling terminal as it was
 * when opened (TIOCGDEV names it). Restart opens /dev/tty again in the
 * task once its controlling terminal is set, so it must be that terminal
 * still: a pty of the container's that the header gives back. */
static const char *devtty_classify(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f)
{
	const struct dump_proc *p = NULL;
	const Ckpt__Img__Ctty *c;
	_cleanup_close_ int tfd = grab_fd(pid, fd);
	unsigned int dev = 0;

	for (size_t i = 0; i < ctx->nprocs && !p; i++)
		if (ctx->procs[i].pid == pid)
			p = &ctx->procs[i];
	if (tfd < 0 || ioctl(tfd, TIOCGDEV, &dev) < 0)
		return "/dev/tty whose terminal can't be read (TIOCGDEV)";
	if (!p || decode_tty_nr(p->ps.tty_nr) != (dev_t)dev)
		return "/dev/tty opened on a terminal that is not its controlling terminal (any more): restart opens /dev/tty on "
		       "the controlling terminal it gives back";
	c = ctx->ttys ? ctty_of(ctx->ttys, p->nssid) : NULL;
	if (!is_pts(dev) || !c || c->index != pts_index(dev))
		return "/dev/tty of a terminal other than the container's ptys";
	f->kind = CKPT__IMG__FILE_KIND__FILE_CHR;
	f->path = (char *)"/dev/tty";
	f->has_rdev = true;
	f->rdev = DEVTTY_RDEV;
	f->has_pty_index = true;
	f->pty_index = c->index;
	return NULL;
}

bool tty_classify(struct dump_ctx *ctx, pid_t pid, int fd, const struct stat *st, uint32_t flags,
		  Ckpt__Img__File *f, const char **ret_why)
{
	bool master;
	int idx;

	if (!S_ISCHR(st->st_mode) || (flags & O_PATH))
		return false;
	if (st->st_rdev == DEVTTY_RDEV) {
		*ret_why = devtty_classify(ctx, pid, fd, f);
		return true;
	}
	if (!is_pts(st->st_rdev) && st->st_rdev != PTMX_RDEV) {
		if (!is_other_tty(st->st_rdev))
			return false;
		*ret_why = "terminals other than the ptys of the container's devpts (consoles, serial lines) are not supported";
		return true;
	}
	idx = ctx->ttys ? end_of(ctx->ttys, pid, fd, st, &master) : -ENOENT;
	if (idx == -ENOENT) {
		*ret_why = ctx->ttys && ctx->ttys->devpts ? "a terminal of another devpts instance than the container's (the host's?)"
							: "a terminal, and the container has no devpts instance of its own";
		return true;
	}
	if (idx < 0) {
		*ret_why = "a pty whose index can't be read or is out of range";
		return true;
	}
	f->kind = master ? CKPT__IMG__FILE_KIND__FILE_PTY_MASTER : CKPT__IMG__FILE_KIND__FILE_PTY_SLAVE;
	f->has_pty_index = true;
	f->pty_index = idx;
	*ret_why = NULL;
	return true;
}

/* Read everything waiting on fd (a master: its output; a peer of the
 * slave set non-canonical: its input) into *buf, after its *len bytes. */
static int drain(int fd, bool packet, uint8_t **buf, size_t *len)
{
	size_t cap = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
			return 0;
		if (*len + 4096 + 1 > cap) {
			uint8_t *v;

			if (cap >= CR_PTY_MAX_DATA)
				return -EFBIG;
			cap = cap ? cap * 2 : 8192;
			v = realloc(*buf, cap);
			if (!v)
				return -ENOMEM;
			*buf = v;
		}
		n = read(fd, *buf + *len, 4096 + (packet ? 1 : 0));
		if (n < 0 && (errno == EAGAIN || errno == EIO))
			return 0;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (packet) {
			/* each read starts with its status byte: data, or a status change */
			if ((*buf)[*len] != TIOCPKT_DATA)
				return -EPROTO;
			memmove(*buf + *len, *buf + *len + 1, n - 1);
			n--;
		}
		*len += n;
	}
}

/* Canonical mode: every complete line waiting, one read() each (an
 * end-of-file on an empty line reads as nothing), appended to *buf; the
 * partial line stays. */
static int read_lines(int peer, uint8_t **buf, size_t *len, uint32_t **lines, size_t *nlines)
{
	size_t cap = 0;

	for (;;) {
		ssize_t n;

		if (*len + N_TTY_FULL + 1 > cap) {
			uint8_t *v;

			cap = *len + 2 * (N_TTY_FULL + 1);
			v = realloc(*buf, cap);
			if (!v)
				return -ENOMEM;
			*buf = v;
		}
		n = read(peer, *buf + *len, N_TTY_FULL + 1);
		if (n < 0 && (errno == EAGAIN || errno == EIO))
			return 0;
		if (n < 0)
			return -errno;
		*len += n;   /* kept whatever follows: it is given back */
		if (*nlines % 64 == 0) {
			uint32_t *v = realloc(*lines, (*nlines + 64) * sizeof(*v));

			if (!v)
				return -ENOMEM;
			*lines = v;
		}
		(*lines)[(*nlines)++] = n;
		/* the line discipline holds N_TTY_FULL bytes, an end-of-file one of them */
		if (*nlines > N_TTY_FULL || *len > N_TTY_FULL)
			return -EFBIG;
	}
}

/* The checks that come before anything is read. */
static const char *dump_precheck(int m, int peer, const struct termios *t, bool packet, char *buf, size_t blen)
{
	struct pollfd pm = { .fd = m, .events = POLLIN | POLLPRI }, ps = { .fd = peer, .events = POLLOUT };
	int ld = 0, n = 0;

	if (ioctl(peer, TIOCGETD, &ld) < 0 || ld != N_TTY)
		return snprintf(buf, blen, "line discipline %d: only the default (N_TTY) is supported", ld), buf;
	if (packet && (t->c_lflag & EXTPROC))
		return "packet mode with EXTPROC is not supported";
	poll(&pm, 1, 0);
	if (packet && (pm.revents & POLLPRI))
		return "a packet mode status change waits to be read on its master";
	/* Not writable: stopped (XOFF), which nothing else shows and restart
	 * can't give back as it was (stopped by ^S, which ^Q ends, or by
	 * tcflow(TCOOFF), which it doesn't; with echo on, the echoes held back
	 * while stopped can't be read), or full (nobody reads the master: a console no one
	 * is attached to), which reading it ends. */
	poll(&ps, 1, 0);
	if (!(ps.revents & POLLOUT) && (ioctl(m, TIOCINQ, &n) < 0 || n < N_TTY_FULL))
		return "its output is stopped (XOFF, ^S, or tcflow): whether ^Q would start it again, and the echoes it "
		       "holds back, can't be read";
	return NULL;
}

/* Read pty s's state through its master m and a new open of its slave. */
static int dump_state(struct dump_ctx *ctx, const char *obj, struct tty_seen *s, int m, Ckpt__Img__Pty *pm)
{
	_cleanup_close_ int peer = -1;
	struct winsize ws;
	struct termios raw;
	char buf[128];
	const char *why;
	int packet = 0, locked = 0, excl = 0, off = 0, r, r2, r3 = 0;
	size_t nin = 0, nout = 0;
	struct tty_input in;

	if (ioctl(m, TIOCGPKT, &packet) < 0 || ioctl(m, TIOCGPTLCK, &locked) < 0 || ioctl(m, TIOCGWINSZ, &ws) < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, errno, obj, "reading its master's state");
	peer = open_peer(m, locked);
	if (peer < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -peer, obj, "opening its slave");
	if (tcgetattr(peer, &s->t) < 0 || ioctl(peer, TIOCGEXCL, &excl) < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, errno, obj, "reading its termios");
	why = dump_precheck(m, peer, &s->t, packet, buf, sizeof(buf));
	if (why)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s", why);
	/* canonical: the complete lines first, each by its own read, as its
	 * reader would; then non-canonical for a moment: the partial line
	 * becomes readable */
	r = canonical(&s->t) ? read_lines(peer, &s->in, &nin, &s->lines, &s->nlines) : 0;
	raw = s->t;
	raw.c_lflag &= ~ICANON;
	raw.c_cc[VMIN] = raw.c_cc[VTIME] = 0;
	if (tcsetattr(peer, TCSANOW, &raw) < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, errno, obj, "tcsetattr");
	if (r >= 0)
		r = drain(peer, false, &s->in, &nin);
	if (r >= 0)
		r = drain(m, packet, &s->out, &nout);
	if (tcsetattr(peer, TCSANOW, &s->t) < 0 && r >= 0)
		r = -errno;
	/* give back what was read, whatever comes next; packet mode off
	 * meanwhile, as at restart: the termios changes of putting it back
	 * make status changes (flow control on and off) otherwise, and
	 * turning it on again starts with none, as there was none */
	in = (struct tty_input){ s->in, nin, s->lines, s->nlines };
	r3 = packet ? ioctl(m, TIOCPKT, &off) : 0;
	r2 = r3 < 0 ? -errno : tty_put_input(m, peer, &s->t, &in);
	if (r2 >= 0 || r2 == -E2BIG)
		r3 = tty_put_output(peer, &s->t, s->out, nout);
	if (packet && ioctl(m, TIOCPKT, &packet) < 0 && r3 >= 0)
		r3 = -errno;
	if (r3 < 0 || (r2 < 0 && r2 != -E2BIG))
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, r3 < 0 ? -r3 : -r2, obj, "putting back the %zu input and %zu output bytes it read", nin, nout);
	if (r == -EPROTO)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "a packet mode status change waits to be read on its master");
	if (r == -EFBIG)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "more than %u bytes wait to be read", CR_PTY_MAX_DATA);
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "reading the bytes waiting in it");
	if (r2 == -E2BIG)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "canonical mode: more than %d bytes to type after its last "
				   "complete line (its partial line): restart could not tell when they are in", CANON_TAIL_MAX);
	termios_to_msg(&s->t, pm);
	pm->index = s->index;
	pm->rows = ws.ws_row;
	pm->cols = ws.ws_col;
	pm->has_xpixel = pm->has_ypixel = true;
	pm->xpixel = ws.ws_xpixel;
	pm->ypixel = ws.ws_ypixel;
	pm->has_packet = pm->has_locked = pm->has_exclusive = true;
	pm->packet = packet;
	pm->locked = locked;
	pm->exclusive = excl;
	pm->has_to_slave = pm->has_to_master = true;
	pm->to_slave = (ProtobufCBinaryData){ nin, s->in };
	pm->to_master = (ProtobufCBinaryData){ nout, s->out };
	pm->master_path = s->master_path[0] ? s->master_path : NULL;
	pm->n_to_slave_lines = s->nlines;
	pm->to_slave_lines = s->lines;
	return 0;
}

int tty_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f)
{
	struct tty_seen *s = seen(ctx->ttys, f->pty_index, false);
	_cleanup_close_ int m = -1;
	char obj[64];
	int r;

	snprintf(obj, sizeof(obj), "fd %d (pts %u%s)", fd, f->pty_index,
		 f->kind == CKPT__IMG__FILE_KIND__FILE_PTY_MASTER ? ", its master" : "");
	if (!s)   /* opened since the scan: the container is frozen */
		return cr_fail(ctx->err, CR_ERR_INTERNAL, 0, "task %d: %s: not seen by the scan", pid, obj);
	if (s->saved)
		return 0;
	m = master_fd(ctx, s);
	if (m < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: %s: its master is held neither in the container nor by ckptd (the console)",
			       pid, obj);
	if (!s->slave.pid)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: %s: no process of the container has its slave open", pid, obj);
	f->pty = calloc(1, sizeof(*f->pty));
	if (!f->pty)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "pty");
	ckpt__img__pty__init(f->pty);
	r = dump_state(ctx, obj, s, m, f->pty);
	if (r < 0)
		return r;
	s->saved = true;
	return 0;
}

void tty_dump_free(Ckpt__Img__File *f)
{
	free(f->pty);
	f->pty = NULL;
}

void tty_dump_done(struct dump_ctx *ctx)
{
	struct tty_dump *t = ctx->ttys;

	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].in);
		free(t->v[i].out);
		free(t->v[i].lines);
	}
	free(t->v);
	free(t->cttys);
	free(t->ctty_ptrs);
	free(t);
	ctx->ttys = NULL;
}

/* ---- restart ---- */

struct tty_made {
	uint32_t index;
	int master, peer;
	bool locked, has_master_file;
};

struct tty_restore {
	struct tty_made *v;
	size_t n;
	int rootfd;            /* the container's root */
	const Ckpt__Img__Header *h;
	int *ctty_fd;          /* per h->cttys: the leader's fd on it; -1: not yet */
};

int tty_restore_header(struct restore_ctx *ctx, const Ckpt__Img__Header *h)
{
	const char *why = validate_header_tty(h);
	char root[64];

	if (why)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "header: %s", why);
	if (h->has_console_pty && ctx->req->console_fd < 0)
		return cr_fail_obj(ctx->err, CR_ERR_BAD_STATE, 0, "the console", "the image has one (pts %u) and the container has none "
				   "(it was not run with -t)", h->console_pty);
	ctx->ttys = calloc(1, sizeof(*ctx->ttys));
	if (ctx->ttys)
		ctx->ttys->rootfd = -1;
	if (ctx->ttys)
		ctx->ttys->ctty_fd = calloc(h->n_cttys + 1, sizeof(int));
	if (!ctx->ttys || !ctx->ttys->ctty_fd)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "ptys");
	for (size_t i = 0; i < h->n_cttys; i++)
		ctx->ttys->ctty_fd[i] = -1;
	ctx->ttys->h = h;
	snprintf(root, sizeof(root), "/proc/%d/root", ctx->req->init_pid);
	ctx->ttys->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->ttys->rootfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "the container's root");
	return 0;
}

static struct tty_made *made(struct tty_restore *t, uint32_t index)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].index == index)
			return &t->v[i];
	return NULL;
}

/* A device of the container's devpts (rdev), opened by path inside its
 * root: its fd reads as it did, /dev/ptmx or /dev/pts/N. */
static int open_devpts(int rootfd, const char *path, int flags, dev_t rdev)
{
	struct open_how how = { .flags = flags | O_NOCTTY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	struct statfs sfs;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != rdev || fstatfs(fd, &sfs) < 0 ||
	    sfs.f_type != DEVPTS_SUPER_MAGIC) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

/* Open the devpts's ptmx until it gives index (a fresh instance hands
 * out the lowest free one), and close the others. */
static int open_index(struct restore_ctx *ctx, const char *path, uint32_t index)
{
	_cleanup_free_ int *extra = calloc(index + 1, sizeof(int));
	size_t n = 0;
	int fd = -1;
	unsigned got;

	if (!extra)
		return -ENOMEM;
	for (;;) {
		fd = open_devpts(ctx->ttys->rootfd, path, O_RDWR, PTMX_RDEV);
		if (fd < 0)
			break;
		if (ioctl(fd, TIOCGPTN, &got) < 0) {
			int e = errno;

			close(fd);
			fd = -e;
			break;
		}
		if (got == index)
			break;
		if (got > index || n > index) {
			close(fd);
			fd = -EBUSY;
			break;
		}
		extra[n++] = fd;
	}
	while (n)
		close(extra[--n]);
	return fd;
}

static int make_pty(struct restore_ctx *ctx, const Ckpt__Img__Pty *pm, struct tty_made *t)
{
	struct winsize ws = { .ws_row = pm->rows, .ws_col = pm->cols, .ws_xpixel = pm->xpixel, .ws_ypixel = pm->ypixel };
	static const uint32_t eof_line[1] = { 0 };
	struct tty_input in = { pm->to_slave.data, pm->to_slave.len, pm->to_slave_lines, pm->n_to_slave_lines };
	struct termios tio;
	int unlock = 0, r, on = pm->packet;
	unsigned got;

	if (ctx->hdr->has_console_pty && pm->index == ctx->hdr->console_pty) {
		t->master = fcntl(ctx->req->console_fd, F_DUPFD_CLOEXEC, 3);
		if (t->master < 0)
			return -errno;
		if (ioctl(t->master, TIOCGPTN, &got) < 0 || got != pm->index)
			return -EBUSY;
		t->has_master_file = true;   /* ckptd holds it */
	} else {
		t->master = open_index(ctx, pm->master_path ? pm->master_path : "/dev/pts/ptmx", pm->index);
		if (t->master < 0)
			return t->master;
	}
	if (ioctl(t->master, TIOCSPTLCK, &unlock) < 0)
		return -errno;
	t->peer = ioctl(t->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (t->peer < 0)
		return -errno;
	termios_from_msg(pm, &tio);
	if (tcsetattr(t->peer, TCSANOW, &tio) < 0 || ioctl(t->master, TIOCSWINSZ, &ws) < 0)
		return -errno;
	/* an image of before the lines were saved: to_slave_eof is one
	 * end-of-file on an empty line, to_slave its NUL */
	if (pm->to_slave_eof)
		in = (struct tty_input){ NULL, 0, eof_line, 1 };
	r = tty_put_input(t->master, t->peer, &tio, &in);
	if (r >= 0)
		r = tty_put_output(t->peer, &tio, pm->to_master.data, pm->to_master.len);
	if (r < 0)
		return r;
	/* after every termios change: with packet mode on, some make status bytes */
	if (ioctl(t->master, TIOCPKT, &on) < 0 || (pm->exclusive && ioctl(t->peer, TIOCEXCL) < 0))
		return -errno;
	t->locked = pm->locked;
	return 0;
}

/* The pty of f, made by its first File. */
static struct tty_made *pty_for(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	struct tty_restore *tr = ctx->ttys;
	struct tty_made *t = made(tr, f->pty_index), *v;
	int r;

	if (t && f->pty) {
		cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: pts %u's state appears twice", f->id, f->pty_index);
		return NULL;
	}
	if (t)
		return t;
	if (!f->pty) {
		cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: pts %u without its state", f->id, f->pty_index);
		return NULL;
	}
	v = realloc(tr->v, (tr->n + 1) * sizeof(*v));
	if (!v) {
		cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "ptys");
		return NULL;
	}
	tr->v = v;
	t = &v[tr->n++];
	*t = (struct tty_made){ .index = f->pty_index, .master = -1, .peer = -1 };
	r = make_pty(ctx, f->pty, t);
	if (r == -EBUSY) {
		cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "pts %u: its index is taken in the container's devpts", f->pty_index);
		return NULL;
	}
	if (r < 0) {
		cr_fail(ctx->err, CR_ERR_KERNEL, -r, "pts %u: making it again with its state", f->pty_index);
		return NULL;
	}
	return t;
}

int tty_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	struct tty_made *t;
	int fd;

	if (!ctx->ttys)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: a pty before the header", f->id);
	t = pty_for(ctx, f);
	if (!t)
		return -EIO;
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_PTY_SLAVE) {
		/* open() makes it O_LARGEFILE, TIOCGPTPEER doesn't: as it was */
		if (f->flags & ARCH_O_LARGEFILE) {
			char path[32];

			snprintf(path, sizeof(path), "/dev/pts/%u", f->pty_index);
			fd = open_devpts(ctx->ttys->rootfd, path, f->flags & (O_ACCMODE | O_NONBLOCK | O_APPEND),
					 makedev(PTS_MAJOR_FIRST + f->pty_index / 256, f->pty_index % 256));
		} else {
			fd = ioctl(t->master, TIOCGPTPEER, (f->flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_NOCTTY | O_CLOEXEC);
			fd = fd < 0 ? -errno : fd;
		}
		return fd < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, -fd, "file %u: opening the slave of pts %u", f->id, f->pty_index) : fd;
	}
	/* a pty has one master description */
	if (t->has_master_file)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: a second master of pts %u", f->id, f->pty_index);
	t->has_master_file = true;
	fd = fcntl(t->master, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || fcntl(fd, F_SETFL, f->flags & (O_NONBLOCK | O_APPEND)) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return cr_fail(ctx->err, CR_ERR_KERNEL, e, "file %u: the master of pts %u", f->id, f->pty_index);
	}
	return fd;
}

int tty_restore_ctty(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Fds *m)
{
	const Ckpt__Img__Header *h = ctx->hdr;
	size_t i, c;
	long ret;
	int r;

	if (p->tt->sid != p->tt->pid)
		return 0;
	for (c = 0; c < h->n_cttys && h->cttys[c]->sid != p->tt->pid; c++)
		;
	if (c == h->n_cttys)
		return 0;
	for (i = 0; i < m->n_fds; i++) {
		const struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_FILE, m->fds[i]->file_id);

		if (o->kind == CKPT__IMG__FILE_KIND__FILE_PTY_SLAVE && o->pty_index == h->cttys[c]->index)
			break;
	}
	if (i == m->n_fds)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: leads a session with pts %u as its terminal and holds no fd of it",
			       p->tt->pid, h->cttys[c]->index);
	if (!p->seized && (r = restore_seize_spawned(ctx, p)) < 0)
		return r;
	ret = rsys(&p->rt, __NR_ioctl, m->fds[i]->fd, TIOCSCTTY, 0);
	if (ret < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: making pts %u its controlling terminal", p->tt->pid,
			       h->cttys[c]->index);
	ctx->ttys->ctty_fd[c] = m->fds[i]->fd;
	return 0;
}

static struct rproc *leader(struct restore_ctx *ctx, pid_t sid)
{
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (ctx->procs[i].tt->pid == sid && !ctx->procs[i].tt->zombie)
			return &ctx->procs[i];
	return NULL;
}

int tty_restore_finish(struct restore_ctx *ctx)
{
	const Ckpt__Img__Header *h = ctx->hdr;
	struct tty_restore *t = ctx->ttys;
	int lock = 1;
	size_t i;

	for (i = 0; i < h->n_cttys; i++) {
		const Ckpt__Img__Ctty *c = h->cttys[i];
		struct rproc *p = leader(ctx, c->sid);
		int32_t pgrp = c->fg_pgrp;
		long addr, ret;

		if (!p || t->ctty_fd[i] < 0)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "session %d: its leader is not in the image", c->sid);
		if (!pgrp)
			continue;
		addr = restore_scratch_put(p, PAGE_SZ, &pgrp, sizeof(pgrp));
		ret = addr < 0 ? addr : rsys(&p->rt, __NR_ioctl, t->ctty_fd[i], TIOCSPGRP, addr);
		if (ret < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: making process group %d the foreground of pts %u",
				       p->tt->pid, pgrp, c->index);
	}
	for (i = 0; i < t->n; i++) {
		if (!t->v[i].has_master_file)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pts %u: no file is its master", t->v[i].index);
		if (t->v[i].locked && ioctl(t->v[i].master, TIOCSPTLCK, &lock) < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "pts %u: locking it again", t->v[i].index);
	}
	return 0;
}

void tty_restore_done(struct restore_ctx *ctx)
{
	struct tty_restore *t = ctx->ttys;

	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].master >= 0)
			close(t->v[i].master);
		if (t->v[i].peer >= 0)
			close(t->v[i].peer);
	}
	if (t->rootfd >= 0)
		close(t->rootfd);
	free(t->v);
	free(t->ctty_fd);
	free(t);
	ctx->ttys = NULL;
}

int tty_restore_devtty_path(struct restore_ctx *ctx, pid_t pid, uint32_t fd)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
	_cleanup_close_ int rootfd = -1, t = -1;
	struct stat st;
	char buf[64];

	snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
	rootfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "the container's root");
	t = (int)syscall(SYS_openat2, rootfd, "/dev/tty", &how, sizeof(how));
	if (t < 0 || fstat(t, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != DEVTTY_RDEV)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "task %d: fd %u (/dev/tty): the container's /dev/tty is not the device "
			       "itself, reached through no symlink", pid, fd);
	return 0;
}

int tty_restore_devtty_check(struct restore_ctx *ctx, struct rproc *p, uint32_t fd, uint32_t index)
{
	_cleanup_close_ int t = (int)syscall(SYS_pidfd_getfd, p->pidfd, fd, 0);
	dev_t want = makedev(PTS_MAJOR_FIRST + index / 256, index % 256);
	unsigned int dev = 0;

	if (t < 0 || ioctl(t, TIOCGDEV, &dev) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %u (/dev/tty): its terminal", p->tt->pid, fd);
	if ((dev_t)dev != want)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "task %d: fd %u (/dev/tty): opened on device %u:%u, not on pts %u, "
			       "its controlling terminal at the checkpoint", p->tt->pid, fd, major(dev), minor(dev), index);
	return 0;
}
