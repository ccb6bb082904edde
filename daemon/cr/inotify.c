// SPDX-License-Identifier: GPL-2.0-or-later
/* inotify: each watch is saved with its watch descriptor, its mask and the
 * path (in the container) of what it watches, found from the file handle
 * fdinfo gives. Restart makes the instance in the worker and adds the
 * watches in wd order, spending the numbers in between on watches of a
 * file of its own (inotify hands out wds in increasing order), so the
 * program finds every watch under the number it knows. Events not yet
 * read are refused. */
#include "restore.h"
#include "fhandle.h"
#include "fsident.h"
#include "validate.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

bool inotify_classify(const char *link, Ckpt__Img__File *f)
{
	if (!streq(link, "anon_inode:inotify"))
		return false;
	f->kind = CKPT__IMG__FILE_KIND__FILE_INOTIFY;
	return true;
}

/* ---- checkpoint ---- */

/* One "inotify" line of fdinfo (fs/notify/fdinfo.c inotify_fdinfo). */
struct watch_line {
	int wd;
	uint32_t mask;
	struct fdinfo_inode in;
};

static bool parse_watch(const char *line, struct watch_line *w)
{
	int n = 0;

	if (sscanf(line, "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%*x fhandle-bytes:%x fhandle-type:%x f_handle:%n",
		   (unsigned *)&w->wd, &w->in.ino, &w->in.sdev, &w->mask, &w->in.hbytes, (unsigned *)&w->in.htype, &n) < 6 || !n)
		return false;
	return w->wd > 0 && fdinfo_unhex_handle(line + n, &w->in);
}

static int cmp_wd(const void *a, const void *b)
{
	return (*(Ckpt__Img__InotifyWatch *const *)a)->wd - (*(Ckpt__Img__InotifyWatch *const *)b)->wd;
}

static int fail_fd(struct dump_ctx *ctx, int fd, const char *fmt, int arg, const char *s)
{
	char obj[64], why[PATH_MAX + 128];

	snprintf(obj, sizeof(obj), "fd %d (inotify)", fd);
	snprintf(why, sizeof(why), fmt, arg, s);
	return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s", why);
}

/* Restart adds the watch as the container's owner, by the path in the
 * task's root: the owner must reach it there and may read it. */
static int probe_watch(struct dump_ctx *ctx, pid_t pid, const char *path, const struct stat *st)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int rootfd = -1, t = -1;
	struct fs_ident saved;
	struct stat nst;
	char root[64];
	int r;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);
	if (r < 0)
		return r;
	t = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	r = t < 0 ? -errno : 0;
	fs_ident_leave(&saved);
	if (r < 0)
		return r;
	if (fstat(t, &nst) < 0 || nst.st_dev != st->st_dev || nst.st_ino != st->st_ino)
		return -ESTALE;
	return fs_ident_may(ctx->req->owner_uid, ctx->req->owner_gid, t, R_OK);
}

static int add_watch(struct dump_ctx *ctx, pid_t pid, int fd, const struct watch_line *wl, Ckpt__Img__File *f)
{
	Ckpt__Img__InotifyWatch *w;
	char p[PATH_MAX], why[PATH_MAX + 128];
	struct stat st = { 0 };
	int r;

	if (fhandle_path(pid, &wl->in, p, sizeof(p), &st) < 0)
		return fail_fd(ctx, fd, "watch %d: what it watches has no path in the container (deleted, or on a "
			       "filesystem it can't be found on)%s", wl->wd, "");
	r = probe_watch(ctx, pid, p, &st);
	if (r < 0) {
		snprintf(why, sizeof(why), "%s: restart could not watch it again as the container's owner (uid %u): %s", p,
			 ctx->req->owner_uid, r == -ESTALE ? "its path names another file there" : strerror(-r));
		return fail_fd(ctx, fd, "watch %d on %s", wl->wd, why);
	}
	if (f->n_inotify_watches >= CR_INOTIFY_MAX_WATCHES)
		return fail_fd(ctx, fd, "more than %d watches%s", CR_INOTIFY_MAX_WATCHES, "");
	w = malloc(sizeof(*w));
	if (w)
		ckpt__img__inotify_watch__init(w);
	if (!w || !(w->path = strdup(p))) {
		free(w);
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "inotify watches");
	}
	w->wd = wl->wd;
	w->mask = wl->mask;
	w->ftype = st.st_mode & S_IFMT;
	f->inotify_watches[f->n_inotify_watches++] = w;
	return 0;
}

int inotify_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f)
{
	_cleanup_close_ int pidfd = -1, ifd = -1;
	_cleanup_free_ char *info = fdinfo_read_all(pid, fd, CR_INOTIFY_MAX_WATCHES);
	struct watch_line *wl = NULL;
	char *line, *save = NULL;
	int queued = 0, r = 0;

	if (!info)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d: inotify fdinfo", pid, fd);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ifd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (ifd < 0 || ioctl(ifd, FIONREAD, &queued) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d: inotify: reading its queue", pid, fd);
	if (queued)
		return fail_fd(ctx, fd, "%d bytes of events not read yet: queued events are not supported%s", queued, "");
	f->inotify_watches = calloc(CR_INOTIFY_MAX_WATCHES, sizeof(*f->inotify_watches));
	wl = malloc(sizeof(*wl));
	if (!f->inotify_watches || !wl) {
		free(wl);
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "inotify watches");
	}
	for (line = strtok_r(info, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "inotify ", 8))
			continue;
		if (!parse_watch(line, wl))
			r = fail_fd(ctx, fd, "a watch fdinfo shows without a file handle (%.*s)", 80, line);
		else
			r = add_watch(ctx, pid, fd, wl, f);
	}
	free(wl);
	if (r >= 0)
		qsort(f->inotify_watches, f->n_inotify_watches, sizeof(*f->inotify_watches), cmp_wd);
	return r;
}

void inotify_dump_free(Ckpt__Img__File *f)
{
	for (size_t i = 0; i < f->n_inotify_watches; i++) {
		free(f->inotify_watches[i]->path);
		free(f->inotify_watches[i]);
	}
	free(f->inotify_watches);
	f->inotify_watches = NULL;
	f->n_inotify_watches = 0;
}

/* ---- restart ---- */

/* Read away what the instance has queued (IN_IGNORED of the spent wds). */
static int drain(int fd)
{
	char buf[16384];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n < 0 && errno != EAGAIN ? -errno : 0;
}

/* Spend wds up to (not including) want on watches of spare, a file of
 * our own no saved watch can name. */
static int spend_wds(int fd, const char *spare, int *next, int want)
{
	int wd, r;

	while (*next < want) {
		wd = inotify_add_watch(fd, spare, IN_ATTRIB);
		if (wd < 0)
			return -errno;
		if (wd != *next)
			return -ERANGE;
		if (inotify_rm_watch(fd, wd) < 0)
			return -errno;
		if (++*next % 1024 == 0 && (r = drain(fd)) < 0)
			return r;
	}
	return 0;
}

static int add_saved(struct restore_ctx *ctx, int fd, int rootfd, const Ckpt__Img__InotifyWatch *w, uint32_t id)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int t = (int)syscall(SYS_openat2, rootfd, w->path, &how, sizeof(how));
	char self[64];
	struct stat st;
	int wd;

	if (t < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "file %u (inotify): watch %d on %s (as the container's owner, uid %u)",
			       id, w->wd, w->path, ctx->req->owner_uid);
	if (fstat(t, &st) < 0 || (st.st_mode & S_IFMT) != w->ftype)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "file %u (inotify): watch %d: %s is no longer the same kind of file",
			       id, w->wd, w->path);
	/* the magic link leads to the object itself, a symlink included */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", t);
	wd = inotify_add_watch(fd, self, w->mask);
	if (wd < 0)
		return cr_fail(ctx->err, errno == EACCES ? CR_ERR_IO : CR_ERR_KERNEL, errno, "file %u (inotify): watch %d on %s (as the container's owner, uid %u)",
			       id, w->wd, w->path, ctx->req->owner_uid);
	if (wd != w->wd)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u (inotify): watch on %s came back as wd %d, not %d "
			       "(one file watched twice?)", id, w->path, wd, w->wd);
	return 0;
}

int inotify_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	_cleanup_close_ int fd = -1, rootfd = -1, spare = -1;
	char buf[64], spare_path[64];
	struct fs_ident saved;
	int next = 1, r = 0;
	size_t i;

	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	spare = memfd_create("ckpt-inotify-spare", MFD_CLOEXEC);
	snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
	rootfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || spare < 0 || rootfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u (inotify): making it", f->id);
	snprintf(spare_path, sizeof(spare_path), "/proc/self/fd/%d", spare);
	/* an image watches nothing its owner could not */
	r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "file %u (inotify): taking the identity of the owner (uid %u, gid %u)",
			       f->id, ctx->req->owner_uid, ctx->req->owner_gid);
	for (i = 0; i < f->n_inotify_watches && r >= 0; i++) {
		const Ckpt__Img__InotifyWatch *w = f->inotify_watches[i];

		r = spend_wds(fd, spare_path, &next, w->wd);
		if (r < 0) {
			r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "file %u (inotify): reaching watch descriptor %d", f->id, w->wd);
			break;
		}
		r = add_saved(ctx, fd, rootfd, w, f->id);
		next = w->wd + 1;
	}
	fs_ident_leave(&saved);
	if (r >= 0 && (r = drain(fd)) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "file %u (inotify): reading its queue", f->id);
	if (r >= 0 && !(f->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, 0) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u (inotify): flags", f->id);
	return r < 0 ? r : TAKE_FD(fd);
}

static int drain_one(void *obj, void *arg)
{
	struct restore_obj *o = obj;
	struct restore_ctx *ctx = arg;
	int fd, fl, r;

	if (o->kind != CKPT__IMG__FILE_KIND__FILE_INOTIFY || o->slot < 0)
		return 0;
	fd = ctx->pool[o->slot];
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "inotify: flags");
	r = drain(fd);
	if (r < 0 || fcntl(fd, F_SETFL, fl) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, r < 0 ? -r : errno, "inotify: reading its queue");
	return 0;
}

/* The checkpoint saw every queue empty: what restart's own opens of the
 * container's files queued since is read away before any task runs. */
int inotify_restore_drain(struct restore_ctx *ctx)
{
	return objhash_for_each(ctx->objs, OBJ_FILE, drain_one, ctx);
}
