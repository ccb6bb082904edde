/* Open files: saving fd tables and open file descriptions, reopening them. */
#include "restore.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "spawn.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

/* File status flags reopened as saved; creation flags never are. */
#define REOPEN_MASK (~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC))

struct dump_file {
	pid_t pid;
	int fd;
};

static int same_file(const void *a, const void *b)
{
	const struct dump_file *x = a, *y = b;

	return syscall(SYS_kcmp, x->pid, y->pid, KCMP_FILE, x->fd, y->fd) == 0;
}

static bool is_tty(dev_t rdev)
{
	unsigned maj = major(rdev);

	return maj == 4 || maj == 5 || (maj >= 136 && maj <= 143);
}

/* Classify one fd into a File message; NULL or why it is refused. */
static const char *classify(struct dump_ctx *ctx, pid_t pid, const char *link, const struct stat *st, Ckpt__Img__File *f)
{
	char buf[PATH_MAX + 64];
	struct stat pst;

	if (S_ISREG(st->st_mode) && st->st_dev == ctx->req->log_dev && st->st_ino == ctx->req->log_ino) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_LOG;
		return NULL;
	}
	if (S_ISFIFO(st->st_mode) && strncmp(link, "pipe:[", 6) == 0) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_PIPE;
		return NULL;
	}
	if (S_ISREG(st->st_mode) && strncmp(link, "/memfd:", 7) == 0 && strstr(link, " (deleted)")) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_MEMFD;
		return NULL;
	}
	if (S_ISFIFO(st->st_mode))
		return "named pipes (FIFOs) are not supported yet";
	if (S_ISSOCK(st->st_mode))
		return "sockets are not supported yet";
	if (!S_ISREG(st->st_mode) && !S_ISCHR(st->st_mode) && !S_ISDIR(st->st_mode))
		return "this kind of file is not supported yet";
	if (link[0] != '/' || strstr(link, " (deleted)"))
		return "its file was deleted or has no path";
	if (!cr_task_path(pid, link, buf, sizeof(buf)) || stat(buf, &pst) < 0 || pst.st_dev != st->st_dev || pst.st_ino != st->st_ino)
		return "its path now names another file";
	f->path = (char *)link;
	if (S_ISCHR(st->st_mode)) {
		if (is_tty(st->st_rdev))
			return "terminals are not supported";
		f->kind = CKPT__IMG__FILE_KIND__FILE_CHR;
		f->has_rdev = true;
		f->rdev = st->st_rdev;
	} else if (S_ISDIR(st->st_mode)) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_DIR;
	} else {
		f->kind = CKPT__IMG__FILE_KIND__FILE_REG;
		f->has_size = f->has_mtime_ns = true;
		f->size = st->st_size;
		f->mtime_ns = st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
	}
	return NULL;
}

/* The object behind a pipe or memfd description, written before it. */
static int dump_file_object(struct dump_ctx *ctx, pid_t pid, int fd, const char *link, const struct stat *st, Ckpt__Img__File *f)
{
	char path[64], name[256];
	size_t n;

	if (f->kind == CKPT__IMG__FILE_KIND__FILE_PIPE) {
		f->has_pipe_id = true;
		return pipe_dump(ctx, pid, fd, st, &f->pipe_id);
	}
	if (f->kind != CKPT__IMG__FILE_KIND__FILE_MEMFD)
		return 0;
	/* "/memfd:NAME (deleted)" */
	n = strlen(link) - 7 - 10;
	if (n >= sizeof(name))
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d: memfd name too long", pid, fd);
	memcpy(name, link + 7, n);
	name[n] = 0;
	f->path = NULL;
	f->has_shm_id = true;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	return shm_dump(ctx, path, true, name, &f->shm_id);
}

/* A lock or lease lost in a restart lets another process take it: the
 * holder's data silently stops being protected. fdinfo lists those of this
 * description (flock, OFD, leases: even when the process that took them
 * has exited) and this process's POSIX locks taken through it. */
static int check_fd_state(struct dump_ctx *ctx, pid_t pid, int fd, const char *link, const struct proc_fdinfo *fi)
{
	if (fi->nlocks)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): holds a file lock or lease (%s%s): file locks are not supported yet",
			       pid, fd, link, fi->lock, fi->nlocks > 1 ? ", and more" : "");
	/* Reopening can't register the description for SIGIO (open() keeps
	 * the flag but not the owner or the signal). */
	if (fi->flags & O_ASYNC)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): signal-driven I/O (O_ASYNC, with its F_SETOWN owner and F_SETSIG signal) is not supported yet",
			       pid, fd, link);
	return 0;
}

static int dump_one_fd(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__Fd *e)
{
	Ckpt__Img__File f = CKPT__IMG__FILE__INIT;
	struct proc_fdinfo fi;
	struct dump_file *obj;
	char path[64], link[PATH_MAX];
	struct stat st;
	const char *why;
	void *existing;
	uint32_t id;
	ssize_t n;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || stat(path, &st) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d", pid, fd);
	link[n] = 0;
	r = proc_fdinfo_pid(pid, fd, &fi);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: fd %d: fdinfo", pid, fd);
	why = classify(ctx, pid, link, &st, &f);
	if (why)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): %s", pid, fd, link, why);
	r = check_fd_state(ctx, pid, fd, link, &fi);
	if (r < 0)
		return r;
	e->fd = fd;
	e->cloexec = !!(fi.flags & O_CLOEXEC);
	obj = malloc(sizeof(*obj));
	if (!obj)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd %d", pid, fd);
	*obj = (struct dump_file){ pid, fd };
	r = objhash_lookup_add(ctx->files, OBJ_FILE, st.st_ino ^ ((uint64_t)st.st_dev << 32), obj, same_file, &id, &existing);
	if (r < 0) {
		free(obj);
		return cr_fail(ctx->err, CR_ERR_INTERNAL, -r, "task %d: fd %d: object table", pid, fd);
	}
	e->file_id = id;
	if (r == 0) {   /* a dup of a description already written */
		free(obj);
		return 0;
	}
	f.id = id;
	f.flags = fi.flags & REOPEN_MASK;
	f.has_pos = true;
	f.pos = fi.pos;
	r = dump_file_object(ctx, pid, fd, link, &st, &f);
	if (r < 0)
		return r;
	r = image_write_msg(&ctx->w, IMG_FILE, &f.base);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image") : 0;
}

static int cmp_fd(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int list_fds(pid_t pid, int **ret, size_t *ret_n)
{
	char path[64];
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ int *fds = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			int *nf = realloc(fds, (cap = cap ? cap * 2 : 64) * sizeof(int));
			if (!nf)
				return -ENOMEM;
			fds = nf;
		}
		fds[n++] = atoi(de->d_name);
	}
	qsort(fds, n, sizeof(int), cmp_fd);
	*ret = TAKE_PTR(fds);
	*ret_n = n;
	return 0;
}

int files_collect(struct dump_ctx *ctx, struct dump_proc *p)
{
	_cleanup_free_ int *fds = NULL;
	size_t n = 0, i;
	int r;

	r = list_fds(p->pid, &fds, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: listing fds", p->pid);
	if (n > SPAWN_MAX_FDS)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: %zu open fds: more than %d are not supported yet", p->pid, n, SPAWN_MAX_FDS);
	p->fds = calloc(n + 1, sizeof(*p->fds));
	if (!p->fds)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd table", p->pid);
	for (i = 0; i < n; i++) {
		ckpt__img__fd__init(&p->fds[i]);
		r = dump_one_fd(ctx, p->pid, fds[i], &p->fds[i]);
		if (r < 0)
			return r;
		p->nfds = i + 1;
		ctx->max_fd = MAX(ctx->max_fd, fds[i]);
	}
	return 0;
}

int files_dump_fds(struct dump_ctx *ctx, struct dump_proc *p)
{
	Ckpt__Img__Fds msg = CKPT__IMG__FDS__INIT;
	_cleanup_free_ Ckpt__Img__Fd **ptrs = calloc(p->nfds + 1, sizeof(*ptrs));
	size_t i;
	int r;

	if (!ptrs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd table", p->pid);
	for (i = 0; i < p->nfds; i++)
		ptrs[i] = &p->fds[i];
	msg.fds = ptrs;
	msg.n_fds = p->nfds;
	r = image_write_msg(&ctx->w, IMG_FDS, &msg.base);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image") : 0;
}

/* ---- restore ---- */

static int check_reopened(struct restore_ctx *ctx, const Ckpt__Img__File *f, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %s", f->path);
	switch (f->kind) {
	case CKPT__IMG__FILE_KIND__FILE_REG:
		if (!S_ISREG(st.st_mode))
			return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "file %s is no longer a regular file", f->path);
		if (f->has_size && (uint64_t)st.st_size != f->size)
			return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "file %s changed size since the checkpoint (%lu -> %lu bytes)",
				       f->path, (unsigned long)f->size, (unsigned long)st.st_size);
		break;
	case CKPT__IMG__FILE_KIND__FILE_CHR:
		if (!S_ISCHR(st.st_mode) || !f->has_rdev || st.st_rdev != f->rdev)
			return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "device %s is not the saved device", f->path);
		break;
	case CKPT__IMG__FILE_KIND__FILE_DIR:
		if (!S_ISDIR(st.st_mode))
			return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "%s is no longer a directory", f->path);
		break;
	default:
		break;
	}
	return 0;
}

/* A memfd description: a new open of the object the worker made. */
static int reopen_memfd(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	struct restore_obj *o = f->has_shm_id ? objhash_find_id(ctx->objs, OBJ_SHM, f->shm_id) : NULL;
	char path[64];
	int fd;

	if (!o || !o->memfd)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: refers to unknown memfd", f->id);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ctx->pool[o->slot]);
	fd = open(path, (f->flags & REOPEN_MASK) | O_CLOEXEC);
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u: reopening its memfd", f->id);
	if (f->has_pos && lseek(fd, f->pos, SEEK_SET) != (off_t)f->pos) {
		close(fd);
		return cr_fail(ctx->err, CR_ERR_IO, errno, "file %u: seeking its memfd", f->id);
	}
	return fd;
}

static int reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	_cleanup_close_ int fd = -1, path_fd = -1;
	char buf[PATH_MAX + 64];
	int r;

	switch (f->kind) {
	case CKPT__IMG__FILE_KIND__FILE_LOG:
		fd = fcntl(ctx->req->log_fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, errno, "container log") : TAKE_FD(fd);
	case CKPT__IMG__FILE_KIND__FILE_PIPE:
		if (!f->has_pipe_id)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: pipe without a pipe id", f->id);
		return pipe_restore_end(ctx, f->pipe_id, f->flags);
	case CKPT__IMG__FILE_KIND__FILE_MEMFD:
		return reopen_memfd(ctx, f);
	case CKPT__IMG__FILE_KIND__FILE_REG:
	case CKPT__IMG__FILE_KIND__FILE_CHR:
	case CKPT__IMG__FILE_KIND__FILE_DIR:
		break;
	default:
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: unknown kind", f->id);
	}
	if (!f->path || f->path[0] != '/' || !cr_task_path(ctx->req->init_pid, f->path, buf, sizeof(buf)))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: no absolute path", f->id);
	/* Look before opening for real: a FIFO or a device put where the
	 * file was must not block the worker or be opened for effect. */
	path_fd = open(buf, O_PATH | O_CLOEXEC);
	if (path_fd < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "reopening %s", f->path);
	r = check_reopened(ctx, f, path_fd);
	if (r < 0)
		return r;
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", path_fd);
	fd = open(buf, (f->flags & REOPEN_MASK) | O_CLOEXEC);
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "reopening %s", f->path);
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_REG && f->has_pos &&
	    lseek(fd, f->pos, SEEK_SET) != (off_t)f->pos)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "seeking %s to %lu", f->path, (unsigned long)f->pos);
	return TAKE_FD(fd);
}

int files_restore_file(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__File *f = image_unpack(&ctx->rd, &ckpt__img__file__descriptor, payload, len);
	struct restore_obj *o;
	int fd, slot, r;

	if (!f)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file record: %s", ctx->rd.error);
	fd = reopen(ctx, f);
	r = fd;
	if (fd >= 0) {
		slot = restore_pool_add(ctx, fd);
		o = slot < 0 ? NULL : calloc(1, sizeof(*o));
		if (!o) {
			r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "file %u", f->id);
		} else {
			*o = (struct restore_obj){ .slot = slot, .pipe = { -1, -1 } };
			r = objhash_insert_id(ctx->objs, OBJ_FILE, f->id, o);
			if (r < 0) {
				free(o);
				r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file id %u appears twice", f->id);
			}
		}
	}
	protobuf_c_message_free_unpacked(&f->base, NULL);
	return r < 0 ? r : 0;
}

/* Bound the fd table before anything is created from it. */
static int check_fds(struct restore_ctx *ctx, const Ckpt__Img__Fds *m)
{
	pid_t pid = ctx->cur->tt->pid;
	size_t i, j;

	if (m->n_fds > SPAWN_MAX_FDS)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: %zu fds, at most %d", pid, m->n_fds, SPAWN_MAX_FDS);
	for (i = 0; i < m->n_fds; i++) {
		if (!objhash_find_id(ctx->objs, OBJ_FILE, m->fds[i]->file_id) || m->fds[i]->fd > ctx->tree->max_fd)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: fd %u refers to unknown file %u", pid, m->fds[i]->fd, m->fds[i]->file_id);
		for (j = 0; j < i; j++)
			if (m->fds[j]->fd == m->fds[i]->fd)
				return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: fd %u listed twice", pid, m->fds[i]->fd);
	}
	return 0;
}

int files_restore_fds(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__Fds *m = image_unpack(&ctx->rd, &ckpt__img__fds__descriptor, payload, len);
	int r = 0;

	if (!m)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "fds record: %s", ctx->rd.error);
	if (!ctx->cur || !ctx->cur->task || ctx->cur->seized || ctx->cur->pidfd >= 0)
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "fds record out of order");
	if (r >= 0)
		r = check_fds(ctx, m);
	if (r >= 0)
		r = proc_restore_create(ctx, ctx->cur, m);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return r < 0 ? r : 0;
}
