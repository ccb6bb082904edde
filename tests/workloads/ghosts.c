// SPDX-License-Identifier: GPL-2.0-or-later
/* ghosts: a named pipe with bytes in it, a file deleted while open and
 * mapped, and inotify watches, across restarts.
 *
 *   ghosts [SIZE [queued|readdir]]  (ghosts.* are created in the cwd; SIZE
 *        of the deleted file, default 256 KiB; queued: an inotify event is
 *        left unread after READY; readdir: see fd 17)
 *
 * fd 10: ghosts.fifo O_RDONLY|O_NONBLOCK, fd 11: the same FIFO O_WRONLY,
 *        fd 12: O_RDWR (three descriptions of one buffer, 128 KiB); a
 *        line written through 11 stays unread until the next verification.
 * fd 13: ghosts.ghost O_RDWR at offset 1234, fd 14: O_RDONLY|O_APPEND-less
 *        second description at 0; the file is unlinked, then mapped
 *        MAP_SHARED whole and MAP_PRIVATE with one page changed.
 * fd 15: inotify: wd 1 on ghosts.dir (IN_CREATE), wd 3 on ghosts.watched
 *        (IN_MODIFY); wd 2 was added and removed, so 3 is past a gap.
 * fd 16: epoll over fd 10 and fd 15 (EPOLLIN, data: the fd number).
 * fd 17: ghosts.rmdir O_RDONLY|O_DIRECTORY, removed (with "readdir", read
 *        to its end first: an offset that can't be set again, refused).
 * fd 18: a pipe from a child whose working directory, ghosts.cwd, was
 *        removed; the child answers each verification (SIGUSR2 reaches every
 *        task of the container) on it.
 * On SIGUSR2: the FIFO gives back exactly the pending line and is still one
 * buffer, the deleted file's contents, size, mtime, offsets and mappings
 * are intact and one file, the removed directory is one at its offset, and
 * the watches fire (a file created in ghosts.dir, a write to
 * ghosts.watched) under their wds, seen through the epoll too; the child's
 * cwd is still the removed directory: getcwd() says ENOENT, /proc shows
 * "ghosts.cwd (deleted)", "." opens and stats as an empty directory with
 * its mode and no links, and nothing can be created in it.
 * "PASS ghosts <n>". */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wl.h"

enum { FD_FR = 10, FD_FW = 11, FD_FRW = 12, FD_G = 13, FD_G2 = 14, FD_IN = 15, FD_EP = 16, FD_D = 17, FD_CH = 18 };
#define FIFO_SZ (128 * 1024)
#define GPOS 1234

static size_t gsize = 256 * 1024;
static unsigned char *shared, *priv;
static char pending[64];
static unsigned long n;
static off_t dpos;
static struct timespec gmtime;   /* of the deleted file after the last check */
static bool readdir_end;

static unsigned char pattern(size_t i) { return (unsigned char)(i * 131 + (i >> 12)); }

static void to_fd(int fd, int want)
{
	if (fd < 0)
		fail("open: %s\n", strerror(errno));
	if (fd != want && (dup2(fd, want) != want || close(fd)))
		fail("dup2 %d: %s\n", want, strerror(errno));
}

static void put_pending(void)
{
	snprintf(pending, sizeof(pending), "fifo line %lu\n", n);
	if (write(FD_FW, pending, strlen(pending)) != (ssize_t)strlen(pending))
		fail("fifo write: %s\n", strerror(errno));
}

/* The epoll reports exactly the fd want ready (-1: none). */
static void expect_ready(int want)
{
	struct epoll_event ev[4];
	int n = epoll_wait(FD_EP, ev, 4, 0);

	if (n != (want >= 0) || (n == 1 && (ev[0].data.fd != want || !(ev[0].events & EPOLLIN))))
		fail("epoll: %d ready (first fd %d), want fd %d\n", n, n > 0 ? ev[0].data.fd : -1, want);
}

static void check_fifo(void)
{
	char buf[128];
	ssize_t r;

	expect_ready(FD_FR);
	r = read(FD_FR, buf, sizeof(buf));

	if (r != (ssize_t)strlen(pending) || memcmp(buf, pending, r))
		fail("fifo: read %zd bytes, want '%.*s'\n", r, (int)strlen(pending) - 1, pending);
	if (read(FD_FR, buf, sizeof(buf)) != -1 || errno != EAGAIN)
		fail("fifo: more than the pending line\n");
	if (write(FD_FRW, "x", 1) != 1 || read(FD_FR, buf, 1) != 1 || buf[0] != 'x')
		fail("fifo: its O_RDWR description is not on the same buffer\n");
	if (fcntl(FD_FR, F_GETPIPE_SZ) != FIFO_SZ)
		fail("fifo: buffer %d bytes, want %d\n", fcntl(FD_FR, F_GETPIPE_SZ), FIFO_SZ);
	if (!(fcntl(FD_FR, F_GETFL) & O_NONBLOCK) || (fcntl(FD_FW, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) != O_WRONLY ||
	    (fcntl(FD_FRW, F_GETFL) & O_ACCMODE) != O_RDWR)
		fail("fifo: flags %#x %#x %#x\n", fcntl(FD_FR, F_GETFL), fcntl(FD_FW, F_GETFL), fcntl(FD_FRW, F_GETFL));
}

static void check_ghost(void)
{
	struct stat st, st2;
	unsigned char *buf = malloc(gsize);
	char link[512];
	ssize_t l = readlink("/proc/self/fd/13", link, sizeof(link) - 1);
	size_t i;

	if (!buf || l < 0)
		fail("ghost: %s\n", strerror(errno));
	link[l] = 0;
	if (!strstr(link, "/ghosts.ghost (deleted)"))
		fail("ghost: fd 13 is %s\n", link);
	if (fstat(FD_G, &st) || fstat(FD_G2, &st2) || st.st_nlink != 0 || (size_t)st.st_size != gsize ||
	    (st.st_mode & 07777) != 0640 || st.st_ino != st2.st_ino || st.st_dev != st2.st_dev)
		fail("ghost: nlink %lu size %lld mode %o, or fds 13 and 14 are not one file\n",
		     (unsigned long)st.st_nlink, (long long)st.st_size, st.st_mode & 07777);
	if (gmtime.tv_sec && (st.st_mtim.tv_sec != gmtime.tv_sec || st.st_mtim.tv_nsec != gmtime.tv_nsec))
		fail("ghost: mtime %ld.%09ld, want %ld.%09ld\n", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		     (long)gmtime.tv_sec, gmtime.tv_nsec);
	if (lseek(FD_G, 0, SEEK_CUR) != GPOS || lseek(FD_G2, 0, SEEK_CUR) != 0)
		fail("ghost: offsets %lld %lld\n", (long long)lseek(FD_G, 0, SEEK_CUR), (long long)lseek(FD_G2, 0, SEEK_CUR));
	if (pread(FD_G2, buf, gsize, 0) != (ssize_t)gsize)
		fail("ghost: read: %s\n", strerror(errno));
	for (i = 0; i < gsize; i++)
		if (buf[i] != pattern(i) || shared[i] != pattern(i) || priv[i] != (i < 4096 ? 0x5a : pattern(i)))
			fail("ghost: byte %zu: file %#x shared %#x private %#x\n", i, buf[i], shared[i], priv[i]);
	/* the mapping and the descriptions are one file: a write shows in it */
	if (pwrite(FD_G, "Q", 1, 7) != 1 || shared[7] != 'Q' || pwrite(FD_G, &(unsigned char){ pattern(7) }, 1, 7) != 1)
		fail("ghost: a write through fd 13 does not show in the shared mapping\n");
	if (pread(FD_G2, buf, 0, 0) != 0 || fcntl(FD_G2, F_GETFL) & O_ACCMODE)
		fail("ghost: fd 14 flags\n");
	if (fstat(FD_G, &st))
		fail("ghost: fstat: %s\n", strerror(errno));
	gmtime = st.st_mtim;
	free(buf);
}

static void check_dir(void)
{
	char link[512], buf[1024];
	ssize_t l = readlink("/proc/self/fd/17", link, sizeof(link) - 1);
	struct stat st;

	if (l < 0)
		fail("dir: %s\n", strerror(errno));
	link[l] = 0;
	if (!strstr(link, "/ghosts.rmdir (deleted)") || fstat(FD_D, &st) || !S_ISDIR(st.st_mode) || st.st_nlink ||
	    (st.st_mode & 07777) != 0750)
		fail("dir: fd 17 is %s, mode %o, %lu links\n", link, st.st_mode, (unsigned long)st.st_nlink);
	if (lseek(FD_D, 0, SEEK_CUR) != dpos)
		fail("dir: offset %lld, want %lld\n", (long long)lseek(FD_D, 0, SEEK_CUR), (long long)dpos);
	if (syscall(SYS_getdents64, FD_D, buf, sizeof(buf)) != -1 || errno != ENOENT)
		fail("dir: getdents64 on a removed directory did not say ENOENT\n");
}

/* In the child: its cwd is the removed ghosts.cwd. */
static void check_cwd(void)
{
	char buf[512];
	ssize_t l = readlink("/proc/self/cwd", buf, sizeof(buf) - 1);
	struct stat st;
	int fd;

	if (l < 0)
		fail("cwd: %s\n", strerror(errno));
	buf[l] = 0;
	if (!strstr(buf, "/ghosts.cwd (deleted)"))
		fail("cwd: it is %s\n", buf);
	if (getcwd(buf, sizeof(buf)) || errno != ENOENT)
		fail("cwd: getcwd did not say ENOENT: %s\n", strerror(errno));
	if (stat(".", &st) || !S_ISDIR(st.st_mode) || st.st_nlink || (st.st_mode & 07777) != 0750)
		fail("cwd: mode %o, %lu links\n", st.st_mode, (unsigned long)st.st_nlink);
	fd = openat(AT_FDCWD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_getdents64, fd, buf, sizeof(buf)) != -1 || errno != ENOENT || close(fd))
		fail("cwd: opening and reading \".\": %s\n", strerror(errno));
	if (mkdir("x", 0700) != -1 || errno != ENOENT)
		fail("cwd: an entry could be made in it\n");
}

/* A child whose cwd is a removed directory, checking it on SIGUSR2 and
 * answering 'y' on its pipe (fd 18 of the parent). */
static void start_child(void)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		fail("pipe: %s\n", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail("fork: %s\n", strerror(errno));
	if (!pid) {
		if (dup2(p[1], 3) != 3 || close_range(4, ~0u, 0))
			fail("child fds: %s\n", strerror(errno));
		if (mkdir("ghosts.cwd", 0750) || chmod("ghosts.cwd", 0750) || chdir("ghosts.cwd") || rmdir("../ghosts.cwd"))
			fail("child: ghosts.cwd: %s\n", strerror(errno));
		check_cwd();
		if (write(3, "r", 1) != 1)
			_exit(1);
		for (;;) {
			pause();
			if (!got_usr2)
				continue;
			got_usr2 = 0;
			check_cwd();
			if (write(3, "y", 1) != 1)
				_exit(1);
		}
	}
	close(p[1]);
	to_fd(p[0], FD_CH);
	if (read(FD_CH, &c, 1) != 1 || c != 'r')
		fail("child: did not start\n");
}

/* The child got the same SIGUSR2 (every task of the container does):
 * its answer. */
static void check_child(void)
{
	struct pollfd pfd = { .fd = FD_CH, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, 20000) != 1 || read(FD_CH, &c, 1) != 1 || c != 'y')
		fail("child: no answer about its cwd\n");
}

/* One event of wd with mask (and name, if any) must be next. */
static void expect_event(int wd, uint32_t mask, const char *name)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct inotify_event *e = (struct inotify_event *)buf;
	ssize_t r = read(FD_IN, buf, sizeof(struct inotify_event) + (name ? 64 : 0));

	if (r < (ssize_t)sizeof(*e))
		fail("inotify: no event for wd %d: %s\n", wd, r < 0 ? strerror(errno) : "short");
	if (e->wd != wd || !(e->mask & mask) || (name && (!e->len || strcmp(e->name, name))))
		fail("inotify: event wd %d mask %#x name '%s', want wd %d mask %#x name '%s'\n", e->wd, e->mask,
		     e->len ? e->name : "", wd, mask, name ? name : "");
}

static void check_inotify(void)
{
	char name[64], path[96];
	int fd;

	/* the same object again: the wd the program knows */
	if (inotify_add_watch(FD_IN, "ghosts.dir", IN_CREATE) != 1 || inotify_add_watch(FD_IN, "ghosts.watched", IN_MODIFY) != 3)
		fail("inotify: the watches are not wd 1 and 3\n");
	snprintf(name, sizeof(name), "new-%lu", n);
	snprintf(path, sizeof(path), "ghosts.dir/%s", name);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) || unlink(path))
		fail("inotify: %s: %s\n", path, strerror(errno));
	expect_ready(FD_IN);
	expect_event(1, IN_CREATE, name);
	fd = open("ghosts.watched", O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, "m\n", 2) != 2 || close(fd))
		fail("inotify: writing ghosts.watched: %s\n", strerror(errno));
	expect_event(3, IN_MODIFY, NULL);
	if (read(FD_IN, name, sizeof(name)) != -1 || errno != EAGAIN)
		fail("inotify: more events than expected\n");
}

static void setup(void)
{
	char path_buf[1024];
	unsigned char *buf = malloc(gsize);
	size_t i;
	int fd;

	unlink("ghosts.fifo");
	if (mkfifo("ghosts.fifo", 0600))
		fail("mkfifo: %s\n", strerror(errno));
	to_fd(open("ghosts.fifo", O_RDONLY | O_NONBLOCK), FD_FR);
	to_fd(open("ghosts.fifo", O_WRONLY), FD_FW);
	to_fd(open("ghosts.fifo", O_RDWR), FD_FRW);
	if (fcntl(FD_FW, F_SETPIPE_SZ, FIFO_SZ) != FIFO_SZ)
		fail("F_SETPIPE_SZ: %s\n", strerror(errno));

	unlink("ghosts.ghost");
	to_fd(open("ghosts.ghost", O_RDWR | O_CREAT | O_EXCL, 0640), FD_G);
	if (!buf || fchmod(FD_G, 0640))
		fail("ghost: %s\n", strerror(errno));
	for (i = 0; i < gsize; i++)
		buf[i] = pattern(i);
	if (write(FD_G, buf, gsize) != (ssize_t)gsize || lseek(FD_G, GPOS, SEEK_SET) != GPOS)
		fail("ghost: write: %s\n", strerror(errno));
	to_fd(open("ghosts.ghost", O_RDONLY), FD_G2);
	if (unlink("ghosts.ghost"))
		fail("ghost: unlink: %s\n", strerror(errno));
	shared = mmap(NULL, gsize, PROT_READ | PROT_WRITE, MAP_SHARED, FD_G, 0);
	priv = mmap(NULL, gsize, PROT_READ | PROT_WRITE, MAP_PRIVATE, FD_G2, 0);
	if (shared == MAP_FAILED || priv == MAP_FAILED)
		fail("ghost: mmap: %s\n", strerror(errno));
	memset(priv, 0x5a, 4096);
	free(buf);

	if (mkdir("ghosts.dir", 0700) && errno != EEXIST)
		fail("mkdir: %s\n", strerror(errno));
	fd = open("ghosts.watched", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) || (fd = open("ghosts.gap", O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) < 0 || close(fd))
		fail("ghosts.watched: %s\n", strerror(errno));
	to_fd(inotify_init1(IN_NONBLOCK), FD_IN);
	if (inotify_add_watch(FD_IN, "ghosts.dir", IN_CREATE) != 1 || inotify_add_watch(FD_IN, "ghosts.gap", IN_ATTRIB) != 2 ||
	    inotify_rm_watch(FD_IN, 2) || inotify_add_watch(FD_IN, "ghosts.watched", IN_MODIFY) != 3)
		fail("inotify watches: %s\n", strerror(errno));
	expect_event(2, IN_IGNORED, NULL);
	if (mkdir("ghosts.rmdir", 0750) || chmod("ghosts.rmdir", 0750))
		fail("mkdir ghosts.rmdir: %s\n", strerror(errno));
	to_fd(open("ghosts.rmdir", O_RDONLY | O_DIRECTORY), FD_D);
	while (readdir_end && syscall(SYS_getdents64, FD_D, path_buf, sizeof(path_buf)) > 0)
		;
	dpos = lseek(FD_D, 0, SEEK_CUR);
	if (rmdir("ghosts.rmdir"))
		fail("rmdir: %s\n", strerror(errno));
	to_fd(epoll_create1(0), FD_EP);
	if (epoll_ctl(FD_EP, EPOLL_CTL_ADD, FD_FR, &(struct epoll_event){ .events = EPOLLIN, .data.fd = FD_FR }) ||
	    epoll_ctl(FD_EP, EPOLL_CTL_ADD, FD_IN, &(struct epoll_event){ .events = EPOLLIN, .data.fd = FD_IN }))
		fail("epoll_ctl: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
	if (argc > 1)
		gsize = strtoul(argv[1], NULL, 0);
	readdir_end = argc > 2 && !strcmp(argv[2], "readdir");
	if (gsize < 8192)
		fail("usage: ghosts [SIZE >= 8192]\n");
	signal(SIGUSR2, on_usr2);
	rmdir("ghosts.cwd");
	start_child();
	setup();
	put_pending();
	check_ghost();
	check_dir();
	if (argc > 2 && !strcmp(argv[2], "queued") && mkdir("ghosts.dir/queued", 0700))
		fail("mkdir ghosts.dir/queued: %s\n", strerror(errno));
	say("READY\n");
	for (;;) {
		pause();
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		check_fifo();
		check_ghost();
		check_dir();
		check_inotify();
		check_child();
		n++;
		put_pending();
		say("PASS ghosts %lu\n", n);
	}
}
