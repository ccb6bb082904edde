// SPDX-License-Identifier: GPL-2.0-or-later
/* The console of a container run with a tty: a pty of its own devpts whose
 * slave is the program's terminal and whose master ckptd keeps (init keeps
 * one too, so a restarted ckptd finds it again).
 *
 * Attaching hands the client a copy of the master by SCM_RIGHTS: the client
 * relays its terminal to it and sets the window size itself, and closing
 * it detaches. The loop never copies a byte of a session, and a slow
 * terminal can't stall it; the price is that ckptd does not see who is
 * attached (two clients attached at once share the output). */
#include "container.h"
#include "handlers.h"
#include "macro.h"
#include "server.h"
#include <fcntl.h>
#include <sys/ioctl.h>

#define E(x) CKPT__RPC__ERROR_CODE__##x

void console_attach(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const Ckpt__Rpc__AttachRequest *r = req->attach;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__AttachResponse ar = CKPT__RPC__ATTACH_RESPONSE__INIT;
	_cleanup_close_ int fd = -1;
	struct container *c;

	c = ops_lookup(cn, r->name);
	if (!c)
		return;
	if (!c->tty) {
		conn_reply_error(cn, E(ERR_BAD_STATE), "container %s: has no console (run it with -t)", c->name);
		return;
	}
	if (c->state != CONTAINER_RUNNING || c->console_fd < 0) {
		conn_reply_error(cn, E(ERR_BAD_STATE), "container %s: is not running%s", c->name,
				 c->state == CONTAINER_RUNNING ? " with its console" : "");
		return;
	}
	if (r->rows && r->cols && r->rows <= 0xffff && r->cols <= 0xffff) {
		struct winsize ws = { .ws_row = r->rows, .ws_col = r->cols };

		if (ioctl(c->console_fd, TIOCSWINSZ, &ws) < 0) {
			conn_reply_error(cn, E(ERR_KERNEL), "container %s: setting its console's window size: %m", c->name);
			return;
		}
	}
	fd = fcntl(c->console_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		conn_reply_error(cn, E(ERR_KERNEL), "container %s: its console: %m", c->name);
		return;
	}
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_ATTACH;
	resp.attach = &ar;
	conn_send(cn, &resp, &fd, 1);
}
