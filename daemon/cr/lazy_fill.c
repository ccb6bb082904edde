// SPDX-License-Identifier: GPL-2.0-or-later
/* The filler of a lazy restart (lazy.h), a process of its own: it answers
 * every fault in a lazy mapping first, by copying in the whole extent the
 * faulting page belongs to (read and verified by image_lazy_read), and
 * between faults pushes the other extents in image order. A fork gives it
 * the child's userfaultfd: the child needs every extent its parent had
 * left at the fork, so it gets those (on_fork says why that is exact). An mremap moves the pieces of the moved range, a
 * munmap or MADV_DONTNEED removes them: a fault there later is answered
 * with a zero page, which is what the program would have read. */
#include "lazy.h"
#include "image_lazy.h"
#include "image.pb-c.h"
#include "cr_limits.h"
#include "fault.h"
#include "uapi_uffd.h"
#include "log.h"
#include "macro.h"
#include "ptguard.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PG 4096ull

struct fault {
	size_t space;
	uint64_t addr;
};

struct filler {
	struct image_lazy *lz;
	const uint32_t *ext_pages;
	size_t next;
	struct lazy_space *sp;
	size_t n, cap;
	int report_fd;
	const struct lazy_fill_fds *fds;
	uint8_t *buf;
	ssize_t buf_ext;              /* the extent buf holds, or -1 */
	size_t cursor;                /* the next extent of the background fill */
	uint64_t bytes;
	struct fault *retry;          /* faults whose copy met a changing mm */
	size_t nretry, retry_cap;
	/* the next extent of the background fill, read and verified on a
	 * thread of its own while this one copies the extent before: its
	 * pages come here only once their MAC matched, as load's */
	pthread_t pf_thread;
	bool pf_started, pf_stop;
	pthread_mutex_t pf_lock;
	pthread_cond_t pf_cond;
	uint8_t *pf_buf;
	ssize_t pf_want, pf_cur, pf_have;   /* asked for, being read, in pf_buf; -1: none */
	int pf_r;                     /* image_lazy_read's answer for pf_have */
	/* from a stream (lazy_fill_stream) */
	struct lazy_stream *st;
	size_t cur;                   /* the process whose lazy part is being read */
	uint32_t next_index;          /* the Segment index of the next lazy part */
	uint64_t hw;                  /* its original addresses below it are in, or never come */
	uint64_t next_min;            /* the next PAGEMAP starts at or above it */
	bool eof;                     /* the tail is read and verified */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int report(struct filler *f, const struct lazy_report *rep, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8))) = { 0 };
	struct iovec iov = { .iov_base = (void *)rep, .iov_len = sizeof(*rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(f->report_fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int fail(struct filler *f, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct filler *f, int r, const char *fmt, ...)
{
	struct lazy_report rep = { .kind = LAZY_REPORT_FAILED };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep.why, sizeof(rep.why), fmt, ap);
	va_end(ap);
	log_error("lazy restart: %s", rep.why);
	report(f, &rep, -1);
	return r;
}

/* True when nobody holds the other end of the report socket: ckptd
 * stopped (a filler outlives it, docs/design.md) and no report of ours
 * will be read. */
static bool ckptd_gone(int report_fd)
{
	struct pollfd p = { .fd = report_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* The fill failed with ckptd gone: ckptd can't kill the container nor
 * hold the userfaultfds for it, and this filler's exit closes their last
 * fds, after which every page not yet in reads as zeroes. So the filler
 * kills the container itself (its init: the whole pid namespace goes with
 * it) and exits only once the init is gone, when no task can return to
 * user space any more. */
static void kill_orphaned(const struct lazy_fill_fds *fds)
{
	struct pollfd p = { .fd = fds->ct, .events = POLLIN };

	if (fds->ct < 0 || !ckptd_gone(fds->report))
		return;
	log_error("lazy restart: the fill failed and ckptd is gone: killing the container");
	if (syscall(SYS_pidfd_send_signal, fds->ct, SIGKILL, NULL, 0) < 0 && errno != ESRCH) {
		log_error("lazy restart: killing the container: %m");
		return;
	}
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* The container's init is not tied to this filler (ptguard.h): with
 * ckptd gone, a kill of the filler would leave the program reading zeroes
 * where its memory was, so the fill fails (and the container is killed)
 * rather than go on unguarded. */
static int guard_check(struct filler *f)
{
	int e = f->fds->guard_error ? f->fds->guard_error : ptguard_error(f->fds->guard);

	if (!e)
		return 0;
	return fail(f, e, "the container's init could not be tied to its filler (%s): a kill of the filler would "
		    "leave its memory unfilled", strerror(-e));
}

/* The first piece of extent k in s (v is sorted by extent). */
static size_t first_of(const struct lazy_space *s, uint32_t k)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->v[mid].ext < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether a space still needs a piece of extent k. */
static bool wanted(const struct filler *f, uint32_t k)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct lazy_space *s = &f->sp[i];

		for (size_t j = first_of(s, k); !s->gone && j < s->n && s->v[j].ext == k; j++)
			if (!s->v[j].done && !s->v[j].dead)
				return true;
	}
	return false;
}

static void *prefetch_main(void *arg)
{
	struct filler *f = arg;

	pthread_mutex_lock(&f->pf_lock);
	for (;;) {
		ssize_t k;
		int r;

		while (!f->pf_stop && f->pf_want < 0)
			pthread_cond_wait(&f->pf_cond, &f->pf_lock);
		if (f->pf_stop)
			break;
		k = f->pf_cur = f->pf_want;
		f->pf_want = -1;
		f->pf_have = -1;
		pthread_mutex_unlock(&f->pf_lock);
		r = image_lazy_read(f->lz, (size_t)k, f->pf_buf, (size_t)f->ext_pages[k] * PG);
		pthread_mutex_lock(&f->pf_lock);
		f->pf_cur = -1;
		f->pf_have = k;
		f->pf_r = r;
		pthread_cond_broadcast(&f->pf_cond);
	}
	pthread_mutex_unlock(&f->pf_lock);
	return NULL;
}

/* Without the thread (no memory for it) every extent is read by load. */
static void prefetch_start(struct filler *f, size_t most)
{
	f->pf_want = f->pf_cur = f->pf_have = -1;
	pthread_mutex_init(&f->pf_lock, NULL);
	pthread_cond_init(&f->pf_cond, NULL);
	f->pf_buf = malloc(most * PG);
	if (f->pf_buf && pthread_create(&f->pf_thread, NULL, prefetch_main, f) == 0)
		f->pf_started = true;
}

static void prefetch_stop(struct filler *f)
{
	if (f->pf_started) {
		pthread_mutex_lock(&f->pf_lock);
		f->pf_stop = true;
		pthread_cond_broadcast(&f->pf_cond);
		pthread_mutex_unlock(&f->pf_lock);
		pthread_join(f->pf_thread, NULL);
	}
	free(f->pf_buf);
	pthread_cond_destroy(&f->pf_cond);
	pthread_mutex_destroy(&f->pf_lock);
}

/* Ask the thread for extent k, unless it is busy: it is asked again then. */
static void prefetch(struct filler *f, uint32_t k)
{
	if (!f->pf_started || f->buf_ext == (ssize_t)k)
		return;
	pthread_mutex_lock(&f->pf_lock);
	if (f->pf_cur < 0 && f->pf_want < 0 && f->pf_have != (ssize_t)k) {
		f->pf_want = k;
		pthread_cond_signal(&f->pf_cond);
	}
	pthread_mutex_unlock(&f->pf_lock);
}

/* Extent k from the thread, if it has it or is reading it: 1 (in f->buf,
 * *r its read's answer), 0 if load must read it itself. */
static int prefetched(struct filler *f, uint32_t k, int *r)
{
	int got = 0;

	if (!f->pf_started)
		return 0;
	pthread_mutex_lock(&f->pf_lock);
	while (f->pf_want == (ssize_t)k || f->pf_cur == (ssize_t)k)
		pthread_cond_wait(&f->pf_cond, &f->pf_lock);
	/* the thread writes pf_buf only while pf_cur is set, which only a
	 * prefetch() of ours starts */
	if (f->pf_cur < 0 && f->pf_have == (ssize_t)k) {
		uint8_t *b = f->buf;

		f->buf = f->pf_buf;
		f->pf_buf = b;
		f->pf_have = -1;
		*r = f->pf_r;
		got = 1;
	}
	pthread_mutex_unlock(&f->pf_lock);
	return got;
}

static int load(struct filler *f, uint32_t k)
{
	int r;

	if (f->buf_ext == (ssize_t)k)
		return 0;
	f->buf_ext = -1;
	if (!prefetched(f, k, &r))
		r = image_lazy_read(f->lz, k, f->buf, (size_t)f->ext_pages[k] * PG);
	/* the next one is read while this one is copied in */
	if (r >= 0 && k + 1 < f->next && wanted(f, k + 1))
		prefetch(f, k + 1);
	if (r < 0)
		return fail(f, r, "image: extent %u of the lazily restored memory: %s%s", k, strerror(-r),
			    r == -EBADMSG ? " (its page MAC fails: the image file changed or is corrupt)" : "");
	f->buf_ext = k;
	return 0;
}

/* Copy piece p of s from the loaded extent: 0 (in, or nothing left to
 * fill there), -EAGAIN (the mm changes: read its events first; p then
 * covers what is left), -ESRCH (the mm is gone). One UFFDIO_COPY must lie
 * in one mapping: a piece the program split since (mprotect, mlock,
 * madvise of a part) gives ENOENT although every page of it is mapped, so
 * on ENOENT the rest goes page by page, and only a page whose own copy
 * gives ENOENT (nothing registered there any more) is skipped. */
static int copy_piece(struct filler *f, struct lazy_space *s, struct lazy_piece *p)
{
	bool single = false;

	while (p->npages) {
		uint32_t len = single ? 1 : p->npages;
		struct uffdio_copy c = { .dst = p->vaddr, .src = (uint64_t)(uintptr_t)(f->buf + (uint64_t)p->first * PG),
					 .len = (uint64_t)len * PG };
		uint64_t done;
		int e = 0;

		if (ioctl(s->uffd, UFFDIO_COPY, &c) < 0)
			e = errno;
		done = c.copy > 0 ? (uint64_t)c.copy / PG : 0;
		f->bytes += done * PG;
		if (!e)
			done = len;
		else if (e == EEXIST || (e == ENOENT && single))
			done++;          /* that page is there, or unmapped: the rest, page by page */
		p->vaddr += done * PG;
		p->first += (uint32_t)done;
		p->npages -= (uint32_t)done;
		if (!e || e == EEXIST)
			continue;
		if (e == EAGAIN && !done)
			return -EAGAIN;
		if (e == EAGAIN)
			continue;    /* a part went in: it stopped at a page that is there */
		if (e == ESRCH)
			return -ESRCH;
		if (e == ENOENT) {
			single = true;
			continue;
		}
		return fail(f, -e, "filling %#llx: UFFDIO_COPY: %s", (unsigned long long)p->vaddr, strerror(e));
	}
	p->done = true;
	return 0;
}

static void space_gone(struct lazy_space *s)
{
	s->gone = true;
	if (s->uffd >= 0)
		close(s->uffd);
	s->uffd = -1;
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* Extent k into every space that still needs it. */
static int fill_ext(struct filler *f, uint32_t k)
{
	bool loaded = false;
	int r;

	for (size_t i = 0; i < f->n; i++) {
		struct lazy_space *s = &f->sp[i];

		for (size_t j = first_of(s, k); !s->gone && j < s->n && s->v[j].ext == k; j++) {
			if (s->v[j].done || s->v[j].dead)
				continue;
			if (!loaded && (r = load(f, k)) < 0)
				return r;
			loaded = true;
			r = copy_piece(f, s, &s->v[j]);
			if (r == -ESRCH)
				space_gone(s);
			else if (r < 0)
				return r;
		}
	}
	return 0;
}

static int grow(struct lazy_space *s, size_t more)
{
	if (s->n + more > s->cap) {
		size_t cap = MAX(s->cap * 2, s->n + more + 16);
		struct lazy_piece *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	return 0;
}

/* Split the pieces of s that straddle addr, so that each lies wholly on
 * one side of it. */
static int split_at(struct lazy_space *s, uint64_t addr)
{
	for (size_t j = 0; j < s->n; j++) {
		struct lazy_piece *p = &s->v[j];
		uint32_t head;

		if (p->dead || !(p->vaddr < addr && addr < p->vaddr + (uint64_t)p->npages * PG))
			continue;
		if (grow(s, 1) < 0)
			return -ENOMEM;
		p = &s->v[j];
		head = (uint32_t)((addr - p->vaddr) / PG);
		memmove(&s->v[j + 2], &s->v[j + 1], (s->n - j - 1) * sizeof(*p));
		s->v[j + 1] = *p;
		s->v[j + 1].vaddr = addr;
		s->v[j + 1].first += head;
		s->v[j + 1].npages -= head;
		p->npages = head;
		s->n++;
		j++;
	}
	return 0;
}

static bool inside(const struct lazy_piece *p, uint64_t lo, uint64_t hi)
{
	return p->npages && p->vaddr >= lo && p->vaddr + (uint64_t)p->npages * PG <= hi;
}

/* mremap moved [from, from+len) to `to`; munmap or MADV_DONTNEED took [lo, hi). */
static int on_remap(struct lazy_space *s, uint64_t from, uint64_t to, uint64_t len)
{
	if (split_at(s, from) < 0 || split_at(s, from + len) < 0)
		return -ENOMEM;
	for (size_t j = 0; j < s->n; j++)
		if (!s->v[j].dead && inside(&s->v[j], from, from + len))
			s->v[j].vaddr = s->v[j].vaddr - from + to;
	return 0;
}

static int on_remove(struct lazy_space *s, uint64_t lo, uint64_t hi)
{
	if (split_at(s, lo) < 0 || split_at(s, hi) < 0)
		return -ENOMEM;
	for (size_t j = 0; j < s->n; j++)
		if (inside(&s->v[j], lo, hi))
			s->v[j].dead = true;
	return 0;
}

/* A fork of space i: the child needs every piece its parent still lacks.
 * Its pieces are the parent's as they stand, done ones included, and that
 * is exact: from the moment the fork copies the address space until its
 * event is read here, every UFFDIO_COPY into the parent fails with EAGAIN
 * (mmap_changing), so a piece done in the parent was copied in before the
 * fork and the child has its pages; a dead one is gone in both. */
static int on_fork(struct filler *f, size_t i, int ufd)
{
	struct lazy_report rep = { .kind = LAZY_REPORT_UFFD };
	struct lazy_space *s, c = { .uffd = ufd };
	int r;

	fcntl(ufd, F_SETFL, O_NONBLOCK);
	fcntl(ufd, F_SETFD, FD_CLOEXEC);
	/* ckptd holds it from now on: should we die, the child blocks, it never reads zeroes */
	r = report(f, &rep, ufd);
	/* a ckptd that went away holds nothing: serve the child all the same */
	if (r < 0)
		log_warn("lazy restart: handing a forked child's userfaultfd to ckptd: %s", strerror(-r));
	if (f->n == f->cap) {
		size_t cap = f->cap * 2 + 4;
		struct lazy_space *v = realloc(f->sp, cap * sizeof(*v));

		if (!v)
			return fail(f, -ENOMEM, "out of memory for a forked child");
		f->sp = v;
		f->cap = cap;
	}
	s = &f->sp[i];
	c.v = malloc((s->n + 1) * sizeof(*c.v));
	if (!c.v)
		return fail(f, -ENOMEM, "out of memory for a forked child");
	if (s->n)
		memcpy(c.v, s->v, s->n * sizeof(*c.v));
	c.n = s->n;
	c.cap = s->n + 1;
	f->sp[f->n++] = c;
	f->cursor = 0;
	return 0;
}

static struct lazy_piece *piece_at(struct lazy_space *s, uint64_t addr)
{
	for (size_t j = 0; j < s->n; j++) {
		struct lazy_piece *p = &s->v[j];

		if (!p->done && !p->dead && p->vaddr <= addr && addr < p->vaddr + (uint64_t)p->npages * PG)
			return p;
	}
	return NULL;
}

/* From a stream: whether the page at original address orig of placeholder
 * ext may still come. The lazy parts come in process order, each in
 * address order: a page of a part passed, or below the last extent read
 * in the current one, never comes. */
static bool stream_later(const struct filler *f, uint32_t ext, uint64_t orig)
{
	size_t o = f->st->bases[ext].owner;

	return !f->eof && (o > f->cur || (o == f->cur && orig >= f->hw));
}

/* A fault at addr in space i: its extent, or a zero page where none is
 * (memory the image holds no page of, or that was discarded since).
 * -EAGAIN: try again once the mm's events are read. */
static int on_fault(struct filler *f, size_t i, uint64_t addr)
{
	struct lazy_space *s = &f->sp[i];
	struct lazy_piece *p;
	struct uffdio_range wake = { .start = addr & ~(PG - 1), .len = PG };
	int r = 0;

	if (s->gone)
		return 0;
	p = piece_at(s, wake.start);
	if (p && f->st) {
		/* a placeholder: its page comes later in the stream, or never */
		uint64_t orig = f->st->bases[p->ext].lo + (uint64_t)p->first * PG + (wake.start - p->vaddr);

		if (stream_later(f, p->ext, orig))
			return -EAGAIN;
		p = NULL;
	}
	if (p) {
		r = fill_ext(f, p->ext);
		if (r < 0)
			return r;
		/* a piece may need the mm's events first */
		if (!s->gone && piece_at(s, wake.start))
			return -EAGAIN;
	} else {
		struct uffdio_zeropage z = { .range = wake };

		if (ioctl(s->uffd, UFFDIO_ZEROPAGE, &z) < 0) {
			if (errno == EAGAIN)
				return -EAGAIN;
			if (errno == ESRCH) {
				space_gone(s);
				return 0;
			}
			if (errno != EEXIST && errno != ENOENT)
				return fail(f, -errno, "zero page at %#llx: %m", (unsigned long long)wake.start);
		}
	}
	/* a copy that found the page there woke no one */
	if (!s->gone && ioctl(s->uffd, UFFDIO_WAKE, &wake) < 0 && errno == ESRCH)
		space_gone(s);
	return 0;
}

static int retry_later(struct filler *f, size_t i, uint64_t addr)
{
	/* every thread of every task may wait at once: no fixed bound */
	if (GROW(f->retry, f->retry_cap, f->nretry, 64) < 0)
		return fail(f, -ENOMEM, "out of memory for %zu faults waiting for a changing address space",
			    f->nretry + 1);
	f->retry[f->nretry++] = (struct fault){ i, addr };
	return 0;
}

static int on_msg(struct filler *f, size_t i, const struct uffd_msg *m)
{
	struct lazy_space *s = &f->sp[i];
	int r = 0;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		r = on_fault(f, i, m->arg.pagefault.address);
		return r == -EAGAIN ? retry_later(f, i, m->arg.pagefault.address) : r;
	case UFFD_EVENT_FORK:
		return on_fork(f, i, (int)m->arg.fork.ufd);
	case UFFD_EVENT_REMAP:
		r = on_remap(s, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
		break;
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		r = on_remove(s, m->arg.remove.start, m->arg.remove.end);
		break;
	default:
		break;
	}
	return r < 0 ? fail(f, r, "out of memory for the lazy memory's pieces") : 0;
}

/* Read and handle what every space has to say; timeout as for poll.
 * Returns how many messages came, or -errno. */
static int serve(struct filler *f, int timeout)
{
	struct pollfd *pfd = calloc(f->n + 1, sizeof(*pfd));
	size_t n = f->n;
	int r = guard_check(f), msgs = 0;

	if (!pfd)
		return fail(f, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = f->sp[i].gone ? -1 : f->sp[i].uffd, .events = POLLIN };
	pfd[n] = (struct pollfd){ .fd = ptguard_fail_fd(f->fds->guard), .events = POLLIN };
	if (r >= 0 && poll(pfd, n + 1, timeout) < 0 && errno != EINTR)
		r = fail(f, -errno, "poll: %m");
	if (r >= 0 && (pfd[n].revents & POLLIN))
		r = guard_check(f);
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct uffd_msg m[16];
		ssize_t got;

		if (!(pfd[i].revents & POLLIN))
			continue;
		while (r >= 0 && !f->sp[i].gone && (got = read(f->sp[i].uffd, m, sizeof(m))) > 0)
			for (size_t k = 0; k < (size_t)got / sizeof(m[0]) && r >= 0; k++, msgs++)
				r = on_msg(f, i, &m[k]);
	}
	free(pfd);
	/* faults that met a changing mm, now that its events are read */
	for (size_t k = 0, nr = f->nretry; k < nr && r >= 0; k++) {
		struct fault t = f->retry[0];

		memmove(&f->retry[0], &f->retry[1], (f->nretry - 1) * sizeof(t));
		f->nretry--;
		r = on_fault(f, t.space, t.addr);
		if (r == -EAGAIN)
			r = retry_later(f, t.space, t.addr);
	}
	return r < 0 ? r : msgs;
}

static bool all_in(const struct filler *f)
{
	for (size_t i = 0; i < f->n; i++)
		for (size_t j = 0; !f->sp[i].gone && j < f->sp[i].n; j++)
			if (!f->sp[i].v[j].done && !f->sp[i].v[j].dead)
				return false;
	return f->nretry == 0;
}

/* The status a ckptd started later reads (lazy.h): DONE only once every
 * page is in, so a filler that dies before can't pass for one that ended. */
static void set_status(const struct lazy_fill_fds *fds, uint32_t state, const struct lazy_report *rep)
{
	struct lazy_status st;

	if (fds->status < 0 || pread(fds->status, &st, sizeof(st), 0) != (ssize_t)sizeof(st))
		return;
	st.state = state;
	if (rep) {
		st.bytes = rep->bytes;
		st.us = rep->us;
	}
	if (pwrite(fds->status, &st, sizeof(st), 0) != (ssize_t)sizeof(st))
		log_warn("lazy restart: writing the filler's status: %m");
}

/* The fill failed: said, and the container killed if nobody else can. */
static void failed(const struct lazy_fill_fds *fds)
{
	set_status(fds, LAZY_STATUS_FAILED, NULL);
	kill_orphaned(fds);
}

/* The end of a fill, r its outcome: failed (the container killed if
 * nobody else can), or every page in: the status, then the report. */
static int fill_end(struct filler *f, int r, uint64_t t0, const char *from)
{
	struct lazy_report rep = { .kind = LAZY_REPORT_DONE };

	if (r < 0) {
		failed(f->fds);
		return r;
	}
	rep.bytes = f->bytes;
	rep.us = now_us() - t0;
	set_status(f->fds, LAZY_STATUS_DONE, &rep);
	/* every page is in: the container no longer needs this process */
	ptguard_stop(f->fds->guard);
	log_info("lazy restart: %llu bytes filled%s in %.1f ms", (unsigned long long)rep.bytes, from, rep.us / 1000.0);
	return report(f, &rep, -1);
}

int lazy_fill_run(struct image_lazy *lz, const uint32_t *ext_pages, size_t next, struct lazy_space *sp, size_t n,
		  const struct lazy_fill_fds *fds)
{
	struct filler f = { .lz = lz, .ext_pages = ext_pages, .next = next, .sp = sp, .n = n, .cap = n,
			    .report_fd = fds->report, .fds = fds, .buf_ext = -1 };
	uint64_t t0 = now_us();
	/* tests: the background fill paced, one extent per 300 ms, so that
	 * the program's checks run first even on a loaded machine */
	int pace = fault_at("lazy-fill-slow") ? 300 : 0;
	uint32_t most = 1;
	int r = 0;

	for (size_t k = 0; k < next; k++)
		most = MAX(most, ext_pages[k]);
	f.buf = malloc((size_t)most * PG);
	if (!f.buf) {
		r = fail(&f, -ENOMEM, "out of memory for an extent of %u pages", most);
		failed(fds);
		return r;
	}
	prefetch_start(&f, most);
	while (r >= 0) {
		if (f.cursor >= f.next) {
			if (all_in(&f))
				break;
			f.cursor = 0;   /* pieces a fork or a changing mm left behind */
		}
		/* faults first; between them, the next extent in image order */
		r = serve(&f, pace);
		if (r < 0)
			break;
		if (pace && r > 0)
			continue;
		r = fill_ext(&f, (uint32_t)f.cursor);
		if (r == -EAGAIN)
			r = 0;   /* its mm's events first; the extent again after them */
		else if (r >= 0)
			f.cursor++;
	}
	prefetch_stop(&f);
	free(f.buf);
	free(f.retry);
	return fill_end(&f, r, t0, "");
}

/* ---- from a stream ---- */

/* Extent [x, x + n pages) of the original addresses of the current
 * process, its pages at data, into every space where a placeholder of that
 * process still stands for a part of it (a fork's included).
 * A copy that meets a changing mm reads its events, then goes again (what
 * went in already gives EEXIST). */
static int stream_copy(struct filler *f, uint64_t x, uint32_t n, uint8_t *data)
{
	uint64_t xe = x + (uint64_t)n * PG;
	int r;

	f->buf = data;
	for (;;) {
		r = 0;
		for (size_t i = 0; i < f->n && r >= 0; i++) {
			struct lazy_space *s = &f->sp[i];

			for (size_t j = 0; !s->gone && j < s->n && r >= 0; j++) {
				const struct lazy_piece *q = &s->v[j];
				uint64_t olo = f->st->bases[q->ext].lo + (uint64_t)q->first * PG;
				uint64_t a = MAX(olo, x), b = MIN(olo + (uint64_t)q->npages * PG, xe);
				struct lazy_piece t;

				if (q->dead || a >= b || f->st->bases[q->ext].owner != f->cur)
					continue;
				t = (struct lazy_piece){ .vaddr = q->vaddr + (a - olo), .npages = (uint32_t)((b - a) / PG),
							 .first = (uint32_t)((a - x) / PG) };
				r = copy_piece(f, s, &t);
				if (r == -ESRCH) {
					space_gone(s);
					r = 0;
				}
			}
		}
		if (r != -EAGAIN)
			break;
		r = serve(f, 10);
		if (r < 0)
			break;
	}
	f->buf = NULL;
	return r < 0 ? r : 0;
}

/* A PAGEMAP after the reader stopped: pages of the current process's lazy
 * mappings, in address order (mm_dump.c writes them so). Anything else
 * would have had to be in before the task ran: refused, the container
 * killed. */
static int stream_check(struct filler *f, const Ckpt__Img__Pagemap *pm)
{
	const struct lazy_stream *st = f->st;
	pid_t pid = st->pids[f->cur];
	uint64_t end = pm->vaddr + pm->nr_pages * PG;

	if (pm->vaddr % PG || !pm->nr_pages || pm->nr_pages > IMAGE_MAX_PAGES / PG || end < pm->vaddr)
		return fail(f, -EBADMSG, "image: task %d: a bad pagemap at %#llx (%llu pages) among its lazy pages",
			    pid, (unsigned long long)pm->vaddr, (unsigned long long)pm->nr_pages);
	if (pm->vaddr < f->next_min)
		return fail(f, -EBADMSG, "image: task %d: pages at %#llx come after those up to %#llx: out of order",
			    pid, (unsigned long long)pm->vaddr, (unsigned long long)f->next_min);
	for (size_t k = 0; k < st->nbases; k++)
		if (st->bases[k].owner == f->cur && pm->vaddr >= st->bases[k].lo && end <= st->bases[k].hi) {
			f->next_min = end;
			return 0;
		}
	return fail(f, -EBADMSG, "image: task %d: pages at %#llx (%llu) in its lazy part are not of its lazily "
		    "restored memory, and it runs already: the image was not written for a lazy restart from a stream",
		    pid, (unsigned long long)pm->vaddr, (unsigned long long)pm->nr_pages);
}

/* The marker of the next lazy part: a later process's, in index order,
 * or the image is refused (the container killed). */
static int stream_part(struct filler *f, const void *p, size_t len)
{
	Ckpt__Img__Segment *s = image_unpack(f->st->rd, &ckpt__img__segment__descriptor, p, len);
	ssize_t k;

	if (!s)
		return fail(f, -EBADMSG, "image: segment marker: %s", f->st->rd->error);
	k = lazy_part_owner(s, f->next_index, f->st->pids, f->st->nprocs, (ssize_t)f->cur);
	protobuf_c_message_free_unpacked(&s->base, NULL);
	if (k < 0)
		return fail(f, -EBADMSG, "image: after the lazy part of task %d, a segment marker that is not the lazy part "
			    "of a later task", f->st->pids[f->cur]);
	f->cur = (size_t)k;
	f->next_index++;
	f->hw = f->next_min = 0;
	return 0;
}

ssize_t lazy_part_owner(const Ckpt__Img__Segment *s, uint32_t want, const pid_t *pids, size_t n, ssize_t after)
{
	if (s->index != want || s->owner != CKPT__IMG__SEGMENT_OWNER__SEG_TASK || s->id <= 0)
		return -1;
	for (size_t k = after < 0 ? 0 : (size_t)after + 1; k < n; k++)
		if (pids[k] == s->id)
			return (ssize_t)k;
	return -1;
}

/* What one PAGES record brought: held until the MAC after it verified it. */
struct stream_pages {
	Ckpt__Img__Pagemap *pm;
	uint8_t *data;
	struct image_buf *held;       /* data is the reader's, kept */
	uint8_t *own;                 /* ... or a copy (a decompressed record) */
	size_t own_cap;
};

static int stream_hold(struct filler *f, struct stream_pages *sp, const void *p, size_t len)
{
	struct image_reader *rd = f->st->rd;

	if (len != sp->pm->nr_pages * PG)
		return fail(f, -EBADMSG, "image: task %d: pages at %#llx: %zu bytes for %llu pages", f->st->pids[f->cur],
			    (unsigned long long)sp->pm->vaddr, len, (unsigned long long)sp->pm->nr_pages);
	sp->held = image_reader_hold(rd, p);
	if (sp->held) {
		sp->data = (uint8_t *)p;
		return 0;
	}
	if (sp->own_cap < len) {
		free(sp->own);
		sp->own_cap = 0;
		if (!(sp->own = malloc(len)))
			return fail(f, -ENOMEM, "out of memory for %zu bytes of pages", len);
		sp->own_cap = len;
	}
	memcpy(sp->own, p, len);
	sp->data = sp->own;
	return 0;
}

static void stream_drop(struct filler *f, struct stream_pages *sp)
{
	if (sp->held)
		image_reader_release(f->st->rd, sp->held);
	sp->held = NULL;
	sp->data = NULL;
	if (sp->pm)
		protobuf_c_message_free_unpacked(&sp->pm->base, NULL);
	sp->pm = NULL;
}

/* The next record of the stream. */
static int stream_step(struct filler *f, struct stream_pages *sp)
{
	struct image_reader *rd = f->st->rd;
	const void *p;
	uint32_t type = 0;
	size_t len;
	int r = image_read_record(rd, &type, &p, &len);
	bool tail;

	if (r < 0)
		return fail(f, r, "image: %s", rd->error);
	/* f->eof only once the held pages are in: a fault waiting for them
	 * while their copy meets a changing mm (stream_copy serves faults)
	 * must wait, not get a zero page because the tail was read */
	tail = r == 0;
	if (sp->data) {
		/* the MAC that ends its page-MAC segment, or the tail: verified */
		if (!tail && type != IMG_MAC)
			return fail(f, -EPROTO, "image: task %d: pages at %#llx not ended by their own MAC: made "
				    "before per-record page MACs", f->st->pids[f->cur], (unsigned long long)sp->pm->vaddr);
		r = stream_copy(f, sp->pm->vaddr, (uint32_t)sp->pm->nr_pages, sp->data);
		f->hw = sp->pm->vaddr + sp->pm->nr_pages * PG;
		f->eof = tail;
		stream_drop(f, sp);
		return r;
	}
	f->eof = tail;
	if (f->eof)
		return sp->pm ? fail(f, -EBADMSG, "image: a pagemap without its pages at the end") : 0;
	switch (type) {
	case IMG_MAC:
		return 0;
	case IMG_SEGMENT:
		if (sp->pm)
			return fail(f, -EBADMSG, "image: a pagemap without its pages before a segment marker");
		return stream_part(f, p, len);
	case IMG_PAGEMAP:
		if (sp->pm)
			return fail(f, -EBADMSG, "image: pagemap and pages records out of pairs");
		sp->pm = image_unpack(rd, &ckpt__img__pagemap__descriptor, p, len);
		if (!sp->pm)
			return fail(f, -EBADMSG, "image: pagemap: %s", rd->error);
		return stream_check(f, sp->pm);
	case IMG_PAGES:
		if (!sp->pm)
			return fail(f, -EBADMSG, "image: pagemap and pages records out of pairs");
		return stream_hold(f, sp, p, len);
	default:
		return fail(f, -EBADMSG, "image: a %s record in the lazy part of task %d", image_rec_type_name(type),
			    f->st->pids[f->cur]);
	}
}

/* Until a uffd or the stream has something (or timeout ms). */
static int stream_wait(struct filler *f, int timeout, bool *ret_stream)
{
	struct pollfd *pfd = calloc(f->n + 2, sizeof(*pfd));
	int n;

	if (!pfd)
		return fail(f, -ENOMEM, "out of memory");
	for (size_t i = 0; i < f->n; i++)
		pfd[i] = (struct pollfd){ .fd = f->sp[i].gone ? -1 : f->sp[i].uffd, .events = POLLIN };
	pfd[f->n] = (struct pollfd){ .fd = f->eof ? -1 : f->st->rd->io.fd, .events = POLLIN };
	/* a guard that fails wakes this up: serve, next, says so */
	pfd[f->n + 1] = (struct pollfd){ .fd = ptguard_fail_fd(f->fds->guard), .events = POLLIN };
	n = poll(pfd, f->n + 2, timeout);
	*ret_stream = n > 0 && (pfd[f->n].revents & (POLLIN | POLLHUP | POLLERR));
	free(pfd);
	return n < 0 && errno != EINTR ? fail(f, -errno, "poll: %m") : 0;
}

int lazy_fill_stream(struct lazy_stream *st, struct lazy_space *sp, size_t n, const struct lazy_fill_fds *fds)
{
	struct filler f = { .st = st, .sp = sp, .n = n, .cap = n, .report_fd = fds->report, .fds = fds, .buf_ext = -1,
			    .cur = st->cur, .next_index = st->next_index };
	struct stream_pages pg = { 0 };
	uint64_t t0 = now_us();
	/* tests: one record per 300 ms, so that the program's checks run first */
	int pace = fault_at("lazy-fill-slow") ? 300 : 0;
	int r;

	/* MAC records too: a page payload is copied in only once the one
	 * after it verified it */
	st->rd->pass_mac = true;
	r = 0;
	while (r >= 0 && !(f.eof && !f.nretry)) {
		bool readable = false;

		/* faults and events first; at the end, the faults that waited */
		r = stream_wait(&f, f.eof ? 10 : pace ? pace : -1, &readable);
		if (r >= 0)
			r = serve(&f, 0);
		if (r >= 0 && !f.eof && (readable || pace))
			r = stream_step(&f, &pg);
	}
	stream_drop(&f, &pg);
	free(pg.own);
	free(f.retry);
	return fill_end(&f, r, t0, " from the stream");
}
