// SPDX-License-Identifier: GPL-2.0-or-later
/* uffd_new.h. The userfaultfd() syscall wants CAP_SYS_PTRACE of a task
 * that asks for kernel-mode faults (vm.unprivileged_userfaultfd = 0), and
 * a container of the default capability set lacks it. Since Linux 6.1
 * USERFAULTFD_IOC_NEW on an fd of /dev/userfaultfd makes one for the
 * caller's mm with no capability check: opening the device is the check,
 * and we open it, as root on the host. The task gets our fd on it over an
 * AF_UNIX pair made in it, calls the ioctl, and we take the result with
 * pidfd_getfd; everything made in the task is closed again. */
#include "uffd_new.h"
#include "macro.h"
#include "uapi_uffd.h"
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC 0xAA
#define USERFAULTFD_IOC_NEW _IO(USERFAULTFD_IOC, 0x00)
#endif

#define SCRATCH_PAGE 4096

/* Where the pieces sit in the task's scratch bytes. */
#define OFF_SV 0
#define OFF_MSG 16
#define OFF_IOV 80
#define OFF_DATA 96
#define OFF_CMSG 112
_Static_assert(OFF_MSG + sizeof(struct msghdr) <= OFF_IOV, "msghdr overlaps");
_Static_assert(OFF_CMSG + CMSG_SPACE(sizeof(int)) <= UFFD_NEW_SCRATCH, "scratch too small");

/* The fds made in the task, to close there whatever happens. */
struct made {
	long fd[4];
	size_t n;
};

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static int take_fd(pid_t pid, long fd)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int r;

	/* a thread other than the leader (ENOENT, EINVAL before 6.9) has a
	 * pidfd of its own since 6.9 */
	if (pidfd < 0 && (errno == ENOENT || errno == EINVAL))
		pidfd = (int)syscall(SYS_pidfd_open, pid, PIDFD_THREAD);
	if (pidfd < 0)
		return -errno;
	r = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	if (r < 0)
		return -errno;
	if (fcntl(r, F_SETFD, FD_CLOEXEC) < 0) {
		int e = -errno;

		close(r);
		return e;
	}
	return r;
}

/* Whether the fds made form one run of numbers with no other fd among
 * them (they are distinct): then one close_range closes them all. */
static bool made_run(const struct made *m, long *ret_lo, long *ret_hi)
{
	long lo = m->fd[0], hi = m->fd[0];

	for (size_t i = 1; i < m->n; i++) {
		lo = MIN(lo, m->fd[i]);
		hi = MAX(hi, m->fd[i]);
	}
	*ret_lo = lo;
	*ret_hi = hi;
	return m->n > 1 && hi - lo + 1 == (long)m->n;
}

/* Close in the task what we made there (each close a stop of the task:
 * one call for all when they are a run, as fds taken lowest first mostly
 * are); its fd table must then be what it was, which /proc tells (check:
 * only while its other threads are stopped; running, they may take a
 * number just freed). */
static int unmake(struct rtask *t, struct made *m, bool check)
{
	char path[64];
	struct stat st;
	long lo, hi, r = 0;
	bool run = m->n && made_run(m, &lo, &hi);
	int ret = 0;
	size_t i;

	if (run)
		r = rsys(t, __NR_close_range, lo, hi, 0);
	for (i = 0; i < m->n; i++) {
		if (!run)
			r = rsys(t, __NR_close, m->fd[i]);
		snprintf(path, sizeof(path), "/proc/%d/fd/%ld", t->pid, m->fd[i]);
		if ((r < 0 || (check && lstat(path, &st) == 0)) && ret == 0)
			ret = r < 0 ? (int)r : -EEXIST;
	}
	m->n = 0;
	return ret;
}

/* Hand our fd devfd to the task over a socket pair made in it; returns its
 * number there (recorded in m) or -errno. */
static long pass_fd(struct rtask *t, uint64_t mem, int devfd, struct made *m)
{
	char cbuf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8))) = {};
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	_cleanup_close_ int ours = -1;
	int sv[2];
	long r;

	r = rsys(t, __NR_socketpair, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, mem + OFF_SV);
	if (r < 0)
		return r;
	/* two fds are in its table now; unread, they could not be closed */
	if (rtask_read(t->pid, mem + OFF_SV, sv, sizeof(sv)) < 0)
		return -EEXIST;
	m->fd[m->n++] = sv[0];
	m->fd[m->n++] = sv[1];
	ours = take_fd(t->pid, sv[0]);
	if (ours < 0)
		return ours;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &devfd, sizeof(int));
	if (sendmsg(ours, &mh, MSG_DONTWAIT) != 1)
		return -errno;

	/* the same message header, pointing into the task */
	memset(cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)(uintptr_t)(mem + OFF_DATA);
	mh.msg_iov = (struct iovec *)(uintptr_t)(mem + OFF_IOV);
	mh.msg_control = (void *)(uintptr_t)(mem + OFF_CMSG);
	if ((r = rtask_write(t->pid, mem + OFF_IOV, &iov, sizeof(iov))) < 0 ||
	    (r = rtask_write(t->pid, mem + OFF_MSG, &mh, sizeof(mh))) < 0 ||
	    (r = rtask_write(t->pid, mem + OFF_CMSG, cbuf, sizeof(cbuf))) < 0)
		return r;
	r = rsys(t, __NR_recvmsg, m->fd[1], mem + OFF_MSG, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0)
		return r;
	/* an fd is in its table now: unread, it could not be closed */
	if (rtask_read(t->pid, mem + OFF_CMSG, cbuf, sizeof(cbuf)) < 0)
		return -EEXIST;
	c = (struct cmsghdr *)cbuf;
	if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	memcpy(sv, CMSG_DATA(c), sizeof(int));
	m->fd[m->n++] = sv[0];
	return sv[0];
}

static long make_in_task(struct rtask *t, uint64_t scratch, int flags, struct made *m)
{
	_cleanup_close_ int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	long tdev;

	if (dev < 0)
		return rsys(t, __NR_userfaultfd, flags);
	tdev = pass_fd(t, scratch, dev, m);
	if (tdev < 0)
		return tdev;
	return rsys(t, __NR_ioctl, tdev, USERFAULTFD_IOC_NEW, flags);
}

int uffd_new_in_task(struct rtask *t, uint64_t scratch, int flags, int *ret_uffd)
{
	struct made m = { .n = 0 };
	uint64_t mem = scratch;
	long fd;
	int r, ours = -1;

	if (!mem) {
		long a = rsys(t, __NR_mmap, 0, SCRATCH_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (a < 0 && a > -4096)
			return (int)a;
		mem = (uint64_t)a;
	}
	fd = make_in_task(t, mem, flags, &m);
	if (fd >= 0) {
		m.fd[m.n++] = fd;
		ours = take_fd(t->pid, fd);
	}
	r = unmake(t, &m, true);
	if (!scratch) {
		long u = rsys(t, __NR_munmap, mem, SCRATCH_PAGE);

		if (u < 0 && r == 0)
			r = -EEXIST;   /* its mappings are no longer the ones read */
	}
	if (fd < 0 || ours < 0 || r < 0) {
		if (ours >= 0)
			close(ours);
		return fd < 0 ? (int)fd : ours < 0 ? ours : r;
	}
	*ret_uffd = ours;
	return 0;
}

long uffd_give_to_task(struct rtask *t, uint64_t scratch, int fd)
{
	struct made m = { .n = 0 };
	long in_task = pass_fd(t, scratch, fd, &m);
	int r;

	/* the socket pair goes; the fd passed stays, unless it failed */
	if (in_task >= 0)
		m.n--;
	r = unmake(t, &m, false);
	if (in_task < 0 || r == 0)
		return in_task;
	/* its socket pair stayed: take the fd back out too, then say so */
	m.fd[0] = in_task;
	m.n = 1;
	(void)unmake(t, &m, false);
	return r;
}
