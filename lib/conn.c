// SPDX-License-Identifier: GPL-2.0-or-later
/* The connection: one Request, then Responses until the one with final set
 * (proto/rpc.proto), fds by SCM_RIGHTS through common/wire.c. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libckpt.h"
#include "macro.h"
#include "wire.h"

int ckpt_connect(const char *path, struct ckpt **ret, struct ckpt_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct ckpt *h;

	path = wire_socket_path(path);
	if (strlen(path) >= sizeof(sa.sun_path))
		return ckpt_err_client(err, -ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ckpt_err_client(err, negerrno(), "socket: %m");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return ckpt_err_client(err, negerrno(), "connect to %s: %m", path);
	h = calloc(1, sizeof(*h));
	if (!h || !(h->buf = malloc(CKPT_RPC_MAX_MSG))) {
		free(h);
		return ckpt_err_client(err, -ENOMEM, "out of memory");
	}
	strcpy(h->path, sa.sun_path);
	h->sock = TAKE_FD(fd);
	*ret = h;
	return 0;
}

void ckpt_close(struct ckpt *h)
{
	if (!h)
		return;
	if (h->sock >= 0)
		close(h->sock);
	free(h->buf);
	free(h);
}

int ckpt_fd(const struct ckpt *h)
{
	return h->sock;
}

void ckpt_set_progress(struct ckpt *h, ckpt_progress_fn fn, void *userdata)
{
	h->progress = fn;
	h->progress_data = userdata;
}

void ckpt_set_interrupt(struct ckpt *h, ckpt_interrupt_fn fn, void *userdata)
{
	h->interrupt = fn;
	h->interrupt_data = userdata;
}

/* Wait for the answer; a signal that cuts the wait short is the caller's
 * to act on (ckpt_set_interrupt). */
static int wait_readable(struct ckpt *h, struct ckpt_error *err)
{
	struct pollfd p = { .fd = h->sock, .events = POLLIN };

	while (poll(&p, 1, -1) < 0) {
		if (errno != EINTR)
			return ckpt_err_client(err, negerrno(), "wait for a reply from %s: %m", h->path);
		h->interrupt(h->interrupt_data);
	}
	return 0;
}

void ckpt_set_phase_handler(struct ckpt *h, ckpt_phase_fn fn, void *userdata)
{
	h->phase = fn;
	h->phase_data = userdata;
}

/* Tell the handler; where ckptd waits, answer with its verdict. */
static int handle_phase(struct ckpt *h, const Ckpt__Rpc__Phase *p, struct ckpt_error *err)
{
	Ckpt__Rpc__PhaseAck ack = CKPT__RPC__PHASE_ACK__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	struct ckpt_phase ph = {
		.name = p->name, .container = p->container,
		.init_host_pid = p->has_init_host_pid ? p->init_host_pid : 0,
		.netns = p->netns, .wait = p->has_wait && p->wait,
	};
	char reason[256] = "";
	int v = h->phase ? h->phase(&ph, reason, sizeof(reason), h->phase_data) : 0;

	if (!ph.wait)
		return 0;
	ack.name = p->name;
	ack.ok = v == 0;
	reason[sizeof(reason) - 1] = '\0';
	ack.reason = v ? (reason[0] ? reason : "refused by the client") : NULL;
	req.body_case = CKPT__RPC__REQUEST__BODY_PHASE_ACK;
	req.phase_ack = &ack;
	return ckpt_send(h, &req, NULL, 0, err);
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int ckpt_send(struct ckpt *h, Ckpt__Rpc__Request *req, const int *fds, size_t nfds, struct ckpt_error *err)
{
	int r = wire_send_msg(h->sock, &req->base, fds, nfds);

	/* ckptd answers a peer it refuses at once and closes: the answer
	 * is waiting in our socket */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return ckpt_err_client(err, r, "send request to %s: %m", h->path);
	return 0;
}

/* Receive one Response; fds that came with it land in fds/ret_nfds. */
static int recv_response(struct ckpt *h, Ckpt__Rpc__Response **ret, int *fds, size_t *ret_nfds,
			 struct ckpt_error *err)
{
	Ckpt__Rpc__Response *resp;
	size_t nfds = 0;
	ssize_t n;

	n = wire_recv(h->sock, h->buf, CKPT_RPC_MAX_MSG, fds, CKPT_RPC_MAX_FDS, &nfds);
	/* A peer closed with our request unread reports ECONNRESET once,
	 * before the answer it left us */
	if (n == -ECONNRESET)
		n = wire_recv(h->sock, h->buf, CKPT_RPC_MAX_MSG, fds, CKPT_RPC_MAX_FDS, &nfds);
	if (n == 0)
		return ckpt_err_client(err, -ECONNRESET, "ckptd closed the connection without a reply");
	if (n < 0)
		return ckpt_err_client(err, (int)n, "receive reply from %s: %m", h->path);
	resp = ckpt__rpc__response__unpack(NULL, (size_t)n, h->buf);
	if (!resp) {
		close_fds(fds, nfds);
		return ckpt_err_client(err, -EBADMSG, "malformed reply from ckptd (%zd bytes)", n);
	}
	*ret = resp;
	*ret_nfds = nfds;
	return 0;
}

int ckpt_recv(struct ckpt *h, Ckpt__Rpc__Response **ret, struct ckpt_error *err)
{
	int fds[CKPT_RPC_MAX_FDS];
	size_t nfds = 0;
	int r = recv_response(h, ret, fds, &nfds, err);

	/* nothing of this kind carries fds */
	if (r >= 0)
		close_fds(fds, nfds);
	return r;
}

static void report_progress(struct ckpt *h, const Ckpt__Rpc__Progress *p)
{
	if (h->progress && p->phase)
		h->progress(p->phase, p->has_done, p->done, p->has_total, p->total, h->progress_data);
}

int ckpt_finish(struct ckpt *h, Ckpt__Rpc__Response__BodyCase expect, Ckpt__Rpc__Response **ret_resp,
		int *ret_fds, size_t max_fds, size_t *ret_nfds, struct ckpt_error *err)
{
	int rfds[CKPT_RPC_MAX_FDS];
	size_t rn = 0;
	int r;

	for (;;) {
		Ckpt__Rpc__Response *resp = NULL;

		if (h->interrupt && (r = wait_readable(h, err)) < 0)
			return r;
		r = recv_response(h, &resp, rfds, &rn, err);
		if (r < 0)
			return r;
		if (!resp->final) {
			/* fds are only ever attached to a final reply */
			close_fds(rfds, rn);
			if (resp->progress)
				report_progress(h, resp->progress);
			r = resp->phase ? handle_phase(h, resp->phase, err) : 0;
			ckpt__rpc__response__free_unpacked(resp, NULL);
			if (r < 0)
				return r;
			continue;
		}
		if (resp->error || resp->body_case != expect) {
			close_fds(rfds, rn);
			r = resp->error ? ckpt_err_from_proto(err, resp->error)
					: ckpt_err_client(err, -EPROTO, "unexpected reply from ckptd (body %d)",
							  (int)resp->body_case);
			ckpt__rpc__response__free_unpacked(resp, NULL);
			return r;
		}
		if (rn > max_fds) {
			close_fds(rfds + max_fds, rn - max_fds);
			rn = max_fds;
		}
		if (rn)
			memcpy(ret_fds, rfds, rn * sizeof(int));
		if (ret_nfds)
			*ret_nfds = rn;
		*ret_resp = resp;
		return 0;
	}
}

int ckpt_call(struct ckpt *h, Ckpt__Rpc__Request *req, const int *fds, size_t nfds,
	      Ckpt__Rpc__Response__BodyCase expect, Ckpt__Rpc__Response **ret_resp,
	      int *ret_fds, size_t max_fds, size_t *ret_nfds, struct ckpt_error *err)
{
	int r = ckpt_send(h, req, fds, nfds, err);

	if (r < 0)
		return r;
	return ckpt_finish(h, expect, ret_resp, ret_fds, max_fds, ret_nfds, err);
}
