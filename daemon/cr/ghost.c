// SPDX-License-Identifier: GPL-2.0-or-later
/* Ghost files: regular files deleted while open or mapped. Nothing names
 * them any more, so their contents go into the image (up to the user's
 * --ghost-limit), once whoever holds or maps them; restart makes each
 * again as an unlinked file in the directory it was in (same filesystem,
 * same owner and mode) and the descriptions and mappings use that. */
#include "restore.h"
#include "fsident.h"
#include "validate.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DELETED " (deleted)"

/* "/dir/name (deleted)" without the suffix, in buf; NULL if link is not so. */
static const char *ghost_where(const char *link, char *buf, size_t len)
{
	size_t n = strlen(link), d = strlen(DELETED);

	if (link[0] != '/' || n <= d + 1 || strcmp(link + n - d, DELETED) || n - d >= len)
		return NULL;
	memcpy(buf, link, n - d);
	buf[n - d] = 0;
	return buf;
}

bool ghost_link(const char *link)
{
	char buf[PATH_MAX];

	return ghost_where(link, buf, sizeof(buf)) != NULL;
}

bool ghost_classify(const char *link, Ckpt__Img__File *f)
{
	if (!ghost_link(link))
		return false;
	f->kind = CKPT__IMG__FILE_KIND__FILE_GHOST;
	return true;
}

/* The directory of path in the tree under rootfd, as restart opens it. */
static int ghost_dir(int rootfd, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_free_ char *dir = NULL;
	const char *base = strrchr(path, '/');
	int fd;

	dir = base == path ? strdup("/") : strndup(path, base - path);
	if (!dir)
		return -ENOMEM;
	fd = (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* ---- checkpoint ---- */

/* Restart makes it again as the container's owner: in a directory the
 * owner may write, owned by the owner and one of its groups. */
static int ghost_check_owner(struct dump_ctx *ctx, int dirfd, const struct stat *st, const char *obj)
{
	uid_t uid = ctx->req->owner_uid;
	gid_t gid = ctx->req->owner_gid;
	const char *what = S_ISDIR(st->st_mode) ? "a removed directory" : "a file deleted while open";
	int r;

	if (uid && st->st_uid != uid)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s, owned by uid %u: restart makes it again as the "
				   "container's owner (uid %u), who can't give it away", what, (unsigned)st->st_uid, (unsigned)uid);
	if (!fs_ident_has_group(uid, gid, st->st_gid))
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s, of group %u: the container's owner (uid %u) is not "
				   "in that group, and restart makes it again as the owner", what, (unsigned)st->st_gid, (unsigned)uid);
	r = fs_ident_may(uid, gid, dirfd, W_OK | X_OK);
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s, and restart could not make it again where it was: "
				   "the container's owner (uid %u) may not write its directory (%s)", what, (unsigned)uid, strerror(-r));
	return 0;
}

static int ghost_check(struct dump_ctx *ctx, pid_t pid, const char *where, const struct stat *st, const char *obj)
{
	_cleanup_close_ int rootfd = -1, dirfd = -1;
	char root[64];

	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "deleted, and not a regular file or directory: not supported");
	if (st->st_nlink)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "a deleted file still linked under "
				   "another name (%lu links): not supported", (unsigned long)st->st_nlink);
	if (S_ISREG(st->st_mode) && (uint64_t)st->st_size > ctx->req->ghost_limit)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "a file deleted while open, and its %lld bytes are more "
				   "than the ghost limit of %llu bytes (ckptctl checkpoint --ghost-limit BYTES raises it)",
				   (long long)st->st_size, (unsigned long long)ctx->req->ghost_limit);
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: its root", pid);
	dirfd = ghost_dir(rootfd, where);
	if (dirfd < 0)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s, and restart could not make it again where it was: "
				   "its directory: %s", S_ISDIR(st->st_mode) ? "a removed directory" : "a file deleted while open",
				   strerror(-dirfd));
	return ghost_check_owner(ctx, dirfd, st, obj);
}

int ghost_dump(struct dump_ctx *ctx, pid_t pid, const char *path, const char *link, const char *obj, uint32_t *ret_id)
{
	Ckpt__Img__Ghost m = CKPT__IMG__GHOST__INIT;
	_cleanup_close_ int fd = -1;
	char where[PATH_MAX];
	struct stat st;
	void *key;
	int r;

	if (!ghost_where(link, where, sizeof(where)))
		return cr_fail(ctx->err, CR_ERR_INTERNAL, EINVAL, "task %d: %s: not a deleted file", pid, link);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: opening %s (%s)", pid, path, link);
	r = ghost_check(ctx, pid, where, &st, obj);
	if (r < 0)
		return r;
	/* with the memfds and shared memory: a mapping of it names it by shm_id */
	key = malloc(1);
	r = key ? objhash_lookup_add(ctx->files, OBJ_SHM, st.st_ino ^ ((uint64_t)st.st_dev << 32), key, NULL, ret_id, NULL) : -ENOMEM;
	if (r <= 0)
		free(key);
	if (r <= 0)
		return r < 0 ? cr_fail(ctx->err, CR_ERR_INTERNAL, -r, "object table") : 0;
	m.id = *ret_id;
	m.path = where;
	m.dir = S_ISDIR(st.st_mode);
	m.has_dir = m.dir;
	m.size = m.dir ? 0 : st.st_size;
	m.mode = st.st_mode & 07777;
	m.uid = st.st_uid;
	m.gid = st.st_gid;
	m.has_mtime_ns = true;
	m.mtime_ns = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
	r = dump_write_msg(ctx, pid, IMG_GHOST, &m.base);
	if (r < 0)
		return r;
	return m.dir ? 0 : dump_object_pages_later(ctx, CKPT__IMG__SEGMENT_OWNER__SEG_GHOST, m.id, fd, st.st_size);
}

int ghost_dump_cwd(struct dump_ctx *ctx, struct dump_proc *p)
{
	char path[64], link[PATH_MAX], obj[PATH_MAX + 64];
	ssize_t n;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/cwd", p->pid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: reading cwd", p->pid);
	link[n] = 0;
	if (!ghost_link(link))
		return 0;
	snprintf(obj, sizeof(obj), "its working directory (%s)", link);
	r = ghost_dump(ctx, p->pid, path, link, obj, &p->cwd_ghost_id);
	if (r < 0)
		return r;
	p->cwd_ghost = true;
	return 0;
}

/* A removed directory (no entries, size 0) may keep an offset it can't
 * be seeked to any more, such as the end of the hashed directory it was:
 * tried on our own open of it, as restart will on the one it makes. */
int ghost_dir_probe(struct dump_ctx *ctx, const char *path, uint64_t pos, const char *obj)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "%s: opening it", obj);
	if (pos > INT64_MAX || lseek(fd, (off_t)pos, SEEK_SET) != (off_t)pos)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "a directory removed while open, at offset %llu, which "
				   "can't be set again: not supported", (unsigned long long)pos);
	return 0;
}

/* ---- restart ---- */

/* name in dirfd made afresh (O_EXCL) and unlinked again. */
static int create_unlinked(int dirfd, const char *name)
{
	struct stat st, nst;
	int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600), r;

	if (fd < 0)
		return -errno;
	r = fstat(fd, &st) < 0 || fstatat(dirfd, name, &nst, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (r >= 0 && (nst.st_ino != st.st_ino || nst.st_dev != st.st_dev))
		r = -ESTALE;
	if (r >= 0 && unlinkat(dirfd, name, 0) < 0)
		r = -errno;
	if (r < 0)
		close(fd);
	return r < 0 ? r : fd;
}

/* name in dirfd made afresh as an empty directory, opened and removed
 * again. */
static int create_removed(int dirfd, const char *name)
{
	struct stat st, nst;
	int fd, r;

	if (mkdirat(dirfd, name, 0700) < 0)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fstat(fd, &st) < 0 || fstatat(dirfd, name, &nst, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (r >= 0 && (nst.st_ino != st.st_ino || nst.st_dev != st.st_dev))
		r = -ESTALE;
	if (r >= 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	if (r < 0)
		close(fd);
	return r < 0 ? r : fd;
}

/* An unlinked file (or removed directory) in dirfd: under the name it had
 * when that is free, so /proc shows it as before ("NAME (deleted)"); else
 * (a file) O_TMPFILE, or a fresh name. */
static int ghost_create(int dirfd, const char *path, uint32_t id, bool dir)
{
	char name[64];
	int fd, i;

	fd = dir ? create_removed(dirfd, strrchr(path, '/') + 1) : create_unlinked(dirfd, strrchr(path, '/') + 1);
	if (fd != -EEXIST)
		return fd;
	for (i = 0; dir && i < 16; i++) {
		snprintf(name, sizeof(name), ".ckpt-ghost-%u-%d-%d", id, (int)getpid(), i);
		fd = create_removed(dirfd, name);
		if (fd != -EEXIST)
			return fd;
	}
	if (dir)
		return -EEXIST;
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd < 0 ? -errno : fd;
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), ".ckpt-ghost-%u-%d-%d", id, (int)getpid(), i);
		fd = create_unlinked(dirfd, name);
		if (fd != -EEXIST)
			return fd;
	}
	return -EEXIST;
}

static int ghost_make_as_owner(struct restore_ctx *ctx, const Ckpt__Img__Ghost *m);

/* Made as the owner (its fsuid, fsgid and groups): an image makes no
 * file where its owner could not, nor gives one to another user. */
static int ghost_make(struct restore_ctx *ctx, const Ckpt__Img__Ghost *m)
{
	struct fs_ident saved;
	int fd, r;

	r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "the deleted file %s: taking the identity of the owner (uid %u, gid %u)",
			       m->path, ctx->req->owner_uid, ctx->req->owner_gid);
	fd = ghost_make_as_owner(ctx, m);
	fs_ident_leave(&saved);
	return fd;
}

static int ghost_make_as_owner(struct restore_ctx *ctx, const Ckpt__Img__Ghost *m)
{
	_cleanup_close_ int rootfd = -1, dirfd = -1, fd = -1;
	char buf[64];
	struct stat st;

	snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
	rootfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "the container's root");
	dirfd = ghost_dir(rootfd, m->path);
	if (dirfd < 0)
		return cr_fail(ctx->err, CR_ERR_IO, -dirfd, "the deleted file %s: its directory", m->path);
	/* O_TMPFILE needs a real directory fd, not an O_PATH one */
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", dirfd);
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "the deleted file %s: its directory", m->path);
	close(dirfd);
	dirfd = TAKE_FD(fd);
	fd = ghost_create(dirfd, m->path, m->id, m->dir);
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_IO, -fd, "the deleted file %s: making it again as the container's owner (uid %u)",
			       m->path, ctx->req->owner_uid);
	if (fchown(fd, m->uid, m->gid) < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "the deleted file %s: giving it to uid %u, gid %u as the container's owner (uid %u)",
			       m->path, m->uid, m->gid, ctx->req->owner_uid);
	if (fchmod(fd, m->mode) < 0 || (!m->dir && ftruncate(fd, m->size) < 0))
		return cr_fail(ctx->err, CR_ERR_IO, errno, "the deleted file %s: its mode and size", m->path);
	if (fstat(fd, &st) < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "the deleted file %s", m->path);
	if (st.st_nlink)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "the deleted file %s: someone linked it while it was made again", m->path);
	return TAKE_FD(fd);
}

int ghost_restore(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__Ghost *m = image_unpack(&ctx->rd, &ckpt__img__ghost__descriptor, payload, len);
	struct restore_obj *o = NULL;
	const char *why;
	int fd, slot, r = 0;

	if (!m)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "ghost record: %s", ctx->rd.error);
	why = validate_ghost(m);
	if (why)
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "deleted file %u: %s", m->id, why);
	if (r >= 0 && (fd = r = ghost_make(ctx, m)) >= 0)
		slot = r = restore_pool_add(ctx, fd);
	if (r >= 0 && !(o = calloc(1, sizeof(*o))))
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "deleted file %u", m->id);
	if (r >= 0) {
		*o = (struct restore_obj){ .slot = slot, .pipe = { -1, -1 }, .size = m->size, .ghost = true,
					   .ghost_path = strdup(m->path), .ghost_mtime_ns = m->has_mtime_ns ? m->mtime_ns : -1 };
		if (!o->ghost_path || objhash_insert_id(ctx->objs, OBJ_SHM, m->id, o) < 0) {
			r = o->ghost_path ? cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "shm id %u appears twice", m->id)
					  : cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "deleted file %u", m->id);
			free(o->ghost_path);
			free(o);
		} else {
			ctx->cur_shm = o;
		}
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return r < 0 ? r : 0;
}

/* The pool slot of t's removed working directory: a ghost of this image
 * that is a directory. */
int ghost_restore_cwd(struct restore_ctx *ctx, const Ckpt__Img__Task *t)
{
	struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_SHM, t->cwd_ghost);
	struct stat st;

	if (!o || !o->ghost)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: its working directory names no deleted directory (%u)",
			       t->pid, t->cwd_ghost);
	if (fstat(ctx->pool[o->slot], &st) < 0 || !S_ISDIR(st.st_mode))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: its working directory: deleted file %u is not a directory",
			       t->pid, t->cwd_ghost);
	return o->slot;
}
