// SPDX-License-Identifier: GPL-2.0-or-later
/* Options to requests: pure, so what a caller asks for is checked and
 * encoded the same way with or without a daemon (tests/unit/test-libckpt.c). */
#include <errno.h>
#include <string.h>

#include "libckpt.h"

#define CKPT_NAME_MAX 64

bool ckpt_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	return n >= 1 && n <= CKPT_NAME_MAX && name[0] != '.' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int ckpt_encode_name(const char *name, struct ckpt_error *err)
{
	if (!name)
		return ckpt_err_invalid(err, "missing container name");
	if (!ckpt_name_valid(name))
		return ckpt_err_invalid(err, "invalid name '%.80s': 1-%d of [A-Za-z0-9_.-], not starting with '.'",
					name, CKPT_NAME_MAX);
	return 0;
}

int ckpt_encode_image_id(const char *id, struct ckpt_error *err)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > CKPT_IMAGE_ID_MAX || strchr(id, '/') || id[0] == '.')
		goto bad;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || id[i] == 0x7f)
			goto bad;
	return 0;
bad:
	return ckpt_err_invalid(err, "invalid image id '%.80s'", id ? id : "");
}

static const struct ckpt_run_opts run_defaults;

int ckpt_encode_run(const char *name, const struct ckpt_run_opts *o, Ckpt__Rpc__RunRequest *rq,
		    struct ckpt_error *err)
{
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	if (!o)
		o = &run_defaults;
	if (!o->argc || !o->argv || !o->argv[0] || !o->argv[0][0])
		return ckpt_err_invalid(err, "run %s: missing command", name);
	if (o->cwd && o->cwd[0] != '/')
		return ckpt_err_invalid(err, "run %s: cwd must be an absolute path, not '%.80s'", name, o->cwd);
	if (o->n_env && !o->env)
		return ckpt_err_invalid(err, "run %s: n_env without env", name);
	for (size_t i = 0; i < o->n_env; i++) {
		const char *eq = o->env[i] ? strchr(o->env[i], '=') : NULL;

		if (!eq || eq == o->env[i])
			return ckpt_err_invalid(err, "run %s: environment entry %zu is not KEY=VALUE", name, i);
	}
	if (o->n_publish && !o->publish)
		return ckpt_err_invalid(err, "run %s: n_publish without publish", name);
	if (o->net != CKPT_NET_DEFAULT && o->net != CKPT_NET_PRIVATE && o->net != CKPT_NET_HOST)
		return ckpt_err_invalid(err, "run %s: unknown network mode %d", name, (int)o->net);
	if ((o->n_cap_add && !o->cap_add) || (o->n_cap_drop && !o->cap_drop) || (o->n_bind && !o->bind))
		return ckpt_err_invalid(err, "run %s: a capability or bind count without its list", name);
	if (o->root && o->root[0] != '/')
		return ckpt_err_invalid(err, "run %s: root must be an absolute path, not '%.80s'", name, o->root);

	rq->name = (char *)name;
	rq->argv = (char **)o->argv;
	rq->n_argv = o->argc;
	rq->env = (char **)o->env;
	rq->n_env = o->n_env;
	rq->publish = (char **)o->publish;
	rq->n_publish = o->n_publish;
	rq->cwd = (char *)o->cwd;
	rq->hostname = (char *)o->hostname;
	rq->has_net = o->net != CKPT_NET_DEFAULT;
	rq->net = (Ckpt__Rpc__NetMode)o->net;
	rq->has_tty = rq->tty = o->tty;
	rq->has_rows = rq->has_cols = o->tty && (o->rows || o->cols);
	rq->rows = o->rows;
	rq->cols = o->cols;
	rq->cap_add = (char **)o->cap_add;
	rq->n_cap_add = o->n_cap_add;
	rq->cap_drop = (char **)o->cap_drop;
	rq->n_cap_drop = o->n_cap_drop;
	rq->has_privileged = rq->privileged = o->privileged;
	rq->user = (char *)o->user;
	rq->root = (char *)o->root;
	rq->bind = (char **)o->bind;
	rq->n_bind = o->n_bind;
	rq->has_userns = rq->userns = o->userns;
	rq->has_userns_base = o->userns && o->userns_base;
	rq->userns_base = o->userns_base;
	rq->has_memory_limit = o->memory_limit != 0;
	rq->memory_limit = o->memory_limit;
	rq->has_pids_limit = o->pids_limit != 0;
	rq->pids_limit = o->pids_limit;
	rq->has_cpus_milli = o->cpus_milli != 0;
	rq->cpus_milli = o->cpus_milli;
	return 0;
}

/* A wait at a phase it is not told of is refused here; which names a
 * checkpoint or restart has is ckptd's to say. */
static int encode_phases(const char *what, const char *name, size_t n_notify, const char *const *notify,
			 size_t n_wait, const char *const *wait, Ckpt__Rpc__PhaseNotify *pn,
			 Ckpt__Rpc__PhaseNotify **ret, struct ckpt_error *err)
{
	if (!n_notify && !n_wait)
		return 0;
	if ((n_notify && !notify) || (n_wait && !wait))
		return ckpt_err_invalid(err, "%s %s: a phase count without its list", what, name);
	for (size_t i = 0; i < n_notify; i++)
		if (!notify[i] || !notify[i][0])
			return ckpt_err_invalid(err, "%s %s: an empty phase name", what, name);
	for (size_t i = 0; i < n_wait; i++) {
		size_t k = 0;

		while (k < n_notify && (!wait[i] || strcmp(wait[i], notify[k])))
			k++;
		if (k == n_notify)
			return ckpt_err_invalid(err, "%s %s: waits at phase '%.40s' without being told of it",
						what, name, wait[i] ? wait[i] : "");
	}
	pn->phases = (char **)notify;
	pn->n_phases = n_notify;
	pn->wait = (char **)wait;
	pn->n_wait = n_wait;
	*ret = pn;
	return 0;
}

static const struct ckpt_checkpoint_opts checkpoint_defaults = { .fd = -1 };

int ckpt_encode_checkpoint(const char *name, const struct ckpt_checkpoint_opts *o,
			   Ckpt__Rpc__CheckpointRequest *rq, Ckpt__Rpc__PhaseNotify *pn,
			   struct ckpt_error *err)
{
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	if (!o)
		o = &checkpoint_defaults;
	if (o->to_fd && o->fd < 0)
		return ckpt_err_invalid(err, "checkpoint %s: to_fd without an fd", name);
	if (o->check_only && (o->to_fd || o->leave_running))
		return ckpt_err_invalid(err, "checkpoint %s: a check writes no image and always leaves it running", name);
	if ((r = encode_phases("checkpoint", name, o->n_notify, o->notify, o->n_wait, o->wait, pn,
			       &rq->notify, err)) < 0)
		return r;
	rq->name = (char *)name;
	rq->has_leave_running = rq->leave_running = o->leave_running;
	rq->has_to_fd = rq->to_fd = o->to_fd;
	rq->has_timeout_s = o->timeout_s != 0;
	rq->timeout_s = o->timeout_s;
	rq->has_ghost_limit = o->has_ghost_limit;
	rq->ghost_limit = o->ghost_limit;
	rq->has_check_only = rq->check_only = o->check_only;
	rq->has_external_unix_drop = rq->external_unix_drop = o->external_unix_drop;
	rq->has_incremental = rq->incremental = o->incremental;
	rq->has_tcp_pending_reset = rq->tcp_pending_reset = o->tcp_pending_reset;
	rq->has_full = rq->full = o->full;
	if (o->compress && strcmp(o->compress, "zstd") && strcmp(o->compress, "none"))
		return ckpt_err_invalid(err, "checkpoint %s: compress wants zstd or none, not '%.40s'", name, o->compress);
	rq->compress = (char *)o->compress;
	return 0;
}

static const struct ckpt_restart_opts restart_defaults = { .fd = -1 };

int ckpt_encode_restart(const char *name, const struct ckpt_restart_opts *o,
			Ckpt__Rpc__RestartRequest *rq, Ckpt__Rpc__PhaseNotify *pn, struct ckpt_error *err)
{
	int r;

	if ((r = ckpt_encode_name(name, err)) < 0)
		return r;
	if (!o)
		o = &restart_defaults;
	if (o->from_fd && o->fd < 0)
		return ckpt_err_invalid(err, "restart %s: from_fd without an fd", name);
	if (o->from_fd && o->image_id)
		return ckpt_err_invalid(err, "restart %s: an image id and an fd exclude each other", name);
	if (o->image_id && (r = ckpt_encode_image_id(o->image_id, err)) < 0)
		return r;
	if ((r = encode_phases("restart", name, o->n_notify, o->notify, o->n_wait, o->wait, pn,
			       &rq->notify, err)) < 0)
		return r;
	rq->name = (char *)name;
	rq->image_id = (char *)o->image_id;
	rq->has_from_fd = rq->from_fd = o->from_fd;
	rq->has_timeout_s = o->timeout_s != 0;
	rq->timeout_s = o->timeout_s;
	rq->has_trust_image = rq->trust_image = o->trust_image;
	rq->has_allow_changed_files = rq->allow_changed_files = o->allow_changed_files;
	rq->has_userns_base = o->userns_base != 0;
	rq->userns_base = o->userns_base;
	if (o->n_cap_add && !o->cap_add)
		return ckpt_err_invalid(err, "restart %s: n_cap_add without cap_add", name);
	rq->has_privileged = rq->privileged = o->privileged;
	rq->cap_add = (char **)o->cap_add;
	rq->n_cap_add = o->n_cap_add;
	rq->has_lazy = rq->lazy = o->lazy;
	return 0;
}
