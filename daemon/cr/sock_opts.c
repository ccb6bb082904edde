// SPDX-License-Identifier: GPL-2.0-or-later
/* Socket options (sock_optab.c): saved when they differ from a new
 * socket's, set again in two phases. Comparing with a new socket made
 * here, in the container's network namespace, keeps images small and
 * leaves every default (which sysctls may change) to the kernel. */
#include "sock.h"
#include "sock_optab.h"
#include "macro.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OPT_MAX 64   /* the largest option value in the table */

/* Options a kind of socket doesn't have read as these: not saved. */
static bool absent(int err)
{
	return err == ENOPROTOOPT || err == EOPNOTSUPP || err == EINVAL;
}

static int save_opt(struct sock_dump *sd, const struct sock_opt_desc *d, const void *val, socklen_t len)
{
	Ckpt__Img__Socket *s = sd->s;
	Ckpt__Img__SockOpt *o, **v;

	v = realloc(s->opts, (s->n_opts + 1) * sizeof(*v));
	if (!v)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket options");
	s->opts = v;
	o = calloc(1, sizeof(*o));
	if (o) {
		ckpt__img__sock_opt__init(o);
		o->value.data = malloc(len ? len : 1);
	}
	if (!o || !o->value.data) {
		free(o);
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket options");
	}
	o->level = d->level;
	o->name = d->name;
	o->value.len = len;
	memcpy(o->value.data, val, len);
	s->opts[s->n_opts++] = o;
	return 0;
}

/* What a new socket of one kind reads for every row of the table: read
 * once per kind and checkpoint (the worker is made for one operation), not
 * once per socket: a container with thousands of connections would pay a
 * socket() and a getsockopt() per row for each. */
struct opt_defaults {
	int family, type, protocol;
	socklen_t len[SOCK_OPTAB_MAX];   /* 0: a new socket lacks it */
	bool unknown[SOCK_OPTAB_MAX];    /* its level or kind lacks it: ENOPROTOOPT, EOPNOTSUPP */
	char val[SOCK_OPTAB_MAX][OPT_MAX];
};

static struct opt_defaults *defaults_of(struct sock_dump *sd)
{
	static struct opt_defaults *cache[8];
	static size_t ncache;
	struct opt_defaults *od;
	int fresh;

	for (size_t i = 0; i < ncache; i++)
		if (cache[i]->family == sd->s->family && cache[i]->type == sd->s->type && cache[i]->protocol == sd->s->protocol)
			return cache[i];
	od = calloc(1, sizeof(*od));
	if (!od)
		return NULL;
	fresh = socket(sd->s->family, sd->s->type | SOCK_CLOEXEC, sd->s->protocol);
	if (fresh < 0) {
		free(od);
		return NULL;
	}
	od->family = sd->s->family;
	od->type = sd->s->type;
	od->protocol = sd->s->protocol;
	for (size_t i = 0; i < sock_optab_len; i++) {
		od->len[i] = OPT_MAX;
		if (getsockopt(fresh, sock_optab[i].level, sock_optab[i].name, od->val[i], &od->len[i]) < 0) {
			od->unknown[i] = errno == ENOPROTOOPT || errno == EOPNOTSUPP;
			od->len[i] = 0;   /* a new socket lacks it: whatever it is now differs */
		}
	}
	close(fresh);
	if (ncache < ARRAY_SIZE(cache))
		cache[ncache++] = od;
	return od;
}

static int dump_one(struct sock_dump *sd, const struct opt_defaults *od, size_t row)
{
	const struct sock_opt_desc *d = &sock_optab[row];
	char cur[OPT_MAX] = "";
	socklen_t clen = sizeof(cur);

	if (getsockopt(sd->sk, d->level, d->name, cur, &clen) < 0) {
		if (absent(errno))
			return 0;
		return sock_fail(sd, errno, d->label);
	}
	if (clen == od->len[row] && memcmp(cur, od->val[row], clen) == 0)
		return 0;
	if (d->kind == SOPT_STRING) {
		clen = strnlen(cur, clen);
		if (clen > d->len)
			return sock_refuse(sd, "%s: a value longer than %u bytes", d->label, d->len);
	} else if (clen != d->len) {
		return sock_refuse(sd, "%s: a value of %u bytes, not %u", d->label, (unsigned)clen, d->len);
	}
	return save_opt(sd, d, cur, clen);
}

int sock_opts_dump(struct sock_dump *sd)
{
	const struct opt_defaults *od = defaults_of(sd);
	int r = 0;

	if (!od)
		return sock_fail(sd, errno, "making a socket of its kind to compare its options with");
	/* ENOPROTOOPT and EOPNOTSUPP come from the level's switch or the
	 * kind's operations, the same for every socket of a kind whatever its
	 * state: such rows (UDP options on a TCP socket...) are not asked
	 * again, a syscall saved per row and socket */
	for (size_t i = 0; i < sock_optab_len && r >= 0; i++)
		if ((sock_optab[i].family == 0 || sock_optab[i].family == sd->s->family) &&
		    !(sock_optab[i].nostream && sd->s->type == SOCK_STREAM) && !od->unknown[i])
			r = dump_one(sd, od, i);
	return r;
}

int sock_opt_int(struct sock_dump *sd, int level, int name, int *ret)
{
	const struct opt_defaults *od = defaults_of(sd);
	const Ckpt__Img__Socket *s = sd->s;

	for (size_t i = 0; i < s->n_opts; i++)
		if (s->opts[i]->level == level && s->opts[i]->name == name && s->opts[i]->value.len == sizeof(*ret)) {
			memcpy(ret, s->opts[i]->value.data, sizeof(*ret));
			return 0;
		}
	/* not saved: it read as a new socket's (when the pass asked for it) */
	for (size_t i = 0; od && i < sock_optab_len; i++)
		if (sock_optab[i].level == level && sock_optab[i].name == name &&
		    (sock_optab[i].family == 0 || sock_optab[i].family == s->family) &&
		    !(sock_optab[i].nostream && s->type == SOCK_STREAM) && !od->unknown[i] &&
		    od->len[i] == sizeof(*ret)) {
			memcpy(ret, od->val[i], sizeof(*ret));
			return 0;
		}
	return -ENOENT;
}

/* Setting SO_SNDBUF or SO_RCVBUF locks it (TCP no longer grows it by
 * itself): the locks go back as they were, the program's, after both,
 * whatever the image's order; none when it had none. */
static int set_buf_locks(struct sock_restore *sr, int sk, int locks)
{
	char name[96];

	if (setsockopt(sk, SOL_SOCKET, SO_BUF_LOCK, &locks, sizeof(locks)) < 0)
		return cr_fail(sr->ctx->err, CR_ERR_KERNEL, errno, "%s: setting SO_BUF_LOCK",
			       sock_name(sr->f, name, sizeof(name)));
	return 0;
}

int sock_opts_restore(struct sock_restore *sr, int sk, enum sock_opt_phase phase)
{
	char name[96];
	int locks = -1;   /* -1: no buffer size and no lock saved */

	for (size_t i = 0; i < sr->s->n_opts; i++) {
		const Ckpt__Img__SockOpt *o = sr->s->opts[i];
		const struct sock_opt_desc *d = sock_opt_find(sr->s->family, o->level, o->name);
		const void *val = o->value.data;
		socklen_t len = o->value.len;
		int half;

		if (!d)   /* validate_socket let it through: a bug, not the image's */
			return cr_fail(sr->ctx->err, CR_ERR_INTERNAL, 0, "%s: unknown option %d/%d",
				       sock_name(sr->f, name, sizeof(name)), o->level, o->name);
		if (d->phase != (int)phase)
			continue;
		if (d->level == SOL_SOCKET && d->name == SO_BUF_LOCK) {
			memcpy(&locks, val, sizeof(locks));
			continue;
		}
		if (d->kind == SOPT_BUF) {
			memcpy(&half, val, sizeof(half));
			half /= 2;
			val = &half;
			if (locks < 0)
				locks = 0;
		}
		if (setsockopt(sk, d->level, d->set_name ? d->set_name : d->name, val, len) < 0)
			return cr_fail(sr->ctx->err, CR_ERR_KERNEL, errno, "%s: setting %s",
				       sock_name(sr->f, name, sizeof(name)), d->label);
	}
	return locks < 0 ? 0 : set_buf_locks(sr, sk, locks);
}
