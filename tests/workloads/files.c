// SPDX-License-Identifier: GPL-2.0-or-later
/* files: file descriptors whose numbers, paths, modes, flags and offsets must
 * survive a restart.
 *
 *   files [WORKDIR]      (WORKDIR default /tmp; files.* are created there)
 *
 * fd 10: files.rw O_RDWR, read and written at known offsets (shadowed in memory)
 * fd 11: dup(10), shares the offset
 * fd 12: files.app O_WRONLY|O_APPEND, one line per iteration
 * fd 13: /dev/null O_WRONLY        fd 14: /dev/zero O_RDONLY
 * fd 15: files.ro O_RDONLY|O_CLOEXEC   fd 42: files.ro O_RDONLY (no cloexec)
 * READY, then every ~25 ms verify + a little work; SIGUSR2: "PASS files <iter>". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define RW_SIZE (64 * 1024)
#define CHUNK 24

enum { FD_RW = 10, FD_DUP = 11, FD_APP = 12, FD_DEVNULL = 13, FD_DEVZERO = 14, FD_CE = 15, FD_NCE = 42 };

static uint8_t shadow[RW_SIZE];
static off_t pos;		/* expected offset of FD_RW / FD_DUP */
static off_t app_size;
static unsigned long iter;

static void open_at(const char *dir, const char *name, int flags, int want)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", name);
	fd = open(path, flags, 0600);
	if (fd < 0)
		fail("open %s: %s\n", path, strerror(errno));
	if (dup3(fd, want, flags & O_CLOEXEC) != want)
		fail("dup3 %s -> %d: %s\n", path, want, strerror(errno));
	close(fd);
}

static void check_fl(int fd, int accmode, int extra, int cloexec)
{
	int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);

	if (fl < 0 || fdf < 0)
		fail("fcntl fd %d: %s\n", fd, strerror(errno));
	if ((fl & O_ACCMODE) != accmode)
		fail("fd %d access mode %#x != %#x\n", fd, fl & O_ACCMODE, accmode);
	if ((fl & extra) != extra)
		fail("fd %d flags %#x lack %#x\n", fd, fl, extra);
	if (!!(fdf & FD_CLOEXEC) != cloexec)
		fail("fd %d FD_CLOEXEC is %d, want %d\n", fd, !!(fdf & FD_CLOEXEC), cloexec);
}

static void check_off(int fd, off_t want)
{
	off_t o = lseek(fd, 0, SEEK_CUR);

	if (o != want)
		fail("fd %d offset %ld != %ld\n", fd, (long)o, (long)want);
}

static void verify_all(void)
{
	static uint8_t buf[RW_SIZE];
	struct stat st;
	char c[64];

	check_fl(FD_RW, O_RDWR, 0, 0);
	check_fl(FD_DUP, O_RDWR, 0, 0);
	check_fl(FD_APP, O_WRONLY, O_APPEND, 0);
	check_fl(FD_DEVNULL, O_WRONLY, 0, 0);
	check_fl(FD_DEVZERO, O_RDONLY, 0, 0);
	check_fl(FD_CE, O_RDONLY, 0, 1);
	check_fl(FD_NCE, O_RDONLY, 0, 0);
	check_off(FD_RW, pos);
	check_off(FD_DUP, pos);
	check_off(FD_APP, app_size);
	check_off(FD_CE, 5);
	check_off(FD_NCE, 9);

	if (pread(FD_RW, buf, RW_SIZE, 0) != RW_SIZE || memcmp(buf, shadow, RW_SIZE))
		fail("files.rw content differs from its shadow\n");
	if (fstat(FD_APP, &st) || st.st_size != app_size)
		fail("files.app size %ld != %ld\n", (long)st.st_size, (long)app_size);
	if (fstat(FD_DEVNULL, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		fail("fd %d is not /dev/null\n", FD_DEVNULL);
	if (fstat(FD_DEVZERO, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 5))
		fail("fd %d is not /dev/zero\n", FD_DEVZERO);
	memset(c, 0x55, sizeof(c));
	if (read(FD_DEVZERO, c, sizeof(c)) != sizeof(c))
		fail("read /dev/zero\n");
	for (size_t i = 0; i < sizeof(c); i++)
		if (c[i])
			fail("/dev/zero gave a non-zero byte\n");
	if (write(FD_DEVNULL, c, sizeof(c)) != sizeof(c))
		fail("write /dev/null\n");
	if (pread(FD_CE, c, 4, 0) != 4 || memcmp(c, "ro-f", 4) ||
	    pread(FD_NCE, c, 4, 0) != 4 || memcmp(c, "ro-f", 4))
		fail("files.ro content\n");
}

/* Read CHUNK bytes at the current offset through one fd, check them, write a
 * record through the other: the offset moves for both. */
static void work(void)
{
	uint8_t buf[CHUNK];
	char line[64];
	int rd = iter & 1 ? FD_DUP : FD_RW, wr = iter & 1 ? FD_RW : FD_DUP;
	int n;

	if (pos + 2 * CHUNK > RW_SIZE) {
		if (lseek(FD_RW, 0, SEEK_SET) != 0)
			fail("lseek\n");
		pos = 0;
	}
	if (read(rd, buf, CHUNK) != CHUNK)
		fail("read files.rw at %ld\n", (long)pos);
	if (memcmp(buf, shadow + pos, CHUNK))
		fail("files.rw bytes at %ld\n", (long)pos);
	pos += CHUNK;
	for (int i = 0; i < CHUNK; i++)
		buf[i] = (uint8_t)(iter * 31 + i);
	if (write(wr, buf, CHUNK) != CHUNK)
		fail("write files.rw at %ld\n", (long)pos);
	memcpy(shadow + pos, buf, CHUNK);
	pos += CHUNK;

	n = snprintf(line, sizeof(line), "line %lu\n", iter);
	if (write(FD_APP, line, n) != n)
		fail("append\n");
	app_size += n;
	iter++;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 25 * 1000 * 1000 };
	char path[512];
	char c[16];
	int fd;

	sigaction(SIGUSR2, &sa, NULL);

	for (size_t i = 0; i < RW_SIZE; i++)
		shadow[i] = (uint8_t)(i * 7 + 3);
	snprintf(path, sizeof(path), "%s/files.ro", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "ro-file-content\n", 16) != 16)
		fail("create %s\n", path);
	close(fd);

	open_at(dir, "files.rw", O_RDWR | O_CREAT | O_TRUNC, FD_RW);
	if (write(FD_RW, shadow, RW_SIZE) != RW_SIZE)
		fail("fill files.rw\n");
	if (lseek(FD_RW, 100, SEEK_SET) != 100)
		fail("lseek\n");
	pos = 100;
	if (dup2(FD_RW, FD_DUP) != FD_DUP)
		fail("dup2\n");
	open_at(dir, "files.app", O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, FD_APP);
	open_at("", "/dev/null", O_WRONLY, FD_DEVNULL);
	open_at("", "/dev/zero", O_RDONLY, FD_DEVZERO);
	open_at(dir, "files.ro", O_RDONLY | O_CLOEXEC, FD_CE);
	open_at(dir, "files.ro", O_RDONLY, FD_NCE);
	if (read(FD_CE, c, 5) != 5 || read(FD_NCE, c, 9) != 9)
		fail("read files.ro\n");

	verify_all();
	say("READY\n");
	for (;;) {
		nanosleep(&ts, NULL);
		verify_all();
		if (got_usr2) {
			got_usr2 = 0;
			say("PASS files %lu\n", iter);
		}
		work();
	}
}
