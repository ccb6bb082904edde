// SPDX-License-Identifier: GPL-2.0-or-later
/* fdinfo of inotify and fanotify marks, and the file handles it gives
 * (fs/notify/fdinfo.c show_mark_fhandle): shared by inotify.c and
 * fanotify.c. */
#include "fhandle.h"
#include "dump.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

char *fdinfo_read_all(pid_t pid, int fd, unsigned max_marks)
{
	char path[64];
	_cleanup_close_ int in = -1;
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || !buf) {
		free(buf);
		return NULL;
	}
	while ((n = read(in, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			if (cap > (size_t)max_marks * 512 || !(nb = realloc(buf, cap * 2))) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool fdinfo_unhex_handle(const char *hex, struct fdinfo_inode *in)
{
	int hi, lo;

	if (in->hbytes == 0 || in->hbytes > FHANDLE_MAX)
		return false;
	for (unsigned i = 0; i < in->hbytes; i++, hex += 2) {
		hi = unhex(hex[0]);
		lo = hi < 0 ? -1 : unhex(hex[1]);
		if (lo < 0)
			return false;
		in->handle[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

int fhandle_path(pid_t pid, const struct fdinfo_inode *in, char *ret, size_t len, struct stat *ret_st)
{
	_cleanup_free_ struct file_handle *fh = malloc(sizeof(*fh) + FHANDLE_MAX);
	_cleanup_fclose_ FILE *mi = NULL;
	char path[PATH_MAX + 64], mnt[PATH_MAX], self[64], line[PATH_MAX * 2 + 256];
	unsigned maj, mnr;
	struct stat st;
	ssize_t n;

	if (!fh)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	mi = fopen(path, "re");
	if (!mi)
		return -errno;
	fh->handle_bytes = in->hbytes;
	fh->handle_type = in->htype;
	memcpy(fh->f_handle, in->handle, in->hbytes);
	while (fgets(line, sizeof(line), mi)) {
		_cleanup_close_ int mfd = -1, fd = -1;

		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &mnr, mnt) != 3 || strchr(mnt, '\\') ||
		    !fdinfo_sdev_is(in->sdev, maj, mnr) || !cr_task_path(pid, mnt, path, sizeof(path)))
			continue;
		mfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);   /* not O_PATH: open_by_handle_at refuses it */
		fd = mfd < 0 ? -1 : (int)syscall(SYS_open_by_handle_at, mfd, fh, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		n = readlink(self, ret, len);
		if (n <= 0 || (size_t)n >= len)
			continue;
		ret[n] = 0;
		if (ret[0] != '/' || strstr(ret, " (deleted)") || !cr_task_path(pid, ret, path, sizeof(path)) ||
		    lstat(path, &st) < 0 || st.st_ino != in->ino || major(st.st_dev) != maj || minor(st.st_dev) != mnr)
			continue;
		*ret_st = st;
		return 0;
	}
	return -ENOENT;
}
