// SPDX-License-Identifier: GPL-2.0-or-later
/* Where `checkpoint -o PATH` writes, without ever destroying what PATH is.
 *
 * A new name or an existing regular file gets the image under a temporary
 * name in the same directory, renamed over PATH only once it is complete
 * and durable: a failed checkpoint leaves the old file as it was and no
 * temporary file behind. Anything else that exists (a device, a FIFO, a
 * socket, /dev/stdout and other /proc/PID/fd/N links) is what the user
 * means to write into: it is opened and written in place, never replaced.
 * A directory or a dangling symlink is refused. */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "ckptctl.h"
#include "macro.h"

/* The temporary image being written, so a signal can still remove it:
 * a half-written image must never outlive ckptctl under any name. */
static char output_tmp[PATH_MAX];

static void output_tmp_signal(int sig)
{
	if (output_tmp[0])
		unlink(output_tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void output_tmp_arm(bool on)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], on ? output_tmp_signal : SIG_DFL);
}

/* A temporary file next to o->target (same directory, so the rename is
 * atomic), created exclusively and private: an image holds process memory. */
static int output_tmp_open(struct ctl *c, struct ctl_output *o)
{
	int fd, n;

	n = snprintf(output_tmp, sizeof(output_tmp), "%s.tmp.XXXXXX", o->target);
	if (n < 0 || (size_t)n >= sizeof(output_tmp)) {
		output_tmp[0] = '\0';
		return ctl_fail(c, -ENAMETOOLONG, "%s: path too long", o->target);
	}
	output_tmp_arm(true);
	fd = mkostemp(output_tmp, O_CLOEXEC);
	if (fd < 0) {
		int r = ctl_fail(c, negerrno(), "create a temporary file next to %s: %m", o->target);

		output_tmp_arm(false);
		output_tmp[0] = '\0';
		return r;
	}
	return fd;
}

static void output_tmp_discard(void)
{
	if (output_tmp[0])
		unlink(output_tmp);
	output_tmp_arm(false);
	output_tmp[0] = '\0';
}

/* PATH reaches its file through a /proc magic link (/dev/stdout,
 * /proc/self/fd/N): such a link names an open file, not a place in a
 * directory, so it can only be written in place. */
static bool output_through_magic_link(const char *path)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS };
	int fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ELOOP;
}

/* Open an existing non-regular output as it is: no O_CREAT, and no O_TRUNC,
 * which would be meaningless for a FIFO and destructive for a device. A
 * regular file reached through a magic link (/dev/stdout redirected to a
 * file) is appended to, so bytes already there are never overwritten. */
static int output_open_in_place(struct ctl *c, const char *path, const struct stat *st,
				struct ctl_output *o)
{
	int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY | (S_ISREG(st->st_mode) ? O_APPEND : 0);
	int fd = open(path, flags);

	if (fd < 0 && errno == ENXIO && S_ISSOCK(st->st_mode))
		return ctl_fail(c, -ENXIO, "%s is a socket, which cannot be opened; "
				"connect it to stdout and use -o -", path);
	if (fd < 0)
		return ctl_fail(c, negerrno(), "open %s: %m", path);
	if (isatty(fd)) {
		close(fd);
		return ctl_fail(c, -EINVAL, "refusing to write an image to a terminal (%s)", path);
	}
	o->fd = o->own_fd = fd;
	return 0;
}

/* A symlink to a regular file: the image replaces the link's final target,
 * through a temporary file in the target's directory, and the link stays.
 * Replacing the link itself would silently turn it into a plain file
 * (breaking whatever it stands for, e.g. "latest.img -> 42.img"); writing
 * the target in place would lose atomicity. */
static int output_resolve_target(struct ctl *c, const char *path, struct ctl_output *o)
{
	_cleanup_free_ char *real = realpath(path, NULL);

	if (!real)
		return ctl_fail(c, negerrno(), "resolve %s: %m", path);
	if (strlen(real) >= sizeof(o->target))
		return ctl_fail(c, -ENAMETOOLONG, "%s: path too long", real);
	strcpy(o->target, real);
	return 0;
}

int output_open(struct ctl *c, const char *path, struct ctl_output *o)
{
	struct stat lst, st;
	int fd;

	*o = (struct ctl_output){ .fd = -1, .own_fd = -1 };
	if (streq(path, "-")) {
		if (isatty(STDOUT_FILENO))
			return ctl_fail(c, -EINVAL, "refusing to write an image to a terminal; redirect stdout");
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (lstat(path, &lst) < 0) {
		if (errno != ENOENT)
			return ctl_fail(c, negerrno(), "%s: %m", path);
		/* a new name */
		if (strlen(path) >= sizeof(o->target))
			return ctl_fail(c, -ENAMETOOLONG, "%s: path too long", path);
		strcpy(o->target, path);
	} else if (stat(path, &st) < 0) {
		if (errno == ENOENT && S_ISLNK(lst.st_mode))
			return ctl_fail(c, -ENOENT, "%s is a dangling symlink; refusing to guess where the image goes",
					path);
		return ctl_fail(c, negerrno(), "%s: %m", path);
	} else if (S_ISDIR(st.st_mode)) {
		return ctl_fail(c, -EISDIR, "%s is a directory; -o wants a file name", path);
	} else if (!S_ISREG(st.st_mode) || output_through_magic_link(path)) {
		return output_open_in_place(c, path, &st, o);
	} else if (S_ISLNK(lst.st_mode)) {
		int r = output_resolve_target(c, path, o);

		if (r < 0)
			return r;
	} else {
		strcpy(o->target, path);   /* lstat succeeded: it fits PATH_MAX */
	}
	fd = output_tmp_open(c, o);
	if (fd < 0)
		return fd;
	o->fd = o->own_fd = fd;
	o->replace = true;
	return 0;
}

bool output_is_stdout(const struct ctl_output *o)
{
	struct stat a, b;

	if (o->fd == STDOUT_FILENO)
		return true;
	return o->fd >= 0 && fstat(o->fd, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Make the complete image durable, then give it its real name. */
int output_commit(struct ctl *c, struct ctl_output *o)
{
	_cleanup_free_ char *dir_copy = NULL;
	_cleanup_close_ int dfd = -1;

	if (!o->replace)
		return 0;
	if (fsync(o->fd) < 0)
		return ctl_fail(c, negerrno(), "fsync %s: %m", output_tmp);
	if (rename(output_tmp, o->target) < 0)
		return ctl_fail(c, negerrno(), "rename %s to %s: %m", output_tmp, o->target);
	output_tmp[0] = '\0';
	output_tmp_arm(false);
	o->replace = false;
	/* The rename itself must survive a crash too. */
	dir_copy = strdup(o->target);
	if (dir_copy) {
		dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0)
			(void)fsync(dfd);
	}
	return 0;
}

void output_close(struct ctl_output *o)
{
	if (o->replace)
		output_tmp_discard();
	o->replace = false;
	if (o->own_fd >= 0)
		close(o->own_fd);
	o->fd = o->own_fd = -1;
}
