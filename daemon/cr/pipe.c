// SPDX-License-Identifier: GPL-2.0-or-later
/* Pipes: the buffer size and the bytes in flight are saved with the pipe,
 * once; each open end is a file description that refers to it. */
#include "restore.h"
#include "validate.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>


/* ---- checkpoint ---- */

/* The bytes in the pipe, without taking them: tee() them into a pipe of
 * our own as big as theirs, then read that. */
static int peek_pipe(int src, int size, int avail, void *buf)
{
	_cleanup_close_ int rd = -1, wr = -1;
	int p[2], done = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	rd = p[0];
	wr = p[1];
	if (fcntl(wr, F_SETPIPE_SZ, size) < size)
		return -EPERM;
	n = tee(src, wr, avail, SPLICE_F_NONBLOCK);
	if (n != avail)
		return n < 0 ? -errno : -EAGAIN;
	while (done < avail) {
		n = read(rd, (char *)buf + done, avail - done);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

static int write_pipe(struct dump_ctx *ctx, pid_t pid, int fd, uint32_t id)
{
	Ckpt__Img__Pipe m = CKPT__IMG__PIPE__INIT;
	_cleanup_close_ int src = -1;
	_cleanup_free_ void *buf = NULL;
	char path[64];
	int size, avail = 0, r;

	/* A new read end of the same pipe (a pipe opens like a FIFO). */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	src = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (src < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d: opening its pipe", pid, fd);
	size = fcntl(src, F_GETPIPE_SZ);
	if (size <= 0 || ioctl(src, FIONREAD, &avail) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d: pipe size", pid, fd);
	if ((unsigned)size > CR_PIPE_MAX_SIZE || avail < 0 || avail > size)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: fd %d: a pipe of %d bytes holding %d", pid, fd, size, avail);
	if (avail) {
		buf = malloc(avail);
		if (!buf)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "pipe data");
		r = peek_pipe(src, size, avail, buf);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: fd %d: reading the %d bytes in its pipe", pid, fd, avail);
	}
	m.id = id;
	m.size = size;
	m.has_data = true;
	m.data.data = buf;
	m.data.len = avail;
	return dump_write_msg(ctx, pid, IMG_PIPE, &m.base);
}

int pipe_dump(struct dump_ctx *ctx, pid_t pid, int fd, const struct stat *st, uint32_t *ret_id)
{
	/* A pipe is its inode: the key says it all. */
	void *obj = malloc(1);
	int r = obj ? objhash_lookup_add(ctx->files, OBJ_PIPE, st->st_ino ^ ((uint64_t)st->st_dev << 32), obj, NULL, ret_id, NULL) : -ENOMEM;

	if (r <= 0)
		free(obj);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, -r, "object table");
	return r == 0 ? 0 : write_pipe(ctx, pid, fd, *ret_id);
}

/* ---- restart ---- */

static int close_ends(void *obj, void *arg);

static int fill(int wr, const ProtobufCBinaryData *d)
{
	int fl = fcntl(wr, F_GETFL);
	size_t done = 0;

	if (fl < 0 || fcntl(wr, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	while (done < d->len) {
		ssize_t n = write(wr, d->data + done, d->len - done);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return fcntl(wr, F_SETFL, fl) < 0 ? -errno : 0;
}

int pipe_restore(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__Pipe *m = image_unpack(&ctx->rd, &ckpt__img__pipe__descriptor, payload, len);
	struct restore_obj *o = NULL;
	int p[2] = { -1, -1 }, r = 0;

	if (!m)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pipe record: %s", ctx->rd.error);
	if (validate_pipe(m))
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pipe %u: size %u with %zu bytes", m->id, m->size, m->data.len);
	else if (pipe2(p, O_CLOEXEC) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "pipe %u: pipe2", m->id);
	else if (fcntl(p[1], F_SETPIPE_SZ, m->size) < (int)m->size)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "pipe %u: setting its size to %u", m->id, m->size);
	else if ((r = fill(p[1], &m->data)) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "pipe %u: writing its %zu bytes", m->id, m->data.len);
	if (r >= 0 && !(o = calloc(1, sizeof(*o))))
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "pipe");
	if (r >= 0) {
		*o = (struct restore_obj){ .slot = -1, .pipe = { p[0], p[1] } };
		r = objhash_insert_id(ctx->objs, OBJ_PIPE, m->id, o);
		if (r < 0) {
			free(o);
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pipe id %u appears twice", m->id);
		}
	}
	if (r < 0) {
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
	}
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return r < 0 ? r : 0;
}

int pipe_restore_end(struct restore_ctx *ctx, uint32_t id, uint32_t flags)
{
	struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_PIPE, id);
	int acc = flags & O_ACCMODE, end = acc == O_WRONLY, fd;
	char path[64];

	if (!o || o->fifo || o->pipe[end] < 0 || acc == 3)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file refers to unknown pipe %u", id);
	o->pipe_end_used = true;
	if (!o->pipe_used[end] && acc != O_RDWR) {
		/* The first description of this end is the one pipe2() made. */
		o->pipe_used[end] = true;
		fd = fcntl(o->pipe[end], F_DUPFD_CLOEXEC, 3);
	} else {
		/* Another description of the same pipe: open it again. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", o->pipe[end]);
		fd = open(path, acc | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "pipe %u: an end", id);
	if (fcntl(fd, F_SETFL, flags & (O_NONBLOCK | O_APPEND | O_DIRECT | O_NOATIME)) < 0) {
		close(fd);
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "pipe %u: flags %#x", id, flags);
	}
	return fd;
}

bool pipe_restore_fifo_held(struct restore_ctx *ctx, uint32_t id)
{
	struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_PIPE, id);

	return o && o->fifo;
}

/* The FIFO's buffer is the pipe's: its size, then the bytes pipe_restore
 * put in a pipe of our own, moved over. Takes hold (the worker's O_RDWR
 * open of the FIFO), kept until pipe_restore_close_unused. */
int pipe_restore_fifo(struct restore_ctx *ctx, uint32_t id, int hold)
{
	struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_PIPE, id);
	int size, avail = 0, r = 0;
	ssize_t n;

	if (!o || o->pipe_end_used || o->pipe[0] < 0) {
		close(hold);
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "a named pipe refers to unknown pipe %u", id);
	}
	size = fcntl(o->pipe[0], F_GETPIPE_SZ);
	if (size <= 0 || fcntl(hold, F_SETPIPE_SZ, size) < size || ioctl(o->pipe[0], FIONREAD, &avail) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "named pipe %u: setting its size to %d", id, size);
	while (r >= 0 && avail > 0) {
		n = splice(o->pipe[0], NULL, hold, NULL, avail, SPLICE_F_NONBLOCK);
		if (n <= 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, n < 0 ? errno : EIO, "named pipe %u: writing its %d bytes", id, avail);
		else
			avail -= n;
	}
	if (r < 0) {
		close(hold);
		return r;
	}
	close_ends(o, NULL);
	o->pipe[0] = hold;
	o->fifo = true;
	return 0;
}

static int close_ends(void *obj, void *arg)
{
	struct restore_obj *o = obj;

	(void)arg;
	for (int i = 0; i < 2; i++)
		if (o->pipe[i] >= 0) {
			close(o->pipe[i]);
			o->pipe[i] = -1;
		}
	return 0;
}

/* An end nobody had open stays closed: readers see EOF after the data, as
 * they would have. Called once every FILE record is in. */
void pipe_restore_close_unused(struct restore_ctx *ctx)
{
	objhash_for_each(ctx->objs, OBJ_PIPE, close_ends, NULL);
}
