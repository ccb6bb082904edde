// SPDX-License-Identifier: GPL-2.0-or-later
/* Credentials of a thread: uids, gids, groups, capabilities and
 * no_new_privs, read from its status and set again by the thread itself,
 * in the last batch before hand-off: every earlier step may need the
 * container's privileges, which these may take away. No task gets more
 * than its container may have (creds_allowed). */
#include "creds.h"
#include "contain.h"
#include "userns.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "restore.h"
#include "validate.h"
#include <grp.h>
#include <pwd.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <sys/syscall.h>

void creds_fill(struct creds_buf *cb, const struct proc_status *st)
{
	size_t i;

	ckpt__img__creds__init(&cb->c);
	for (i = 0; i < 4; i++) {
		cb->uids[i] = st->uid[i];
		cb->gids[i] = st->gid[i];
	}
	cb->ngroups = MIN((size_t)st->ngroups, ARRAY_SIZE(cb->groups));
	memcpy(cb->groups, st->groups, cb->ngroups * sizeof(cb->groups[0]));
	cb->c.uid = cb->uids;
	cb->c.n_uid = 4;
	cb->c.gid = cb->gids;
	cb->c.n_gid = 4;
	cb->c.groups = cb->groups;
	cb->c.n_groups = cb->ngroups;
	cb->c.has_cap_inh = cb->c.has_cap_prm = cb->c.has_cap_eff = true;
	cb->c.has_cap_bnd = cb->c.has_cap_amb = cb->c.has_no_new_privs = true;
	cb->c.cap_inh = st->capinh;
	cb->c.cap_prm = st->capprm;
	cb->c.cap_eff = st->capeff;
	cb->c.cap_bnd = st->capbnd;
	cb->c.cap_amb = st->capamb;
	cb->c.no_new_privs = st->no_new_privs;
}

bool creds_differ(const struct proc_status *a, const struct proc_status *b)
{
	return memcmp(a->uid, b->uid, sizeof(a->uid)) || memcmp(a->gid, b->gid, sizeof(a->gid)) ||
	       a->ngroups != b->ngroups || memcmp(a->groups, b->groups, sizeof(a->groups[0]) * a->ngroups) ||
	       a->capinh != b->capinh || a->capprm != b->capprm || a->capeff != b->capeff ||
	       a->capbnd != b->capbnd || a->capamb != b->capamb || a->no_new_privs != b->no_new_privs;
}

/* Does the thread have c now? (Absent capability fields: don't care.) */
bool creds_match(const Ckpt__Img__Creds *c, const struct proc_status *st)
{
	size_t i;

	for (i = 0; i < c->n_uid && i < 4; i++)
		if (c->uid[i] != st->uid[i])
			return false;
	for (i = 0; i < c->n_gid && i < 4; i++)
		if (c->gid[i] != st->gid[i])
			return false;
	if (c->n_groups != (size_t)st->ngroups || memcmp(c->groups, st->groups, c->n_groups * sizeof(c->groups[0])))
		return false;
	return !((c->has_cap_inh && c->cap_inh != st->capinh) || (c->has_cap_prm && c->cap_prm != st->capprm) ||
		 (c->has_cap_eff && c->cap_eff != st->capeff) || (c->has_cap_bnd && c->cap_bnd != st->capbnd) ||
		 (c->has_cap_amb && c->cap_amb != st->capamb) ||
		 (c->has_no_new_privs && c->no_new_privs != (st->no_new_privs != 0)));
}

int creds_allowed(uid_t owner, uint64_t capset, struct cr_creds_limit *ret)
{
	struct passwd pw, *res = NULL;
	gid_t groups[CR_MAX_GROUPS];
	int n = CR_MAX_GROUPS, i;
	char buf[4096];

	memset(ret, 0, sizeof(*ret));
	if (owner == 0) {
		ret->caps = capset;
		return 0;
	}
	/* anyone else's tasks are the owner, without a capability */
	if (getpwuid_r(owner, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return -E2BIG;
	ret->ids_fixed = true;
	ret->uid = owner;
	ret->gid = pw.pw_gid;
	for (i = 0; i < n; i++)
		ret->groups[ret->ngroups++] = groups[i];
	return 0;
}

const char *creds_may_restore(const struct restore_ctx *ctx, const Ckpt__Img__Creds *c, char *buf, size_t len)
{
	return validate_creds_allowed(c, ctx->req->creds_limit, buf, len);
}

static void queue_capset(struct rbatch *b, uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	rbatch_add(b, __NR_capset, rbatch_data(b, &hdr, sizeof(hdr)), rbatch_data(b, data, sizeof(data)), 0, 0, 0, 0);
}

/* Queue, in the order the kernel allows: groups and gids while CAP_SETGID
 * holds; the inheritable set before the bounding set can cap it, then the
 * bounding set while CAP_SETPCAP holds; uids with KEEPCAPS, so that the
 * permitted set survives the switch, and the effective set raised again
 * for setfsuid (whose fixup moves effective bits too); then the saved
 * sets, ambient (needs permitted and inheritable), no_new_privs. now: the
 * thread's status before; keepcaps: its saved PR_GET_KEEPCAPS, which
 * SECBIT_KEEP_CAPS_LOCKED (locked) fixes. setfs[ug]id report no error: the
 * caller compares the thread's status with c afterwards. */
void creds_queue(struct rbatch *b, const Ckpt__Img__Creds *c, const struct proc_status *now, bool keepcaps, bool locked)
{
	unsigned cap;

	rbatch_add(b, __NR_setgroups, c->n_groups, c->n_groups ? rbatch_data(b, c->groups, c->n_groups * sizeof(uint32_t)) : 0,
		   0, 0, 0, 0);
	rbatch_add(b, __NR_setresgid, c->gid[0], c->gid[1], c->gid[2], 0, 0, 0);
	rbatch_add(b, __NR_setfsgid, c->gid[3], 0, 0, 0, 0, 0);
	queue_capset(b, now->capprm, now->capprm, c->cap_inh);
	for (cap = 0; cap < 64; cap++)
		if ((now->capbnd & (1ull << cap)) && !(c->cap_bnd & (1ull << cap)))
			rbatch_add(b, __NR_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0, 0);
	if (!locked)
		rbatch_add(b, __NR_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0, 0);
	rbatch_add(b, __NR_setresuid, c->uid[0], c->uid[1], c->uid[2], 0, 0, 0);
	queue_capset(b, now->capprm, now->capprm, c->cap_inh);
	rbatch_add(b, __NR_setfsuid, c->uid[3], 0, 0, 0, 0, 0);
	queue_capset(b, c->cap_eff, c->cap_prm, c->cap_inh);
	if (!locked)
		rbatch_add(b, __NR_prctl, PR_SET_KEEPCAPS, keepcaps, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0);
	for (cap = 0; cap < 64; cap++)
		if (c->cap_amb & (1ull << cap))
			rbatch_add(b, __NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0, 0);
	if (c->no_new_privs)
		rbatch_add(b, __NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
}

int creds_status_inside(const struct cr_contain *k, struct proc_status *st, uint32_t *ret_bad)
{
	if (!k || !k->userns)
		return 0;
	return userns_status_inside(st, k->userns_base, k->userns_count, ret_bad) ? 0 : -ERANGE;
}
