// SPDX-License-Identifier: GPL-2.0-or-later
/* restorable: descriptions a checkpoint must either restore exactly or
 * refuse before it kills anything.
 *
 *   restorable MODE [WORKDIR]     (WORKDIR default /tmp; rst.* made there)
 *
 * MODE (comma-separated, or "all" for the first four):
 *   memfd     fd 20 an empty memfd, fd 21 a memfd with holes and a size that
 *             is not whole pages, fd 22 a sparse 1 GiB memfd, fd 23 an
 *             empty sealed memfd
 *   opath     O_PATH on a file (30), a directory (31, O_DIRECTORY), a
 *             symlink (32, O_NOFOLLOW) and /dev/null (33)
 *   proc      /proc/self/stat (40), /proc/CHILD/status of a child (41),
 *             /proc/self/fd/ (42), /proc/meminfo read up to 100 (43),
 *             /proc/uptime (44)
 *   nofollow  rst.db O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC written at a known
 *             offset (50), rst.file O_RDONLY|O_NOFOLLOW (51)
 *   procmem   /proc/self/mem (60): a checkpoint must refuse it
 *   longpath  a file whose path is longer than an image may hold (61):
 *             a checkpoint must refuse it
 * Every fd's F_GETFL, F_GETFD and identity (fstat) are recorded when it is
 * opened and checked on each verification, with its contents and offset.
 * READY, then every ~25 ms verify; SIGUSR2: "PASS restorable <iter>". */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "wl.h"

#define PROC_SUPER_MAGIC 0x9fa0
#define HOLEY_SIZE (5 * 4096 + 100)
#define SPARSE_SIZE (1ull << 30)
#define SPARSE_AT (512ull << 20)

struct rec {
	int fd;
	const char *what;
	int fl, fdf;
	struct stat st;
	enum { SAME_INODE, SAME_PROC, SAME_NAME } ident;
	char link[256];   /* what /proc/self/fd/N names */
};

static struct rec recs[32];
static int nrecs;
static pid_t child;
static off_t db_pos;
static unsigned long iter;

/* ident: how the file is the same after a restart: the same inode; a
 * file of the container's /proc (mounted anew: other inode numbers); a
 * memfd (made anew: the same name, type and contents). */
static void keep(int fd, int want, const char *what, int ident)
{
	struct rec *r = &recs[nrecs++];
	char path[64];

	if (fd < 0)
		fail("open %s: %s\n", what, strerror(errno));
	if (fd != want) {
		if (dup3(fd, want, fcntl(fd, F_GETFD) & FD_CLOEXEC ? O_CLOEXEC : 0) != want)
			fail("dup3 %s -> %d: %s\n", what, want, strerror(errno));
		close(fd);
	}
	r->fd = want;
	r->what = what;
	r->fl = fcntl(want, F_GETFL);
	r->fdf = fcntl(want, F_GETFD);
	r->ident = ident;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", want);
	if (readlink(path, r->link, sizeof(r->link) - 1) < 0)
		fail("readlink %s: %s\n", path, strerror(errno));
	if (fstat(want, &r->st) < 0)
		fail("fstat %s: %s\n", what, strerror(errno));
}

static void check_rec(const struct rec *r)
{
	int fl = fcntl(r->fd, F_GETFL), fdf = fcntl(r->fd, F_GETFD);
	char path[64], link[256] = "";
	struct stat st, pst;

	if (fl != r->fl)
		fail("%s (fd %d): F_GETFL %#x, was %#x\n", r->what, r->fd, fl, r->fl);
	if (fdf != r->fdf)
		fail("%s (fd %d): F_GETFD %#x, was %#x\n", r->what, r->fd, fdf, r->fdf);
	if (fstat(r->fd, &st) < 0)
		fail("%s (fd %d): fstat: %s\n", r->what, r->fd, strerror(errno));
	if ((st.st_mode & S_IFMT) != (r->st.st_mode & S_IFMT) || st.st_rdev != r->st.st_rdev)
		fail("%s (fd %d): file type or device changed\n", r->what, r->fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r->fd);
	if (readlink(path, link, sizeof(link) - 1) < 0 || strcmp(link, r->link))
		fail("%s (fd %d): names '%s', was '%s'\n", r->what, r->fd, link, r->link);
	if ((r->ident == SAME_INODE && (st.st_dev != r->st.st_dev || st.st_ino != r->st.st_ino)) ||
	    (r->ident == SAME_PROC && (stat("/proc", &pst) < 0 || st.st_dev != pst.st_dev)))
		fail("%s (fd %d): not the same file any more\n", r->what, r->fd);
}

static bool has(const char *modes, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = modes; (p = strstr(p, m)); p += n)
		if ((p == modes || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

/* ---- memfd ---- */

static uint8_t pat(uint64_t off) { return (uint8_t)(off * 13 + 7); }

static void put_page(int fd, uint64_t off, size_t len)
{
	uint8_t buf[4096];

	for (size_t i = 0; i < len; i++)
		buf[i] = pat(off + i);
	if (pwrite(fd, buf, len, off) != (ssize_t)len)
		fail("memfd pwrite at %llu: %s\n", (unsigned long long)off, strerror(errno));
}

static void check_range(int fd, const char *what, uint64_t off, size_t len, bool zero)
{
	uint8_t buf[4096];

	if (pread(fd, buf, len, off) != (ssize_t)len)
		fail("%s: pread at %llu: %s\n", what, (unsigned long long)off, strerror(errno));
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (zero ? 0 : pat(off + i)))
			fail("%s: byte %llu is %#x\n", what, (unsigned long long)(off + i), buf[i]);
}

static void setup_memfd(void)
{
	int fd;

	keep(memfd_create("rst-empty", MFD_CLOEXEC), 20, "empty memfd", SAME_NAME);
	fd = memfd_create("rst-holes", 0);
	if (fd < 0 || ftruncate(fd, HOLEY_SIZE) < 0)
		fail("memfd holes: %s\n", strerror(errno));
	put_page(fd, 0, 4096);
	put_page(fd, 3 * 4096, 4096);
	put_page(fd, 5 * 4096, 100);   /* the partial last page */
	if (lseek(fd, 1234, SEEK_SET) != 1234)
		fail("lseek memfd\n");
	keep(fd, 21, "memfd with holes", SAME_NAME);
	fd = memfd_create("rst-sparse", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, SPARSE_SIZE) < 0)
		fail("memfd sparse: %s\n", strerror(errno));
	put_page(fd, SPARSE_AT, 4096);
	keep(fd, 22, "sparse memfd", SAME_NAME);
	fd = memfd_create("rst-sealed", MFD_ALLOW_SEALING);
	if (fd < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		fail("memfd sealed: %s\n", strerror(errno));
	keep(fd, 23, "sealed empty memfd", SAME_NAME);
}

static void verify_memfd(void)
{
	struct stat st;
	char c;

	if (fstat(20, &st) || st.st_size != 0 || read(20, &c, 1) != 0)
		fail("empty memfd is not empty\n");
	if (fstat(21, &st) || st.st_size != HOLEY_SIZE || lseek(21, 0, SEEK_CUR) != 1234)
		fail("memfd with holes: size %lld or offset changed\n", (long long)st.st_size);
	check_range(21, "memfd with holes", 0, 4096, SAME_INODE);
	check_range(21, "memfd with holes", 4096, 4096, SAME_PROC);
	check_range(21, "memfd with holes", 3 * 4096, 4096, SAME_INODE);
	check_range(21, "memfd with holes", 5 * 4096, 100, SAME_INODE);
	if (fstat(22, &st) || (uint64_t)st.st_size != SPARSE_SIZE || st.st_blocks > 64)
		fail("sparse memfd: size %lld, %lld blocks\n", (long long)st.st_size, (long long)st.st_blocks);
	check_range(22, "sparse memfd", SPARSE_AT, 4096, SAME_INODE);
	check_range(22, "sparse memfd", SPARSE_AT - 4096, 4096, SAME_PROC);
	if (fstat(23, &st) || st.st_size != 0)
		fail("sealed memfd is not empty\n");
	if (fcntl(23, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_WRITE | F_SEAL_SEAL))
		fail("sealed memfd: seals %#x\n", fcntl(23, F_GET_SEALS));
}

/* ---- O_PATH ---- */

static void setup_opath(const char *dir)
{
	char p[512], l[512];

	snprintf(p, sizeof(p), "%s/rst.file", dir);
	snprintf(l, sizeof(l), "%s/rst.link", dir);
	unlink(l);
	if (symlink("rst.file", l) < 0)
		fail("symlink %s: %s\n", l, strerror(errno));
	keep(open(p, O_PATH), 30, "O_PATH file", SAME_INODE);
	keep(open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), 31, "O_PATH directory", SAME_INODE);
	keep(open(l, O_PATH | O_NOFOLLOW), 32, "O_PATH symlink", SAME_INODE);
	keep(open("/dev/null", O_PATH), 33, "O_PATH /dev/null", SAME_INODE);
	if (!S_ISLNK(recs[nrecs - 2].st.st_mode))
		fail("O_PATH|O_NOFOLLOW did not give the symlink\n");
}

static void verify_opath(void)
{
	char t[64];
	ssize_t n = readlinkat(32, "", t, sizeof(t));

	if (n != 8 || memcmp(t, "rst.file", 8))
		fail("O_PATH symlink: readlinkat gives %zd\n", n);
	if (faccessat(31, "rst.file", R_OK, 0) < 0)
		fail("O_PATH directory: rst.file not found through it: %s\n", strerror(errno));
}

/* ---- /proc ---- */

static void setup_proc(void)
{
	char p[64];
	int fd;

	if (stat("/proc", &(struct stat){ 0 }) < 0)
		fail("no /proc\n");
	keep(open("/proc/self/stat", O_RDONLY), 40, "/proc/self/stat", SAME_PROC);
	child = fork();
	if (child < 0)
		fail("fork: %s\n", strerror(errno));
	if (child == 0) {
		/* a /proc description shared by two processes is refused */
		close(40);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	snprintf(p, sizeof(p), "/proc/%d/status", child);
	keep(open(p, O_RDONLY | O_CLOEXEC), 41, "/proc/CHILD/status", SAME_PROC);
	keep(open("/proc/self/fd", O_RDONLY | O_DIRECTORY), 42, "/proc/self/fd/", SAME_PROC);
	fd = open("/proc/meminfo", O_RDONLY);
	if (fd < 0 || read(fd, (char[100]){ 0 }, 100) != 100)
		fail("read /proc/meminfo: %s\n", strerror(errno));
	keep(fd, 43, "/proc/meminfo", SAME_PROC);
	keep(open("/proc/uptime", O_RDONLY), 44, "/proc/uptime", SAME_PROC);
}

static void verify_proc(void)
{
	char buf[4096], want[64];
	ssize_t n;

	n = pread(40, buf, sizeof(buf) - 1, 0);
	snprintf(want, sizeof(want), "%d (", getpid());
	if (n <= 0 || (buf[n] = 0, strncmp(buf, want, strlen(want))))
		fail("/proc/self/stat reads '%.40s', want '%s'\n", n > 0 ? buf : "", want);
	n = pread(41, buf, sizeof(buf) - 1, 0);
	snprintf(want, sizeof(want), "\nPid:\t%d\n", child);
	if (n <= 0 || (buf[n] = 0, !strstr(buf, want)))
		fail("/proc/%d/status does not say its pid\n", child);
	if (lseek(42, 0, SEEK_SET) != 0 || getdents64(42, buf, sizeof(buf)) <= 0)
		fail("/proc/self/fd/: %s\n", strerror(errno));
	if (lseek(43, 0, SEEK_CUR) != 100)
		fail("/proc/meminfo: offset %ld, want 100\n", (long)lseek(43, 0, SEEK_CUR));
	n = pread(44, buf, sizeof(buf) - 1, 0);
	if (n <= 0 || (buf[n] = 0, strtod(buf, NULL) <= 0))
		fail("/proc/uptime unreadable\n");
}

/* ---- O_NOFOLLOW ---- */

static void setup_nofollow(const char *dir)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/rst.db", dir);
	unlink(p);
	keep(open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600), 50, "O_NOFOLLOW database", SAME_INODE);
	snprintf(p, sizeof(p), "%s/rst.file", dir);
	keep(open(p, O_RDONLY | O_NOFOLLOW), 51, "O_NOFOLLOW read-only file", SAME_INODE);
}

static void work_nofollow(void)
{
	char line[32], back[32];
	int n = snprintf(line, sizeof(line), "row %08lu\n", iter);

	if (write(50, line, n) != n)
		fail("O_NOFOLLOW database: write: %s\n", strerror(errno));
	if (pread(50, back, n, db_pos) != n || memcmp(back, line, n))
		fail("O_NOFOLLOW database: row %lu not read back\n", iter);
	db_pos += n;
}

static void verify_nofollow(void)
{
	char buf[16];

	if (lseek(50, 0, SEEK_CUR) != db_pos)
		fail("O_NOFOLLOW database: offset %ld, want %ld\n", (long)lseek(50, 0, SEEK_CUR), (long)db_pos);
	if (pread(51, buf, 9, 0) != 9 || memcmp(buf, "rst-file\n", 9))
		fail("O_NOFOLLOW read-only file: content\n");
}

/* ---- what must be refused ---- */

static void setup_longpath(const char *dir)
{
	char name[200];
	int d = open(dir, O_PATH | O_DIRECTORY), n;

	memset(name, 'd', 190);
	name[190] = 0;
	for (n = 0; n < 21; n++) {   /* 21 * 191 bytes: over 4000, under 4096 with the workdir */
		int nd;

		if (mkdirat(d, name, 0700) < 0 && errno != EEXIST)
			fail("mkdirat: %s\n", strerror(errno));
		nd = openat(d, name, O_PATH | O_DIRECTORY);
		if (nd < 0)
			fail("openat: %s\n", strerror(errno));
		close(d);
		d = nd;
	}
	keep(openat(d, "f", O_RDWR | O_CREAT, 0600), 61, "a file with a long path", SAME_INODE);
	close(d);
}

int main(int argc, char **argv)
{
	const char *modes = argc > 1 ? argv[1] : "all";
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 25 * 1000 * 1000 };
	bool all = !strcmp(modes, "all");
	char p[512];
	int fd;

	sigaction(SIGUSR2, &sa, NULL);
	snprintf(p, sizeof(p), "%s/rst.file", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "rst-file\n", 9) != 9)
		fail("create %s\n", p);
	close(fd);
	if (all || has(modes, "memfd"))
		setup_memfd();
	if (all || has(modes, "opath"))
		setup_opath(dir);
	if (all || has(modes, "proc"))
		setup_proc();
	if (all || has(modes, "nofollow"))
		setup_nofollow(dir);
	if (has(modes, "procmem"))
		keep(open("/proc/self/mem", O_RDONLY), 60, "/proc/self/mem", SAME_PROC);
	if (has(modes, "longpath"))
		setup_longpath(dir);
	say("READY\n");
	for (;;) {
		nanosleep(&ts, NULL);
		for (int i = 0; i < nrecs; i++)
			check_rec(&recs[i]);
		if (all || has(modes, "memfd"))
			verify_memfd();
		if (all || has(modes, "opath"))
			verify_opath();
		if (all || has(modes, "proc"))
			verify_proc();
		if (all || has(modes, "nofollow")) {
			verify_nofollow();
			work_nofollow();
		}
		if (got_usr2) {
			got_usr2 = 0;
			say("PASS restorable %lu\n", iter);
		}
		iter++;
	}
}
