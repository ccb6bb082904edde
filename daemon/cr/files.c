// SPDX-License-Identifier: GPL-2.0-or-later
/* Open files: saving fd tables and open file descriptions, reopening them. */
#include "restore.h"
#include "sock.h"
#include "tty.h"
#include "ipc.h"
#include "validate.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "spawn.h"
#include "rbatch.h"
#include "fsident.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <linux/kcmp.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/pidfd.h>
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#include <sys/syscall.h>
#include <sys/sysmacros.h>

/* File status flags reopened as saved; creation flags never are. */
#define REOPEN_MASK (~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC))
/* open() takes O_ASYNC without registering for SIGIO, and F_SETFL only
 * registers a change: it is set after the owner (files_restore_fd_state). */
#define OPEN_MASK (REOPEN_MASK & ~O_ASYNC)
#define PROC_SUPER_MAGIC 0x9fa0

struct dump_file {
	pid_t pid;
	int fd;
	bool proc;      /* FILE_PROC, FILE_PIDFD: reopened in its one holder at restart */
};

static int same_file(const void *a, const void *b)
{
	const struct dump_file *x = a, *y = b;

	return syscall(SYS_kcmp, x->pid, y->pid, KCMP_FILE, x->fd, y->fd) == 0;
}

static bool in_container(const struct dump_ctx *ctx, pid_t nspid)
{
	size_t i, k;

	for (i = 0; i < ctx->nprocs; i++)
		for (k = 0; k < (ctx->procs[i].zombie ? 1 : ctx->procs[i].ntids); k++)
			if ((ctx->procs[i].zombie ? ctx->procs[i].nspid : ctx->procs[i].nstids[k]) == nspid)
				return true;
	return false;
}

/* A file of /proc: only of the container's own /proc (restart mounts a new
 * one, where the same pids name the same tasks again), of a kind that
 * reads afresh (validate_proc_path), naming a task that is in the image. */
static const char *classify_proc(struct dump_ctx *ctx, pid_t pid, const char *link, const struct stat *st, uint32_t flags,
				 Ckpt__Img__File *f)
{
	char buf[PATH_MAX + 64];
	struct stat pst;
	const char *why;
	pid_t named;

	if (!cr_task_path(pid, "/proc", buf, sizeof(buf)) || stat(buf, &pst) < 0 || pst.st_dev != st->st_dev)
		return "a file of a /proc other than the container's (another pid namespace's)";
	why = validate_proc_path(link, flags);
	if (why)
		return why;
	named = validate_proc_pid(link);
	if (named && !in_container(ctx, named))
		return "it names a process outside the container";
	f->kind = CKPT__IMG__FILE_KIND__FILE_PROC;
	f->path = (char *)link;
	return NULL;
}

/* Classify one fd into a File message; NULL or why it is refused. */
static const char *classify(struct dump_ctx *ctx, pid_t pid, int fd, const char *link, const struct stat *st, uint32_t flags,
			    bool procfs, Ckpt__Img__File *f)
{
	char buf[PATH_MAX + 64];
	struct stat pst;
	const char *why;

	if (S_ISREG(st->st_mode) && st->st_dev == ctx->req->log_dev && st->st_ino == ctx->req->log_ino) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_LOG;
		return NULL;
	}
	if (S_ISFIFO(st->st_mode) && strncmp(link, "pipe:[", 6) == 0) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_PIPE;
		return NULL;
	}
	/* the shm mount's files are named by the kernel (shm_internal_dev) */
	if (S_ISREG(st->st_mode) && st->st_dev == shm_internal_dev()) {
		if (strncmp(link, "/memfd:", 7) != 0 || !strstr(link, " (deleted)"))
			return "shared memory other than a memfd (a SysV segment or MAP_SHARED|MAP_ANONYMOUS memory opened through map_files): not supported";
		f->kind = CKPT__IMG__FILE_KIND__FILE_MEMFD;
		return NULL;
	}
	if (evfd_classify(link, f))
		return NULL;
	if (streq(link, "anon_inode:[pidfd]")) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_PIDFD;
		return NULL;
	}
	if (procfs)
		return classify_proc(ctx, pid, link, st, flags, f);
	if (ctx->ipc && ctx->ipc->mq_dev && st->st_dev == ctx->ipc->mq_dev) {
		const char *name = strrchr(link, '/');

		if (!S_ISREG(st->st_mode) || (flags & O_PATH) || !name || strstr(link, " (deleted)"))
			return "a file of the mqueue filesystem other than an open message queue";
		f->kind = CKPT__IMG__FILE_KIND__FILE_MQUEUE;
		f->path = (char *)name + 1;
		return NULL;
	}
	if (S_ISSOCK(st->st_mode) && !(flags & O_PATH) && strncmp(link, "socket:[", 8) == 0) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_SOCKET;
		return NULL;
	}
	if (fanotify_classify(link, f))
		return NULL;
	if (inotify_classify(link, f))
		return NULL;
	if (tty_classify(ctx, pid, fd, st, flags, f, &why))
		return why;
	if (flags & O_TMPFILE & ~O_DIRECTORY)
		return "opened with O_TMPFILE: restart opens only files that exist, and can't make one that linkat() may still name";
	if (S_ISBLK(st->st_mode))
		return "a block device: not restored";
	/* what a device does when opened, and what it reaches, is its own:
	 * only the ones that reach nothing come back (terminals: tty_classify) */
	if (S_ISCHR(st->st_mode) && !validate_chr_allowed(st->st_rdev))
		return "a character device other than /dev/null, zero, full, random and urandom (or the container's ptys): not restored";
	if (S_ISCHR(st->st_mode) && strncmp(link, "/dev/", 5) != 0)
		return "a device outside the container's /dev: not restored";
	if (!(flags & O_PATH)) {
		if (S_ISFIFO(st->st_mode) && strstr(link, " (deleted)"))
			return "a named pipe whose path was deleted: not supported";
		if ((S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) && link[0] == '/' && ghost_classify(link, f))
			return NULL;
		if (S_ISSOCK(st->st_mode))
			return "this kind of socket is not supported";
		if (!S_ISREG(st->st_mode) && !S_ISCHR(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISFIFO(st->st_mode))
			return "this kind of file is not supported yet";
	}
	if (link[0] != '/' || strstr(link, " (deleted)"))
		return "its file was deleted or has no path";
	/* the path names the object itself (a symlink, for O_PATH|O_NOFOLLOW) */
	if (!cr_task_path(pid, link, buf, sizeof(buf)) || lstat(buf, &pst) < 0 || pst.st_dev != st->st_dev || pst.st_ino != st->st_ino)
		return "its path now names another file";
	f->path = (char *)link;
	if (flags & O_PATH) {
		/* no access to contents: what it names is all there is */
		f->kind = CKPT__IMG__FILE_KIND__FILE_PATH;
		f->has_ftype = true;
		f->ftype = st->st_mode & S_IFMT;
		f->has_rdev = S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode);
		f->rdev = f->has_rdev ? st->st_rdev : 0;
	} else if (S_ISCHR(st->st_mode)) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_CHR;
		f->has_rdev = true;
		f->rdev = st->st_rdev;
	} else if (S_ISDIR(st->st_mode)) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_DIR;
	} else if (S_ISFIFO(st->st_mode)) {
		f->kind = CKPT__IMG__FILE_KIND__FILE_FIFO;
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
	int r;

	if (f->kind == CKPT__IMG__FILE_KIND__FILE_PIPE || f->kind == CKPT__IMG__FILE_KIND__FILE_FIFO) {
		f->has_pipe_id = true;
		return pipe_dump(ctx, pid, fd, st, &f->pipe_id);
	}
	if (evfd_kind(f->kind))
		return evfd_dump(ctx, pid, fd, f);
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_PIDFD)
		return pidfd_dump(ctx, pid, fd, f);
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_SOCKET)
		return sock_dump(ctx, pid, fd, link, st, f);
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_GHOST) {
		char obj[96];

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		snprintf(obj, sizeof(obj), "fd %d (%.80s)", fd, link);
		f->has_ghost_id = true;
		r = ghost_dump(ctx, pid, path, link, obj, &f->ghost_id);
		return r < 0 || !S_ISDIR(st->st_mode) ? r : ghost_dir_probe(ctx, path, f->pos, obj);
	}
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_INOTIFY)
		return inotify_dump(ctx, pid, fd, f);
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_FANOTIFY)
		return fanotify_dump(ctx, pid, fd, f);
	if (tty_kind(f->kind))
		return tty_dump(ctx, pid, fd, f);
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

/* The kind restart re-takes a lock as, or -1: leases (re-taking one needs
 * every other open of the file gone, and one being broken can't be
 * resumed), and what is no lock held (a waiter, an access check). */
static int lock_kind(const struct proc_lock *l)
{
	if (l->waiter || !streq(l->mode, "ADVISORY") || (!streq(l->type, "READ") && !streq(l->type, "WRITE")))
		return -1;
	if (streq(l->kind, "FLOCK"))
		return CKPT__IMG__LOCK_KIND__LOCK_FLOCK;
	if (streq(l->kind, "OFDLCK"))
		return CKPT__IMG__LOCK_KIND__LOCK_OFD;
	if (streq(l->kind, "POSIX"))
		return CKPT__IMG__LOCK_KIND__LOCK_POSIX;
	return -1;
}

static void lock_msg(const struct proc_lock *l, int kind, Ckpt__Img__FileLock *m)
{
	ckpt__img__file_lock__init(m);
	m->kind = kind;
	m->write = streq(l->type, "WRITE");
	if (kind == CKPT__IMG__LOCK_KIND__LOCK_FLOCK)
		return;
	m->has_start = m->has_len = true;
	m->start = l->start;
	m->len = l->end == UINT64_MAX ? 0 : l->end - l->start + 1;
}

/* Remember a saved lock for task_check_locks. */
static int note_lock(struct dump_ctx *ctx, const struct proc_lock *l)
{
	if (ctx->nlocks % 64 == 0) {
		struct proc_lock *v = realloc(ctx->locks, (ctx->nlocks + 64) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ctx->locks = v;
	}
	ctx->locks[ctx->nlocks++] = *l;
	return 0;
}

/* A lock lost in a restart lets another process take it: the holder's
 * data silently stops being protected. fdinfo lists the flock and OFD
 * locks of this description (even when the process that took them has
 * exited), and this process's POSIX locks taken through it. The
 * description's go to its FILE record (f: only when it is written now),
 * the process's to the fd's entry. */
static int collect_locks(struct dump_ctx *ctx, pid_t pid, int fd, const char *link, const struct proc_fdinfo *fi,
			 Ckpt__Img__File *f, Ckpt__Img__FileLock *flocks, Ckpt__Img__FileLock **fptrs, Ckpt__Img__Fd *e)
{
	Ckpt__Img__FileLock **pp = NULL, *pl = NULL;
	size_t nposix = 0;
	int i, kind;

	for (i = 0; i < fi->nlocks; i++)
		nposix += lock_kind(&fi->locks[i]) == CKPT__IMG__LOCK_KIND__LOCK_POSIX;
	if (nposix) {
		pp = malloc(nposix * (sizeof(*pp) + sizeof(*pl)));
		if (!pp)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd %d: locks", pid, fd);
		pl = (Ckpt__Img__FileLock *)(pp + nposix);
		e->posix_locks = pp;
	}
	for (i = 0; i < fi->nlocks; i++) {
		const struct proc_lock *l = &fi->locks[i];

		kind = lock_kind(l);
		if (kind == CKPT__IMG__LOCK_KIND__LOCK_POSIX) {
			lock_msg(l, kind, &pl[e->n_posix_locks]);
			pp[e->n_posix_locks] = &pl[e->n_posix_locks];
			e->n_posix_locks++;
		} else if (f) {
			lock_msg(l, kind, &flocks[f->n_locks]);
			fptrs[f->n_locks] = &flocks[f->n_locks];
			f->n_locks++;
			f->locks = fptrs;
		} else {
			continue;
		}
		if (note_lock(ctx, l) < 0)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd %d: locks", pid, fd);
	}
	return 0;
}

/* Locks restart can't re-take. */
static int check_fd_state(struct dump_ctx *ctx, pid_t pid, int fd, const char *link, const struct proc_fdinfo *fi)
{
	int i;

	if (fi->nlocks > PROC_FDINFO_LOCKS)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): %d file locks through one fd: more than %d are not supported",
			       pid, fd, link, fi->nlocks, PROC_FDINFO_LOCKS);
	for (i = 0; i < fi->nlocks; i++) {
		const struct proc_lock *l = &fi->locks[i];

		if (lock_kind(l) < 0)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): holds a file lock or lease restart can't re-take (%s %s, %s): "
				       "leases are not supported", pid, fd, link, l->kind, l->type, l->mode);
	}
	return 0;
}

static int dump_one_fd(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__Fd *e)
{
	Ckpt__Img__File f = CKPT__IMG__FILE__INIT;
	Ckpt__Img__FileLock flocks[PROC_FDINFO_LOCKS], *fptrs[PROC_FDINFO_LOCKS];
	struct proc_fdinfo fi;
	struct dump_file *obj;
	char path[64], link[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	const char *why;
	void *existing;
	bool procfs, first;
	uint32_t id;
	ssize_t n;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link));
	if (n < 0 && errno == ENAMETOOLONG)
		n = sizeof(link);
	if (n < 0 || stat(path, &st) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d", pid, fd);
	if ((size_t)n >= sizeof(link))
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d: its path is longer than an image holds", pid, fd);
	link[n] = 0;
	procfs = statfs(path, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
	r = proc_fdinfo_pid(pid, fd, &fi);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: fd %d: fdinfo", pid, fd);
	why = classify(ctx, pid, fd, link, &st, fi.flags & REOPEN_MASK, procfs, &f);
	if (why)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): %s", pid, fd, link, why);
	r = check_fd_state(ctx, pid, fd, link, &fi);
	if (r < 0)
		return r;
	e->fd = fd;
	e->cloexec = !!(fi.flags & O_CLOEXEC);
	if (fi.flags & O_ASYNC) {   /* saved even with no owner: files_dump_owners fills it */
		e->fown = calloc(1, sizeof(*e->fown));
		if (!e->fown)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd %d", pid, fd);
		ckpt__img__fown__init(e->fown);
	}
	obj = malloc(sizeof(*obj));
	if (!obj)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd %d", pid, fd);
	*obj = (struct dump_file){ pid, fd, f.kind == CKPT__IMG__FILE_KIND__FILE_PROC || f.kind == CKPT__IMG__FILE_KIND__FILE_PIDFD };
	r = objhash_lookup_add(ctx->files, OBJ_FILE, st.st_ino ^ ((uint64_t)st.st_dev << 32), obj, same_file, &id, &existing);
	if (r < 0) {
		free(obj);
		return cr_fail(ctx->err, CR_ERR_INTERNAL, -r, "task %d: fd %d: object table", pid, fd);
	}
	e->file_id = id;
	first = r == 1;
	r = collect_locks(ctx, pid, fd, link, &fi, first ? &f : NULL, flocks, fptrs, e);
	if (r < 0) {
		if (!first)
			free(obj);
		return r;
	}
	if (!first) {   /* a dup of a description already written */
		pid_t holder = ((struct dump_file *)existing)->pid;

		free(obj);
		if (((struct dump_file *)existing)->proc && holder != pid)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): a %s description shared with "
				       "another process (task %d): not supported", pid, fd, link,
				       strncmp(link, "anon_inode:", 11) ? "/proc file" : "pidfd", holder);
		return 0;
	}
	f.id = id;
	f.flags = fi.flags & REOPEN_MASK;
	f.has_pos = true;
	f.pos = fi.pos;
	r = dump_file_object(ctx, pid, fd, link, &st, &f);
	if (r >= 0)
		r = files_probe(ctx, pid, fd, &f, &st);
	if (r >= 0)
		r = dump_write_msg(ctx, pid, IMG_FILE, &f.base);
	evfd_dump_free(&f);
	sock_dump_free(&f);
	inotify_dump_free(&f);
	fanotify_dump_free(&f);
	tty_dump_free(&f);
	return r;
}

int files_dump_target(struct dump_ctx *ctx, pid_t pid, int fd, uint32_t *ret_id)
{
	Ckpt__Img__Fd e = CKPT__IMG__FD__INIT;
	int r = dump_one_fd(ctx, pid, fd, &e);

	if (r >= 0)
		*ret_id = e.file_id;
	return r;
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
	int r, refused = 0;

	r = list_fds(p->pid, &fds, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: listing fds", p->pid);
	if (n > SPAWN_MAX_FDS)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: %zu open fds: more than %d are not supported yet", p->pid, n, SPAWN_MAX_FDS);
	p->fds = calloc(n + 1, sizeof(*p->fds));
	if (!p->fds)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd table", p->pid);
	for (i = 0; i < n; i++) {
		size_t before = cr_refusal_count(ctx->err);

		ckpt__img__fd__init(&p->fds[i]);
		p->nfds = i + 1;
		r = dump_one_fd(ctx, p->pid, fds[i], &p->fds[i]);
		/* checkpoint --check: on to the next fd, the task stays refused */
		if (cr_refusal_absorbed(ctx->err, r, before)) {
			refused = r;
			continue;
		}
		if (r < 0)
			return r;
		ctx->max_fd = MAX(ctx->max_fd, fds[i]);
	}
	return refused;
}

static bool owner_in_container(const struct dump_ctx *ctx, const struct f_owner_ex *o)
{
	size_t i;

	if (o->type != F_OWNER_PGRP)
		return in_container(ctx, o->pid);
	for (i = 0; i < ctx->nprocs; i++)
		if (ctx->procs[i].nspgid == o->pid)
			return true;
	return false;
}

/* The SIGIO owner and signal of fds[from..to) by injected fcntl (only
 * the process can tell, in its own pid namespace). */
static int read_owners(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, size_t from, size_t to)
{
	uint64_t a[RBATCH_MAX_CALLS / 2];
	size_t i, k;
	int r;

	for (i = from; i < to; i++) {
		a[i - from] = rbatch_space(b, sizeof(struct f_owner_ex));
		rbatch_add(b, __NR_fcntl, p->fds[i].fd, F_GETOWN_EX, a[i - from], 0, 0, 0);
		rbatch_add(b, __NR_fcntl, p->fds[i].fd, F_GETSIG, 0, 0, 0, 0);
	}
	r = rbatch_run(b, &p->rt[0]);
	/* EBADF: an O_PATH fd, which has no owner */
	for (k = 0; r >= 0 && k < b->n; k++)
		if (b->calls[k].ret < 0 && b->calls[k].ret != -EBADF)
			r = (int)b->calls[k].ret;
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: injected F_GETOWN_EX/F_GETSIG", p->pid);
	for (i = from; i < to; i++) {
		struct f_owner_ex o;
		Ckpt__Img__Fd *e = &p->fds[i];
		long sig = b->calls[2 * (i - from) + 1].ret;

		if (sig == -EBADF)
			continue;
		memcpy(&o, rbatch_result(b, a[i - from]), sizeof(o));
		if (!e->fown && !o.pid && !sig)
			continue;
		if (o.pid && !owner_in_container(ctx, &o))
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d: its SIGIO owner (F_SETOWN_EX type %d, pid %d) is not in the container",
				       p->pid, e->fd, o.type, o.pid);
		if (!e->fown && !(e->fown = malloc(sizeof(*e->fown))))
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd %d", p->pid, e->fd);
		ckpt__img__fown__init(e->fown);
		e->fown->type = o.type;
		e->fown->pid = o.pid;
		e->fown->signum = sig;
	}
	return 0;
}

int files_dump_owners(struct dump_ctx *ctx, struct dump_proc *p, uint64_t code, uint64_t data, uint64_t table)
{
	_cleanup_free_ struct rbatch *b = malloc(sizeof(*b));
	size_t i, n;
	int r = 0;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	for (i = 0; i < p->nfds && r >= 0; i += n) {
		/* two calls an fd, and rbatch_run's own last one */
		n = MIN(p->nfds - i, (size_t)(RBATCH_MAX_CALLS - 1) / 2);
		rbatch_init(b, code, data, table);
		r = read_owners(ctx, p, b, i, i + n);
	}
	return r;
}

int files_dump_fds(struct dump_ctx *ctx, struct dump_proc *p)
{
	Ckpt__Img__Fds msg = CKPT__IMG__FDS__INIT;
	_cleanup_free_ Ckpt__Img__Fd **ptrs = calloc(p->nfds + 1, sizeof(*ptrs));
	size_t i;

	if (!ptrs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd table", p->pid);
	for (i = 0; i < p->nfds; i++)
		ptrs[i] = &p->fds[i];
	msg.fds = ptrs;
	msg.n_fds = p->nfds;
	return dump_write_msg(ctx, p->pid, IMG_FDS, &msg.base);
}

/* ---- reopening by path (restart, and the checkpoint's probe) ---- */

/* A regular file restart reopens must be the one the checkpoint saw: a
 * file changed meanwhile (another size or mtime) no longer fits the
 * offsets, locks and caches the process kept of it, unless the user said
 * so (allow_changed). */
static const char *check_reg(const Ckpt__Img__File *f, const struct stat *st, bool allow_changed, char *why, size_t len)
{
	int64_t mtime = st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;

	if (!S_ISREG(st->st_mode))
		return "it is no longer a regular file";
	if (allow_changed)
		return NULL;
	if (f->has_size && (uint64_t)st->st_size != f->size) {
		snprintf(why, len, "it changed size since the checkpoint (%lu -> %lu bytes; --allow-changed-files restores it anyway)",
			 (unsigned long)f->size, (unsigned long)st->st_size);
		return why;
	}
	if (f->has_mtime_ns && mtime != f->mtime_ns) {
		snprintf(why, len, "it was modified since the checkpoint (mtime %lld.%09lld -> %lld.%09lld; --allow-changed-files restores it anyway)",
			 (long long)(f->mtime_ns / 1000000000), (long long)(f->mtime_ns % 1000000000),
			 (long long)st->st_mtim.tv_sec, (long long)st->st_mtim.tv_nsec);
		return why;
	}
	return NULL;
}

/* What restart checks of the object a path names now. */
static const char *check_kind(const Ckpt__Img__File *f, const struct stat *st, bool allow_changed, char *why, size_t len)
{
	switch (f->kind) {
	case CKPT__IMG__FILE_KIND__FILE_REG:
		return check_reg(f, st, allow_changed, why, len);
	case CKPT__IMG__FILE_KIND__FILE_CHR:
		return S_ISCHR(st->st_mode) && f->has_rdev && st->st_rdev == f->rdev ? NULL : "it is not the saved device";
	case CKPT__IMG__FILE_KIND__FILE_DIR:
		return S_ISDIR(st->st_mode) ? NULL : "it is no longer a directory";
	case CKPT__IMG__FILE_KIND__FILE_FIFO:
		return S_ISFIFO(st->st_mode) ? NULL : "it is no longer a named pipe";
	case CKPT__IMG__FILE_KIND__FILE_PATH:
		if ((st->st_mode & S_IFMT) != f->ftype)
			return "it is no longer the same kind of file";
		if ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) && st->st_rdev != f->rdev)
			return "it is not the saved device";
		return NULL;
	default:
		return "not a file reopened by path";
	}
}

static int openat_beneath(int dirfd, const char *name, uint64_t flags)
{
	struct open_how how = { .flags = flags | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* Open f (REG, CHR, DIR, PATH) in the tree under rootfd (a task's root)
 * with exactly its saved flags (which never create: validate_file). Look
 * first at what the path names itself (O_PATH|O_NOFOLLOW: a FIFO or a
 * device put there must not block us or be opened for effect) and check
 * it, size and mtime too unless allow_changed; then open it for real: through the
 * look (race-free) when the flags follow symlinks, else by name in its
 * directory (a reopen through /proc/self/fd is a symlink to O_NOFOLLOW, and
 * O_PATH would open the link), checking it is what was looked at.
 * Returns the fd, or -errno with why it failed in why. */
static int open_in_root(int rootfd, const Ckpt__Img__File *f, bool allow_changed, char *why, size_t len)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int dirfd = -1, look = -1, fd = -1;
	_cleanup_free_ char *dir = NULL;
	const char *base, *bad;
	struct stat lst, st;
	char self[64];

	base = strrchr(f->path, '/');
	dir = base == f->path ? strdup("/") : strndup(f->path, base - f->path);
	base = base[1] ? base + 1 : ".";
	if (!dir)
		return -ENOMEM;
	dirfd = (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof(how));
	if (dirfd < 0)
		return snprintf(why, len, "its directory: %m"), -errno;
	look = openat_beneath(dirfd, base, O_PATH | O_NOFOLLOW);
	if (look < 0 || fstat(look, &lst) < 0)
		return snprintf(why, len, "%s", strerror(look < 0 ? -look : errno)), look < 0 ? look : -errno;
	bad = check_kind(f, &lst, allow_changed, why, len);
	if (bad && bad != why)
		snprintf(why, len, "%s", bad);
	if (bad)
		return -ESTALE;
	if (!(f->flags & (O_PATH | O_NOFOLLOW))) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", look);
		fd = open(self, (f->flags & OPEN_MASK) | O_CLOEXEC);
		fd = fd < 0 ? -errno : fd;
	} else {
		fd = openat_beneath(dirfd, base, f->flags & OPEN_MASK);
	}
	if (fd < 0)
		return snprintf(why, len, "%s", strerror(-fd)), fd;
	if (fstat(fd, &st) < 0 || st.st_dev != lst.st_dev || st.st_ino != lst.st_ino)
		return snprintf(why, len, "it changed while it was reopened"), -ESTALE;
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_REG && f->has_pos && lseek(fd, f->pos, SEEK_SET) != (off_t)f->pos)
		return snprintf(why, len, "seeking to %lu: %m", (unsigned long)f->pos), -errno;
	return TAKE_FD(fd);
}

/* Checkpoint: reopen f the way restart will, from the task's root, as
 * the owner, and check it is the same file (st, the fd's), at the same
 * offset. Skipped:
 * objects restart recreates (log, pipes, memfds); devices are only the
 * allowed ones (classify), whose opening does nothing; /proc files are
 * opened as the task will open them. */
int files_probe(struct dump_ctx *ctx, pid_t pid, int fd, const Ckpt__Img__File *f, const struct stat *st)
{
	char root[64], why[256] = "";
	_cleanup_close_ int rootfd = -1, nfd = -1;
	struct stat nst;

	if (f->kind == CKPT__IMG__FILE_KIND__FILE_LOG || f->kind == CKPT__IMG__FILE_KIND__FILE_PIPE ||
	    f->kind == CKPT__IMG__FILE_KIND__FILE_MEMFD || evfd_kind(f->kind) || f->kind == CKPT__IMG__FILE_KIND__FILE_PIDFD ||
	    f->kind == CKPT__IMG__FILE_KIND__FILE_SOCKET || f->kind == CKPT__IMG__FILE_KIND__FILE_FIFO ||
	    f->kind == CKPT__IMG__FILE_KIND__FILE_GHOST || f->kind == CKPT__IMG__FILE_KIND__FILE_INOTIFY || tty_kind(f->kind) || tty_is_devtty(f) ||
	    f->kind == CKPT__IMG__FILE_KIND__FILE_MQUEUE || f->kind == CKPT__IMG__FILE_KIND__FILE_FANOTIFY)
		return 0;
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: its root", pid);
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_PROC) {
		struct open_how how = { .flags = (f->flags & OPEN_MASK) | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

		nfd = (int)syscall(SYS_openat2, rootfd, f->path, &how, sizeof(how));
		if (nfd < 0)
			snprintf(why, sizeof(why), "%m");
		else if (!(f->flags & O_PATH) && lseek(nfd, f->pos, SEEK_SET) != (off_t)f->pos)
			snprintf(why, sizeof(why), "seeking to %lu: %m", (unsigned long)f->pos);
		else if (fstat(nfd, &nst) < 0 || nst.st_dev != st->st_dev)
			snprintf(why, sizeof(why), "it is not in the same /proc");
		/* an entry stays while it is open, so its path finds it again,
		 * unless its task is gone and the path now names another task
		 * that took its pid: the fd fails with ESRCH, a reopen would not */
		else if (nst.st_ino != st->st_ino)
			snprintf(why, sizeof(why), "its task is gone, and its path now names another task that took its pid");
	} else {
		struct fs_ident saved;
		int r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);

		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: fd %d (%s): taking the identity of the owner (uid %u, gid %u)",
				       pid, fd, f->path, ctx->req->owner_uid, ctx->req->owner_gid);
		nfd = open_in_root(rootfd, f, false, why, sizeof(why));
		fs_ident_leave(&saved);
		if (nfd >= 0 && (fstat(nfd, &nst) < 0 || nst.st_dev != st->st_dev || nst.st_ino != st->st_ino))
			snprintf(why, sizeof(why), "its path now names another file");
	}
	if (why[0])
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d (%s): restart could not reopen it: %s", pid, fd, f->path, why);
	return 0;
}

/* Checkpoint: a file pid maps (path, opened with flags) opened the way
 * restart will open it for the mapping (mm_restore.c): from the task's
 * root, as the owner; it must be the file mapped (st). */
int files_probe_mapped(struct dump_ctx *ctx, pid_t pid, const char *path, uint32_t flags, const struct stat *st, const char *obj)
{
	Ckpt__Img__File f = CKPT__IMG__FILE__INIT;
	char root[64], why[256] = "";
	_cleanup_close_ int rootfd = -1, nfd = -1;
	struct fs_ident saved;
	struct stat nst;
	int r;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: its root", pid);
	f.kind = CKPT__IMG__FILE_KIND__FILE_REG;
	f.path = (char *)path;
	f.flags = flags;
	r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: %s: taking the identity of the owner (uid %u, gid %u)",
			       pid, obj, ctx->req->owner_uid, ctx->req->owner_gid);
	nfd = open_in_root(rootfd, &f, true, why, sizeof(why));
	fs_ident_leave(&saved);
	if (nfd >= 0 && (fstat(nfd, &nst) < 0 || nst.st_dev != st->st_dev || nst.st_ino != st->st_ino))
		snprintf(why, sizeof(why), "its path now names another file");
	if (why[0])
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: %s: restart could not open it as the container's owner "
			       "(uid %u): %s", pid, obj, ctx->req->owner_uid, why);
	return 0;
}

/* ---- restore ---- */

static const char *lock_name(const Ckpt__Img__FileLock *l, char *buf, size_t len)
{
	char end[32] = "EOF";

	if (l->kind == CKPT__IMG__LOCK_KIND__LOCK_FLOCK) {
		snprintf(buf, len, "flock (%s)", l->write ? "LOCK_EX" : "LOCK_SH");
		return buf;
	}
	if (l->len)
		snprintf(end, sizeof(end), "%lu", (unsigned long)(l->start + l->len - 1));
	snprintf(buf, len, "%s %s lock on bytes %lu..%s", l->kind == CKPT__IMG__LOCK_KIND__LOCK_OFD ? "OFD" : "POSIX",
		 l->write ? "write" : "read", (unsigned long)l->start, end);
	return buf;
}

static int lock_failed(struct restore_ctx *ctx, const char *who, const Ckpt__Img__FileLock *l, int err)
{
	char name[96];

	lock_name(l, name, sizeof(name));
	if (err == -EAGAIN || err == -EACCES)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "%s: re-taking its %s: another process holds a conflicting lock", who, name);
	return cr_fail(ctx->err, CR_ERR_KERNEL, -err, "%s: re-taking its %s", who, name);
}

static struct flock lock_flock(const Ckpt__Img__FileLock *l)
{
	return (struct flock){ .l_type = l->write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET, .l_start = l->start, .l_len = l->len };
}

/* The flock and OFD locks of a description belong to it, whoever holds
 * it: the worker takes them on the description it opened, which the tasks
 * get. Never waiting: a lock someone took since the checkpoint fails the
 * restart, before any task exists. */
static int take_file_locks(struct restore_ctx *ctx, const Ckpt__Img__File *f, int fd)
{
	char who[PATH_MAX + 32];
	size_t i;
	int r;

	snprintf(who, sizeof(who), "file %u (%s)", f->id, f->path ? f->path : f->kind == CKPT__IMG__FILE_KIND__FILE_PIPE ? "a pipe" :
		 f->kind == CKPT__IMG__FILE_KIND__FILE_GHOST ? "a deleted file" : "a memfd");
	for (i = 0; i < f->n_locks; i++) {
		const Ckpt__Img__FileLock *l = f->locks[i];
		struct flock fl = lock_flock(l);

		if (l->kind == CKPT__IMG__LOCK_KIND__LOCK_FLOCK)
			r = flock(fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
		else
			r = fcntl(fd, F_OFD_SETLK, &fl);
		if (r < 0)
			return lock_failed(ctx, who, l, -errno);
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
	fd = open(path, (f->flags & OPEN_MASK) | O_CLOEXEC);
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u: reopening its memfd", f->id);
	if (f->has_pos && lseek(fd, f->pos, SEEK_SET) != (off_t)f->pos) {
		close(fd);
		return cr_fail(ctx->err, CR_ERR_IO, errno, "file %u: seeking its memfd", f->id);
	}
	return fd;
}

/* A ghost's description: a new open of the file the worker made again. */
static int reopen_ghost(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_SHM, f->ghost_id);
	char path[64];
	int fd;

	if (!o || !o->ghost)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: refers to unknown deleted file %u", f->id, f->ghost_id);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ctx->pool[o->slot]);
	fd = open(path, (f->flags & OPEN_MASK) | O_CLOEXEC);
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u: reopening the deleted file %s", f->id, o->ghost_path);
	if (f->has_pos && lseek(fd, f->pos, SEEK_SET) != (off_t)f->pos) {
		close(fd);
		return cr_fail(ctx->err, CR_ERR_IO, errno, "file %u: seeking the deleted file %s", f->id, o->ghost_path);
	}
	return fd;
}

/* A FIFO: the worker first holds it O_RDWR (so no open of it blocks or
 * fails for want of a reader, and its buffer lives until every
 * description is in the pool) and gives it its saved bytes; then each
 * description is opened with its own flags. */
static int reopen_fifo(struct restore_ctx *ctx, int rootfd, const Ckpt__Img__File *f)
{
	Ckpt__Img__File nb = *f;
	char why[256] = "";
	int fd, r;

	if (!pipe_restore_fifo_held(ctx, f->pipe_id)) {
		nb.flags = O_RDWR | O_NONBLOCK;
		fd = open_in_root(rootfd, &nb, false, why, sizeof(why));
		if (fd < 0)
			return cr_fail(ctx->err, fd == -ESTALE ? CR_ERR_BAD_STATE : CR_ERR_IO, fd == -ESTALE ? 0 : -fd,
				       "reopening the named pipe %s: %s", f->path, why);
		r = pipe_restore_fifo(ctx, f->pipe_id, fd);
		if (r < 0)
			return r;
	}
	nb.flags = f->flags | O_NONBLOCK;
	fd = open_in_root(rootfd, &nb, false, why, sizeof(why));
	if (fd < 0)
		return cr_fail(ctx->err, fd == -ESTALE ? CR_ERR_BAD_STATE : CR_ERR_IO, fd == -ESTALE ? 0 : -fd,
			       "reopening the named pipe %s: %s", f->path, why);
	if (fcntl(fd, F_SETFL, f->flags & (O_NONBLOCK | O_APPEND | O_DIRECT | O_NOATIME)) < 0) {
		close(fd);
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "the named pipe %s: flags %#x", f->path, f->flags);
	}
	return fd;
}

/* The worker is in the container's IPC namespace: its queues are there. */
static int reopen_mqueue(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	char name[CR_MQ_NAME_MAX + 2];
	mqd_t mq;

	snprintf(name, sizeof(name), "/%s", f->path);
	mq = mq_open(name, (f->flags & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC);
	if (mq < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "opening POSIX message queue %s", name);
	return mq;
}

int files_open_as_owner(struct restore_ctx *ctx, const Ckpt__Img__File *f, bool allow_changed, char *why, size_t len)
{
	_cleanup_close_ int rootfd = -1;
	struct fs_ident saved;
	char buf[64];
	int fd, r;

	snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
	rootfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return snprintf(why, len, "the container's root: %m"), -errno;
	/* an image opens nothing its owner could not */
	r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);
	if (r < 0)
		return snprintf(why, len, "taking the identity of the owner (uid %u, gid %u): %s", ctx->req->owner_uid,
				ctx->req->owner_gid, strerror(-r)), r;
	fd = open_in_root(rootfd, f, allow_changed, why, len);
	fs_ident_leave(&saved);
	return fd;
}

int files_open_cwd(struct restore_ctx *ctx, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int rootfd = -1, fd = -1;
	struct fs_ident saved;
	char buf[64];
	int r;

	snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
	rootfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);
	if (r < 0)
		return r;
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	/* chdir() needs search permission, which an O_PATH open does not check */
	if (fd < 0 || syscall(SYS_faccessat2, fd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH) < 0)
		r = -errno;
	fs_ident_leave(&saved);
	return r < 0 ? r : TAKE_FD(fd);
}

static int reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	_cleanup_close_ int fd = -1, rootfd = -1;
	char buf[64], why[256] = "";
	struct fs_ident saved;
	int r;

	switch (f->kind) {
	case CKPT__IMG__FILE_KIND__FILE_LOG:
		fd = fcntl(ctx->req->log_fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, errno, "container log") : TAKE_FD(fd);
	case CKPT__IMG__FILE_KIND__FILE_PIPE:
		return pipe_restore_end(ctx, f->pipe_id, f->flags);
	case CKPT__IMG__FILE_KIND__FILE_MEMFD:
		return reopen_memfd(ctx, f);
	case CKPT__IMG__FILE_KIND__FILE_EVENTFD:
	case CKPT__IMG__FILE_KIND__FILE_TIMERFD:
	case CKPT__IMG__FILE_KIND__FILE_SIGNALFD:
	case CKPT__IMG__FILE_KIND__FILE_EPOLL:
		return evfd_reopen(ctx, f);
	case CKPT__IMG__FILE_KIND__FILE_SOCKET:
		return sock_reopen(ctx, f);
	case CKPT__IMG__FILE_KIND__FILE_GHOST:
		return reopen_ghost(ctx, f);
	case CKPT__IMG__FILE_KIND__FILE_INOTIFY:
		return inotify_reopen(ctx, f);
	case CKPT__IMG__FILE_KIND__FILE_FANOTIFY:
		return fanotify_reopen(ctx, f);
	case CKPT__IMG__FILE_KIND__FILE_PTY_MASTER:
	case CKPT__IMG__FILE_KIND__FILE_PTY_SLAVE:
		return tty_reopen(ctx, f);
	case CKPT__IMG__FILE_KIND__FILE_MQUEUE:
		return reopen_mqueue(ctx, f);
	default:
		break;
	}
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_FIFO) {
		snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
		rootfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "the container's root");
		/* an image opens nothing its owner could not */
		r = fs_ident_enter(ctx->req->owner_uid, ctx->req->owner_gid, &saved);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "reopening %s: taking the identity of the owner (uid %u, gid %u)",
				       f->path, ctx->req->owner_uid, ctx->req->owner_gid);
		fd = r = reopen_fifo(ctx, rootfd, f);
		fs_ident_leave(&saved);
		return r < 0 ? r : TAKE_FD(fd);
	}
	fd = files_open_as_owner(ctx, f, ctx->req->allow_changed_files, why, sizeof(why));
	if (fd == -ESTALE)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "reopening %s: %s", f->path, why);
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_IO, -fd, "reopening %s: %s", f->path, why);
	return TAKE_FD(fd);
}

int files_make(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	int fd = reopen(ctx, f), r;

	if (fd < 0)
		return fd;
	r = take_file_locks(ctx, f, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int files_restore_file(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__File *f = image_unpack(&ctx->rd, &ckpt__img__file__descriptor, payload, len);
	struct restore_obj *o = NULL;
	const char *why;
	int fd = -1, slot = -1, r = 0;
	bool deferred = false;

	if (!f)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file record: %s", ctx->rd.error);
	why = validate_file(f);
	if (why)
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u%s%.200s%s: %s", f->id, f->path ? " (" : "", f->path ? f->path : "",
			    f->path ? ")" : "", why);
	if (r >= 0)
		r = files_defer_file(ctx, f, payload, len, &deferred);
	if (r >= 0 && deferred) {
		protobuf_c_message_free_unpacked(&f->base, NULL);
		return 0;
	}
	/* a /proc file or a pidfd names tasks that don't exist yet: opened
	 * by its holder once they all do (files_restore_late) */
	if (r >= 0 && f->kind != CKPT__IMG__FILE_KIND__FILE_PROC && f->kind != CKPT__IMG__FILE_KIND__FILE_PIDFD && !tty_is_devtty(f)) {
		fd = r = files_make(ctx, f);
		if (fd >= 0)
			slot = r = restore_pool_add(ctx, fd);
	}
	if (r >= 0) {
		o = calloc(1, sizeof(*o));
		if (o)
			*o = (struct restore_obj){ .slot = slot, .pipe = { -1, -1 }, .flags = f->flags, .kind = f->kind, .pos = f->has_pos ? f->pos : 0,
						   .pidfd_pid = f->pidfd_pid, .pidfd_thread = f->pidfd_thread,
						   .pty_index = f->pty_index, .dfd = -1, .rep = -1 };
		/* /dev/tty too: opened by its task on its controlling terminal */
		if (o && (f->kind == CKPT__IMG__FILE_KIND__FILE_PROC || tty_is_devtty(f)) && !(o->proc_path = strdup(f->path))) {
			free(o);
			o = NULL;
		}
		if (!o)
			r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "file %u", f->id);
	}
	if (r >= 0) {
		r = objhash_insert_id(ctx->objs, OBJ_FILE, f->id, o);
		if (r < 0) {
			free(o->proc_path);
			free(o);
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file id %u appears twice", f->id);
		}
	}
	protobuf_c_message_free_unpacked(&f->base, NULL);
	return r < 0 ? r : 0;
}

/* Bound the fd table before anything is created from it. */
static int check_fds(struct restore_ctx *ctx, const Ckpt__Img__Fds *m)
{
	pid_t pid = ctx->cur->tt->pid;
	const char *why = validate_fds(m, ctx->tree->max_fd);
	size_t i;

	if (why)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: fd table: %s", pid, why);
	for (i = 0; i < m->n_fds; i++)
		if (!objhash_find_id(ctx->objs, OBJ_FILE, m->fds[i]->file_id))
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: fd %u refers to unknown file %u", pid, m->fds[i]->fd, m->fds[i]->file_id);
	return 0;
}

/* The fds that wait for every task to exist (/proc files) go to ctx->late;
 * the others stay in m (reordered) and *ret_n counts them. */
static int split_late(struct restore_ctx *ctx, Ckpt__Img__Fds *m, size_t *ret_n)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_fds; i++) {
		Ckpt__Img__Fd *e = m->fds[i];
		struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_FILE, e->file_id);

		if (o->slot >= 0) {
			m->fds[i] = m->fds[n];
			m->fds[n++] = e;
			continue;
		}
		if (o->deferred) {
			int r = files_defer_fd(ctx, o, e);

			if (r < 0)
				return r;
			continue;
		}
		if (ctx->nlate % 64 == 0) {
			struct late_fd *v = realloc(ctx->late, (ctx->nlate + 64) * sizeof(*v));

			if (!v)
				return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "fd table");
			ctx->late = v;
		}
		ctx->late[ctx->nlate++] = (struct late_fd){ .proc = ctx->cur - ctx->procs, .fd = e->fd,
							   .file_id = e->file_id, .cloexec = e->cloexec };
		if (e->fown) {
			struct late_fd *l = &ctx->late[ctx->nlate - 1];

			l->has_own = true;
			l->own = (struct rfown){ e->fd, e->fown->type, e->fown->pid, e->fown->signum, !!(o->flags & O_ASYNC) };
		}
	}
	*ret_n = n;
	return 0;
}

/* A process's POSIX locks wait for all its fds (and the other processes'
 * locks: they were compatible), its fds' SIGIO owners for its threads. */
static int keep_fd_state(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Fds *m)
{
	size_t i, k, n = 0, no = 0;

	for (i = 0; i < m->n_fds; i++) {
		n += m->fds[i]->n_posix_locks;
		no += m->fds[i]->fown != NULL;
	}
	p->locks = n ? calloc(n, sizeof(*p->locks)) : NULL;
	p->owners = no ? calloc(no, sizeof(*p->owners)) : NULL;
	if ((n && !p->locks) || (no && !p->owners))
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: locks", p->tt->pid);
	for (i = 0; i < m->n_fds; i++) {
		const Ckpt__Img__Fd *e = m->fds[i];
		const struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_FILE, e->file_id);

		for (k = 0; k < e->n_posix_locks; k++)
			p->locks[p->nlocks++] = (struct rlock){ e->fd, *e->posix_locks[k] };
		/* a file opened late (a /proc file, a pidfd, /dev/tty) gets its
		 * owner once it is there (install_late) */
		if (e->fown && (o->slot >= 0 || o->deferred))
			p->owners[p->nowners++] = (struct rfown){ e->fd, e->fown->type, e->fown->pid, e->fown->signum,
								  !!(o->flags & O_ASYNC) };
	}
	return 0;
}

int files_restore_fds(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__Fds *m = image_unpack(&ctx->rd, &ckpt__img__fds__descriptor, payload, len);
	size_t all = 0, now = 0;
	int r = 0;

	if (!m)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "fds record: %s", ctx->rd.error);
	all = m->n_fds;
	if (!ctx->cur || !ctx->cur->task || ctx->cur->seized || ctx->cur->pidfd >= 0)
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "fds record out of order");
	if (r >= 0)
		r = check_fds(ctx, m);
	if (r >= 0)
		r = keep_fd_state(ctx, ctx->cur, m);
	if (r >= 0)
		r = split_late(ctx, m, &now);
	if (r >= 0) {
		m->n_fds = now;
		r = proc_restore_create(ctx, ctx->cur, m);
		m->n_fds = all;
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return r < 0 ? r : 0;
}

static struct rproc *find_proc(struct restore_ctx *ctx, pid_t id)
{
	size_t i, k;

	for (i = 0; i < ctx->nprocs; i++) {
		if (ctx->procs[i].tt->pid == id)
			return &ctx->procs[i];
		for (k = 0; k < ctx->procs[i].tt->n_threads; k++)
			if (ctx->procs[i].tt->threads[k] == id)
				return &ctx->procs[i];
	}
	return NULL;
}

/* One /proc fd, opened by its task itself (its /proc is the container's),
 * or a dup of the one it opened before for the same description. */
/* pidfd_open() by the holder: the pid is read in the container's pid
 * namespace, where it names the restored process (or thread). */
static long open_pidfd(struct restore_ctx *ctx, struct rproc *p, const struct restore_obj *o)
{
	if (!find_proc(ctx, o->pidfd_pid))
		return -ESRCH;
	return rsys(&p->rt, __NR_pidfd_open, o->pidfd_pid, (o->flags & O_NONBLOCK ? PIDFD_NONBLOCK : 0) |
		    (o->pidfd_thread ? PIDFD_THREAD : 0));
}

/* Installing at fd replaces what is there, maybe the pidfd a fork left
 * in the parent (stale_fds): it must not be closed later over the file. */
static void unstale(struct rproc *p, uint32_t fd)
{
	for (size_t i = 0; i < p->nstale; i++)
		if (p->stale_fds[i] == (int)fd)
			p->stale_fds[i--] = p->stale_fds[--p->nstale];
}

static int set_owner(struct restore_ctx *ctx, struct rproc *p, const struct rfown *w);

static int install_late(struct restore_ctx *ctx, const struct late_fd *l, const struct late_fd *first)
{
	struct rproc *p = &ctx->procs[l->proc];
	struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_FILE, l->file_id);
	pid_t named = o->kind == CKPT__IMG__FILE_KIND__FILE_PIDFD ? o->pidfd_pid : validate_proc_pid(o->proc_path);
	const char *what = o->proc_path ? o->proc_path : "its pidfd";
	bool devtty = o->kind == CKPT__IMG__FILE_KIND__FILE_CHR;
	long addr, k, ret;
	int r;

	if (named && !find_proc(ctx, named))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: fd %u: %s names no task of the image", p->tt->pid, l->fd, what);
	unstale(p, l->fd);
	if (first) {
		ret = rsys(&p->rt, __NR_dup3, first->fd, l->fd, l->cloexec ? O_CLOEXEC : 0);
		return ret < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: fd %u: dup of fd %u", p->tt->pid, l->fd, first->fd) : 0;
	}
	if (devtty && (r = tty_restore_devtty_path(ctx, p->tt->pid, l->fd)) < 0)
		return r;
	if (o->kind == CKPT__IMG__FILE_KIND__FILE_PIDFD) {
		k = open_pidfd(ctx, p, o);
	} else {
		addr = restore_scratch_put(p, PAGE_SZ, o->proc_path, strlen(o->proc_path) + 1);
		k = addr < 0 ? addr : rsys(&p->rt, __NR_openat, AT_FDCWD, addr, (o->flags & OPEN_MASK) | O_CLOEXEC, 0);
	}
	if (k < 0)
		return cr_fail(ctx->err, CR_ERR_IO, (int)-k, "task %d: fd %u: reopening %s", p->tt->pid, l->fd, what);
	if (k != l->fd) {
		ret = rsys(&p->rt, __NR_dup3, k, l->fd, l->cloexec ? O_CLOEXEC : 0);
		rsys(&p->rt, __NR_close, k);
	} else {
		ret = rsys(&p->rt, __NR_fcntl, k, F_SETFD, l->cloexec ? FD_CLOEXEC : 0);
	}
	/* seq_file's lseek reads up to the offset: a reader goes on where it
	 * was, in contents computed afresh */
	if (ret >= 0 && o->proc_path && !devtty && !(o->flags & O_PATH) && o->pos)
		ret = rsys(&p->rt, __NR_lseek, l->fd, o->pos, SEEK_SET);
	if (ret < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: fd %u: installing %s", p->tt->pid, l->fd, what);
	if (devtty && (r = tty_restore_devtty_check(ctx, p, l->fd, o->pty_index)) < 0)
		return r;
	return l->has_own ? set_owner(ctx, p, &l->own) : 0;
}

int files_restore_late(struct restore_ctx *ctx)
{
	size_t i, j;
	int r = 0;

	for (i = 0; i < ctx->nlate && r >= 0; i++) {
		const struct late_fd *first = NULL;

		for (j = 0; j < i && !first; j++)
			if (ctx->late[j].proc == ctx->late[i].proc && ctx->late[j].file_id == ctx->late[i].file_id)
				first = &ctx->late[j];
		r = install_late(ctx, &ctx->late[i], first);
	}
	return r;
}

/* The SIGIO owner (a pid in the container's namespace: the task sets it
 * in its own), the signal, then O_ASYNC, which registers the description
 * for SIGIO only when F_SETFL turns it on. */
static int set_owner(struct restore_ctx *ctx, struct rproc *p, const struct rfown *w)
{
	struct f_owner_ex own = { .type = w->type, .pid = w->pid };
	long addr, ret, fl = 0;

	addr = restore_scratch_put(p, PAGE_SZ, &own, sizeof(own));
	ret = addr < 0 ? addr : rsys(&p->rt, __NR_fcntl, w->fd, F_SETOWN_EX, addr);
	if (ret >= 0)
		ret = rsys(&p->rt, __NR_fcntl, w->fd, F_SETSIG, w->sig);
	if (ret >= 0 && w->async)
		ret = fl = rsys(&p->rt, __NR_fcntl, w->fd, F_GETFL);
	if (ret >= 0 && w->async)
		ret = rsys(&p->rt, __NR_fcntl, w->fd, F_SETFL, fl | O_ASYNC);
	if (ret < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: fd %u: setting its SIGIO owner (type %u, pid %d), signal %u%s",
			       p->tt->pid, w->fd, w->type, w->pid, w->sig, w->async ? " and O_ASYNC" : "");
	return 0;
}

/* POSIX locks belong to the process that took them: it takes them again. */
int files_restore_fd_state(struct restore_ctx *ctx, struct rproc *p)
{
	char who[64];
	size_t i;
	long addr, ret;

	int r;

	for (i = 0; i < p->nowners; i++)
		if ((r = set_owner(ctx, p, &p->owners[i])) < 0)
			return r;
	for (i = 0; i < p->nlocks; i++) {
		struct flock fl = lock_flock(&p->locks[i].l);

		addr = restore_scratch_put(p, PAGE_SZ, &fl, sizeof(fl));
		ret = addr < 0 ? addr : rsys(&p->rt, __NR_fcntl, p->locks[i].fd, F_SETLK, addr);
		if (ret < 0) {
			snprintf(who, sizeof(who), "task %d: fd %u", p->tt->pid, p->locks[i].fd);
			return lock_failed(ctx, who, &p->locks[i].l, (int)ret);
		}
	}
	return 0;
}
