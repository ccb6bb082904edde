// SPDX-License-Identifier: GPL-2.0-or-later
/* The client side of the exchange in proto/rpc.proto: one Request, then
 * Responses until the one with final = true. */
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ckptctl.h"
#include "macro.h"
#include "wire.h"

int ctl_connect(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (c->sock >= 0)
		return 0;
	if (strlen(c->socket_path) >= sizeof(sa.sun_path))
		return ctl_fail(c, -ENAMETOOLONG, "socket path too long: %s", c->socket_path);
	strcpy(sa.sun_path, c->socket_path);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctl_fail(c, negerrno(), "socket: %m");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return ctl_fail(c, negerrno(), "connect to %s: %m", c->socket_path);
	c->sock = TAKE_FD(fd);
	return 0;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int error_code_errno(Ckpt__Rpc__ErrorCode code)
{
	switch (code) {
	case CKPT__RPC__ERROR_CODE__ERR_INVALID_REQUEST: return -EINVAL;
	case CKPT__RPC__ERROR_CODE__ERR_PERMISSION_DENIED: return -EPERM;
	case CKPT__RPC__ERROR_CODE__ERR_NOT_FOUND: return -ENOENT;
	case CKPT__RPC__ERROR_CODE__ERR_EXISTS: return -EEXIST;
	case CKPT__RPC__ERROR_CODE__ERR_BAD_STATE: return -EBADFD;
	case CKPT__RPC__ERROR_CODE__ERR_UNSUPPORTED: return -EOPNOTSUPP;
	case CKPT__RPC__ERROR_CODE__ERR_BAD_IMAGE: return -EBADMSG;
	case CKPT__RPC__ERROR_CODE__ERR_BUSY: return -EBUSY;
	case CKPT__RPC__ERROR_CODE__ERR_CANCELED: return -ECANCELED;
	default: return -EIO;
	}
}

/* The daemon's message goes to a terminal: keep it to one printable line. */
static int daemon_error(struct ctl *c, const Ckpt__Rpc__Error *e)
{
	const ProtobufCEnumValue *v;
	char msg[400];
	size_t i;

	snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "");
	for (i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = ' ';
	v = protobuf_c_enum_descriptor_get_value(&ckpt__rpc__error_code__descriptor, e->code);
	if (!msg[0])
		snprintf(msg, sizeof(msg), "ckptd error %s", v ? v->name : "unknown");
	c->derr.code = v ? v->name : "ERR_INTERNAL";
	c->derr.sys_errno = e->has_sys_errno ? e->sys_errno : 0;
	c->derr.task_pid = e->has_task_pid ? e->task_pid : 0;
	c->derr.task_host_pid = e->has_task_host_pid ? e->task_host_pid : 0;
	snprintf(c->derr.object, sizeof(c->derr.object), "%s", e->object ? e->object : "");
	snprintf(c->derr.reason, sizeof(c->derr.reason), "%s", e->reason ? e->reason : "");
	return ctl_fail(c, error_code_errno(e->code), "%s", msg);
}

/* Receive one Response; fds that came with it land in fds/ret_nfds. */
static volatile sig_atomic_t ctl_interrupted;

static void ctl_on_sigint(int sig)
{
	/* a second Ctrl-C while the cancel runs: leave at once */
	if (ctl_interrupted) {
		signal(SIGINT, SIG_DFL);
		raise(SIGINT);
	}
	ctl_interrupted = 1;
}

/* Ctrl-C: ask ckptd, on a connection of its own, to cancel the operation
 * we wait for; its answer to us then says how it ended. */
static void ctl_send_cancel(struct ctl *c, int *cancel_sock)
{
	Ckpt__Rpc__CancelRequest cr = CKPT__RPC__CANCEL_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	struct ctl k = { .sock = -1, .socket_path = c->socket_path, .verb = "cancel" };

	render_progress_clear(c);
	fprintf(stderr, "ckptctl: canceling the %s of %s (Ctrl-C again to leave at once)\n", c->verb,
		c->cancel_name);
	if (ctl_connect(&k) < 0)
		return;
	cr.name = (char *)c->cancel_name;
	req.body_case = CKPT__RPC__REQUEST__BODY_CANCEL;
	req.cancel = &cr;
	if (wire_send_msg(k.sock, &req.base, NULL, 0) < 0) {
		close(k.sock);
		return;
	}
	*cancel_sock = k.sock;   /* held until our answer: closing it early is fine too */
}

/* Wait for the reply, turning a Ctrl-C into a cancel when we may. */
static int wait_readable(struct ctl *c, int *cancel_sock)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN };

	while (poll(&p, 1, -1) < 0) {
		if (errno != EINTR)
			return -errno;
		if (ctl_interrupted && *cancel_sock < 0 && c->cancel_name)
			ctl_send_cancel(c, cancel_sock);
	}
	return 0;
}

static int recv_response(struct ctl *c, void *buf, Ckpt__Rpc__Response **ret,
			 int *fds, size_t *ret_nfds)
{
	Ckpt__Rpc__Response *resp;
	size_t nfds = 0;
	ssize_t n;

	n = wire_recv(c->sock, buf, CKPT_RPC_MAX_MSG, fds, CKPT_RPC_MAX_FDS, &nfds);
	/* A peer closed with our request unread reports ECONNRESET once,
	 * before the answer it left us */
	if (n == -ECONNRESET)
		n = wire_recv(c->sock, buf, CKPT_RPC_MAX_MSG, fds, CKPT_RPC_MAX_FDS, &nfds);
	if (n == 0)
		return ctl_fail(c, -ECONNRESET, "ckptd closed the connection without a reply");
	if (n < 0)
		return ctl_fail(c, (int)n, "receive reply from %s: %m", c->socket_path);
	resp = ckpt__rpc__response__unpack(NULL, (size_t)n, buf);
	if (!resp) {
		close_fds(fds, nfds);
		return ctl_fail(c, -EBADMSG, "malformed reply from ckptd (%zd bytes)", n);
	}
	*ret = resp;
	*ret_nfds = nfds;
	return 0;
}

int ctl_call(struct ctl *c, Ckpt__Rpc__Request *req, const int *fds, size_t nfds,
	     Ckpt__Rpc__Response__BodyCase expect, Ckpt__Rpc__Response **ret_resp,
	     int *ret_fds, size_t max_fds, size_t *ret_nfds)
{
	_cleanup_free_ void *buf = NULL;
	_cleanup_close_ int cancel_sock = -1;
	int rfds[CKPT_RPC_MAX_FDS];
	size_t rn = 0;
	int r;

	r = ctl_connect(c);
	if (r < 0)
		return r;
	buf = malloc(CKPT_RPC_MAX_MSG);
	if (!buf)
		return ctl_fail(c, -ENOMEM, "out of memory");
	r = wire_send_msg(c->sock, &req->base, fds, nfds);
	/* ckptd answers a peer it refuses at once and closes: the answer
	 * is waiting in our socket */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return ctl_fail(c, r, "send request to %s: %m", c->socket_path);
	if (c->cancel_name) {
		struct sigaction sa = { .sa_handler = ctl_on_sigint };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
	}

	for (;;) {
		Ckpt__Rpc__Response *resp = NULL;

		if (c->cancel_name && (r = wait_readable(c, &cancel_sock)) < 0)
			return ctl_fail(c, r, "wait for a reply from %s: %m", c->socket_path);

		r = recv_response(c, buf, &resp, rfds, &rn);
		if (r < 0)
			return r;
		if (!resp->final) {
			/* Progress only; fds are only ever attached to a final reply. */
			close_fds(rfds, rn);
			if (resp->progress)
				render_progress(c, resp->progress);
			ckpt__rpc__response__free_unpacked(resp, NULL);
			continue;
		}
		render_progress_clear(c);
		if (resp->error || resp->body_case != expect) {
			close_fds(rfds, rn);
			r = resp->error ? daemon_error(c, resp->error)
					: ctl_fail(c, -EPROTO, "unexpected reply from ckptd (body %d)",
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
