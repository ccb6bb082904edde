// SPDX-License-Identifier: GPL-2.0-or-later
/* Terminals: the ptys of the container's own devpts instance (tty.c). */
#pragma once
#include "dump.h"
#include "restore.h"

/* ---- checkpoint ---- */

/* Find the container's devpts and every pty end its tasks hold; the
 * sessions' controlling terminals and the console go to the header.
 * Refuses a controlling terminal restart could not give back. */
int tty_dump_header(struct dump_ctx *ctx, Ckpt__Img__Header *h);
void tty_dump_header_free(Ckpt__Img__Header *h);
/* fd of task pid, a character device (st): a terminal? Then true, with
 * f's kind and pty_index set, or *ret_why saying why it is refused. */
bool tty_classify(struct dump_ctx *ctx, pid_t pid, int fd, const struct stat *st, uint32_t flags,
		  Ckpt__Img__File *f, const char **ret_why);
bool tty_kind(Ckpt__Img__FileKind kind);
/* A /dev/tty description (a FILE_CHR of 5:0, on pty pty_index). */
bool tty_is_devtty(const Ckpt__Img__File *f);
/* The first File of a pty carries its state (f->pty). */
int tty_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f);
void tty_dump_free(Ckpt__Img__File *f);
void tty_dump_done(struct dump_ctx *ctx);

/* ---- restart ---- */

int tty_restore_header(struct restore_ctx *ctx, const Ckpt__Img__Header *h);
/* A master (the pty's one description) or a new open of a slave: the
 * first File of a pty makes the pair at its index and gives it its state. */
int tty_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f);
/* A session leader just created (fds m): its controlling terminal. */
int tty_restore_ctty(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Fds *m);
/* Every process exists: foreground process groups, then the ptys'
 * locks (every slave is open). */
int tty_restore_finish(struct restore_ctx *ctx);
void tty_restore_done(struct restore_ctx *ctx);
/* /dev/tty is opened by its task once its controlling terminal is back:
 * first the container's /dev/tty is checked to be the device, through no
 * symlink; then the task's new fd must be on pty index. */
int tty_restore_devtty_path(struct restore_ctx *ctx, pid_t pid, uint32_t fd);
int tty_restore_devtty_check(struct restore_ctx *ctx, struct rproc *p, uint32_t fd, uint32_t index);
