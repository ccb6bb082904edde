// SPDX-License-Identifier: GPL-2.0-or-later
/* fanotify: a group is saved with the flags and event_f_flags it was made
 * with and its marks, each by the path (in the container) of what it
 * marks: an inode by its file handle (fdinfo), a mount by its mount point,
 * a filesystem by a path on it; with the mark's flags, mask and ignored
 * mask. Restart makes the group in the worker and adds the marks again on
 * those paths. Refused: events not read yet, permission events (a process
 * may be waiting for an answer, which can't be seen), FAN_REPORT_* modes
 * (events that carry file handles, names or pidfds: not checked the same
 * after restart), and marks whose object has no path in the container. */
#include "restore.h"
#include "fhandle.h"
#include "fsident.h"
#include "validate.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

bool fanotify_classify(const char *link, Ckpt__Img__File *f)
{
	if (!streq(link, "anon_inode:[fanotify]"))
		return false;
	f->kind = CKPT__IMG__FILE_KIND__FILE_FANOTIFY;
	return true;
}

/* ---- checkpoint ---- */

struct mark_line {
	Ckpt__Img__FanotifyMarkKind kind;
	struct fdinfo_inode in;     /* sdev also for a filesystem mark */
	unsigned mnt_id;
	uint32_t mflags, mask, ignored;
};

/* One mark line of fdinfo (fs/notify/fdinfo.c fanotify_fdinfo). */
static bool parse_mark(const char *line, struct mark_line *m)
{
	int n = 0;

	memset(m, 0, sizeof(*m));
	if (sscanf(line, "fanotify ino:%lx sdev:%x mflags:%x mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x f_handle:%n",
		   &m->in.ino, &m->in.sdev, &m->mflags, &m->mask, &m->ignored, &m->in.hbytes, (unsigned *)&m->in.htype, &n) >= 7 && n) {
		m->kind = CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_INODE;
		return fdinfo_unhex_handle(line + n, &m->in);
	}
	if (sscanf(line, "fanotify mnt_id:%x mflags:%x mask:%x ignored_mask:%x", &m->mnt_id, &m->mflags, &m->mask, &m->ignored) == 4) {
		m->kind = CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_MOUNT;
		return true;
	}
	if (sscanf(line, "fanotify sdev:%x mflags:%x mask:%x ignored_mask:%x", &m->in.sdev, &m->mflags, &m->mask, &m->ignored) == 4) {
		m->kind = CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_FILESYSTEM;
		return true;
	}
	return false;
}

/* The mount id of what path names (in the worker). */
static int mnt_id_of(const char *path, bool follow, uint64_t *ret)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -ENOTSUP;
	*ret = stx.stx_mnt_id;
	return 0;
}

/* Where the task sees m's object: for an inode, the path its handle gives
 * (fhandle_path); for a mount, its mount point, if that names it; for a
 * filesystem, the mount point of a mount of it. */
static int mark_path(pid_t pid, const struct mark_line *m, char *ret, size_t len, struct stat *ret_st)
{
	_cleanup_fclose_ FILE *mi = NULL;
	char path[PATH_MAX + 64], mnt[PATH_MAX], line[PATH_MAX * 2 + 256];
	unsigned id, maj, mnr;
	struct stat st;
	uint64_t got = 0;

	if (m->kind == CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_INODE)
		return fhandle_path(pid, &m->in, ret, len, ret_st);
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	mi = fopen(path, "re");
	if (!mi)
		return -errno;
	while (fgets(line, sizeof(line), mi)) {
		if (sscanf(line, "%u %*d %u:%u %*s %4095s", &id, &maj, &mnr, mnt) != 4 || strchr(mnt, '\\') ||
		    !cr_task_path(pid, mnt, path, sizeof(path)))
			continue;
		if (m->kind == CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_MOUNT) {
			/* the mount point must lead to this mount, not one over it */
			if (id != m->mnt_id || mnt_id_of(path, true, &got) < 0 || got != id || stat(path, ret_st) < 0)
				continue;
			snprintf(ret, len, "%s", mnt);
			return 0;
		}
		if (!fdinfo_sdev_is(m->in.sdev, maj, mnr) || stat(path, &st) < 0 || major(st.st_dev) != maj ||
		    minor(st.st_dev) != mnr)
			continue;
		*ret_st = st;
		snprintf(ret, len, "%s", mnt);
		return 0;
	}
	return -ENOENT;
}

static int fail_fd(struct dump_ctx *ctx, int fd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_fd(struct dump_ctx *ctx, int fd, const char *fmt, ...)
{
	char obj[64], why[PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(obj, sizeof(obj), "fd %d (fanotify)", fd);
	return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s", why);
}

static const char *const kind_name[] = { "an inode", "a mount", "a filesystem" };

static int add_mark(struct dump_ctx *ctx, pid_t pid, int fd, const struct mark_line *ml, Ckpt__Img__Fanotify *g)
{
	Ckpt__Img__FanotifyMark *m, **v;
	char p[PATH_MAX];
	struct stat st = { 0 };

	if ((ml->mask | ml->ignored) & CR_FANOTIFY_PERM_EVENTS)
		return fail_fd(ctx, fd, "%s mark with permission events (mask %#x): whether a process waits for the group's "
			       "answer can't be seen", kind_name[ml->kind], ml->mask);
	if (ml->mflags & ~(uint32_t)(FAN_MARK_EVICTABLE | FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_IGNORE))
		return fail_fd(ctx, fd, "%s mark with flags %#x not known", kind_name[ml->kind], ml->mflags);
	if (mark_path(pid, ml, p, sizeof(p), &st) < 0)
		return fail_fd(ctx, fd, "%s mark (mask %#x): what it marks has no path in the container (deleted, over-mounted, "
			       "or on a filesystem it can't be found on)", kind_name[ml->kind], ml->mask);
	if (g->n_marks >= CR_FANOTIFY_MAX_MARKS)
		return fail_fd(ctx, fd, "more than %d marks", CR_FANOTIFY_MAX_MARKS);
	v = realloc(g->marks, (g->n_marks + 1) * sizeof(*v));
	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "fanotify marks");
	g->marks = v;
	m = malloc(sizeof(*m));
	if (m)
		ckpt__img__fanotify_mark__init(m);
	if (!m || !(m->path = strdup(p))) {
		free(m);
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "fanotify marks");
	}
	m->kind = ml->kind;
	m->mflags = ml->mflags;
	m->mask = ml->mask;
	m->has_ignored_mask = true;
	m->ignored_mask = ml->ignored;
	if (ml->kind == CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_INODE) {
		m->has_ftype = true;
		m->ftype = st.st_mode & S_IFMT;
	}
	g->marks[g->n_marks++] = m;
	return 0;
}

int fanotify_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f)
{
	_cleanup_close_ int pidfd = -1, gfd = -1;
	_cleanup_free_ char *info = fdinfo_read_all(pid, fd, CR_FANOTIFY_MAX_MARKS);
	struct mark_line ml;
	char *line, *save = NULL;
	unsigned flags, eflags;
	int queued = 0, r = 0;
	bool head = false;

	if (!info)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d: fanotify fdinfo", pid, fd);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	gfd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (gfd < 0 || ioctl(gfd, FIONREAD, &queued) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d: fanotify: reading its queue", pid, fd);
	if (queued)
		return fail_fd(ctx, fd, "%d bytes of events not read yet (%d event%s): queued events can't be made again as they were",
			       queued, queued / (int)FAN_EVENT_METADATA_LEN, queued > (int)FAN_EVENT_METADATA_LEN ? "s" : "");
	f->fanotify = malloc(sizeof(*f->fanotify));
	if (!f->fanotify)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "fanotify");
	ckpt__img__fanotify__init(f->fanotify);
	for (line = strtok_r(info, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "fanotify ", 9))
			continue;
		if (sscanf(line, "fanotify flags:%x event-flags:%x", &flags, &eflags) == 2) {
			head = true;
			f->fanotify->flags = flags;
			f->fanotify->event_flags = eflags;
			if (flags & ~(uint32_t)CR_FANOTIFY_FLAGS_OK)
				r = fail_fd(ctx, fd, "init flags %#x: FAN_REPORT_* modes (events with file handles, names, pidfds) and "
					    "the ones beyond FAN_CLASS_*, FAN_UNLIMITED_*, FAN_REPORT_TID are not supported", flags);
			else if (eflags & ~(uint32_t)CR_FANOTIFY_EVENT_FLAGS_OK)
				r = fail_fd(ctx, fd, "event_f_flags %#x not supported", eflags);
			continue;
		}
		if (!parse_mark(line, &ml))
			r = fail_fd(ctx, fd, "a mark fdinfo shows that can't be read (%.80s)", line);
		else
			r = add_mark(ctx, pid, fd, &ml, f->fanotify);
	}
	if (r >= 0 && !head)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, 0, "task %d: fd %d: fanotify fdinfo without its flags", pid, fd);
	return r;
}

void fanotify_dump_free(Ckpt__Img__File *f)
{
	if (!f->fanotify)
		return;
	for (size_t i = 0; i < f->fanotify->n_marks; i++) {
		free(f->fanotify->marks[i]->path);
		free(f->fanotify->marks[i]);
	}
	free(f->fanotify->marks);
	free(f->fanotify);
	f->fanotify = NULL;
}

/* ---- restart ---- */

/* Read away what the group has queued, closing the event fds. */
static int drain(int fd)
{
	char buf[8192] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *md = (struct fanotify_event_metadata *)buf;

		for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n))
			if (md->fd >= 0)
				close(md->fd);
	}
	return n < 0 && errno != EAGAIN ? -errno : 0;
}

/* drain, with O_NONBLOCK for the moment */
static int drain_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL), r;

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	r = drain(fd);
	if (fcntl(fd, F_SETFL, fl) < 0 && r >= 0)
		r = -errno;
	return r;
}

static const unsigned kind_flag[] = { FAN_MARK_INODE, FAN_MARK_MOUNT, FAN_MARK_FILESYSTEM };

static int add_saved(struct restore_ctx *ctx, int fd, int rootfd, const Ckpt__Img__FanotifyMark *m, uint32_t id)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int t = -1;
	unsigned how_flags = kind_flag[m->kind] | (m->mflags & FAN_MARK_EVICTABLE);
	struct fs_ident saved;
	char self[64];
	struct stat st;
	int r;

	if (m->kind != CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_INODE)
		how.flags &= ~O_NOFOLLOW;
	/* as the owner: a mark needs read access to what it marks */
	r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "file %u (fanotify): taking the identity of the owner (uid %u)", id,
			       ctx->req->owner_uid);
	t = (int)syscall(SYS_openat2, rootfd, m->path, &how, sizeof(how));
	r = t < 0 ? -errno : 0;
	fs_ident_leave(&saved);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_IO, -r, "file %u (fanotify): %s mark on %s, as the owner (uid %u)", id, kind_name[m->kind],
			       m->path, ctx->req->owner_uid);
	r = fs_ident_may(ctx->req->owner_uid, ctx->req->owner_gid, t, R_OK);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, -r, "file %u (fanotify): %s mark on %s: the owner (uid %u) may not read it",
			       id, kind_name[m->kind], m->path, ctx->req->owner_uid);
	if (fstat(t, &st) < 0 || (m->has_ftype && (st.st_mode & S_IFMT) != m->ftype))
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "file %u (fanotify): %s is no longer the same kind of file", id, m->path);
	/* the magic link leads to the object itself, a symlink included */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", t);
	if (m->mask && fanotify_mark(fd, FAN_MARK_ADD | how_flags, m->mask, AT_FDCWD, self) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u (fanotify): %s mark on %s (mask %#x)", id,
			       kind_name[m->kind], m->path, m->mask);
	if (m->ignored_mask &&
	    fanotify_mark(fd, FAN_MARK_ADD | how_flags | (m->mflags & FAN_MARK_IGNORE ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK) |
			      (m->mflags & FAN_MARK_IGNORED_SURV_MODIFY), m->ignored_mask, AT_FDCWD, self) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u (fanotify): the ignored mask %#x of %s mark on %s", id,
			       m->ignored_mask, kind_name[m->kind], m->path);
	return 0;
}

int fanotify_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	const Ckpt__Img__Fanotify *g = f->fanotify;
	const struct cr_creds_limit *lim = ctx->req->creds_limit;
	_cleanup_close_ int fd = -1, rootfd = -1;
	char buf[64];
	int r = 0;

	if (!g)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: a fanotify group without its state", f->id);
	/* The worker makes the group, as root of the host: only for a
	 * container whose tasks may hold what fanotify_init() asks of them,
	 * CAP_SYS_ADMIN of the host's user namespace. */
	if (lim && (!(lim->caps & (1ull << CAP_SYS_ADMIN)) || lim->id_count))
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "file %u: a fanotify group in a container that may not hold "
			       "CAP_SYS_ADMIN of the host (run --cap-add SYS_ADMIN, not --userns)", f->id);
	/* with its own flags: fdinfo shows them */
	fd = fanotify_init(g->flags, g->event_flags);
	snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
	rootfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || rootfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u (fanotify): making it", f->id);
	if (!(g->flags & FAN_CLOEXEC) && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u (fanotify): FD_CLOEXEC", f->id);
	/* fdinfo lists the newest mark first: added oldest first, as they were */
	for (size_t i = g->n_marks; i > 0 && r >= 0; i--)
		r = add_saved(ctx, fd, rootfd, g->marks[i - 1], f->id);
	if (r >= 0 && (r = drain_nonblock(fd)) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "file %u (fanotify): reading its queue", f->id);
	if (r >= 0 && fcntl(fd, F_SETFL, f->flags & O_NONBLOCK) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u (fanotify): flags", f->id);
	return r < 0 ? r : TAKE_FD(fd);
}

static int drain_one(void *obj, void *arg)
{
	struct restore_obj *o = obj;
	struct restore_ctx *ctx = arg;
	int r;

	if (o->kind != CKPT__IMG__FILE_KIND__FILE_FANOTIFY || o->slot < 0)
		return 0;
	r = drain_nonblock(ctx->pool[o->slot]);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, -r, "fanotify: reading its queue") : 0;
}

/* The checkpoint saw every queue empty: what restart's own opens of the
 * container's files queued since is read away before any task runs. */
int fanotify_restore_drain(struct restore_ctx *ctx)
{
	return objhash_for_each(ctx->objs, OBJ_FILE, drain_one, ctx);
}
