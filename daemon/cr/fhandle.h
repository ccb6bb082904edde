// SPDX-License-Identifier: GPL-2.0-or-later
/* fdinfo of inotify and fanotify marks, and the file handles it gives:
 * reading the whole fdinfo, decoding a mark's f_handle, and finding the
 * path, in the task's mounts, of the inode a handle names. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define FHANDLE_MAX 128

/* The inode a mark names, as fdinfo shows it. */
struct fdinfo_inode {
	unsigned long ino;
	unsigned sdev;      /* the kernel's dev_t: major << 20 | minor */
	unsigned hbytes;
	int htype;
	unsigned char handle[FHANDLE_MAX];
};

/* The whole fdinfo of pid's fd (it grows with the marks), NUL-ended;
 * NULL with errno set, EFBIG past what max_marks lines could take. */
char *fdinfo_read_all(pid_t pid, int fd, unsigned max_marks);

/* Decodes in->hbytes bytes of hex (fdinfo's f_handle:) into in->handle;
 * false if hbytes is 0 or over FHANDLE_MAX or the hex is short or bad. */
bool fdinfo_unhex_handle(const char *hex, struct fdinfo_inode *in);

/* Whether the kernel's dev_t sdev is maj:mnr. */
static inline bool fdinfo_sdev_is(unsigned sdev, unsigned maj, unsigned mnr)
{
	return maj == sdev >> 20 && mnr == (sdev & 0xfffff);
}

/* The path, in the container, of the inode in names: its handle opened
 * through each mount of its filesystem the task sees, until one gives a
 * path that names the same file there. 0, or -errno (-ENOENT: none). */
int fhandle_path(pid_t pid, const struct fdinfo_inode *in, char *ret, size_t len, struct stat *ret_st);
