// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's capability set, user, root and binds (contain.h). */
#include "contain.h"
#include "userns.h"
#include "macro.h"
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const cap_names[CONTAIN_CAP_LAST + 1] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

#define BIT(c) (1ull << (c))

uint64_t contain_default_caps(void)
{
	/* docker's set: ownership and permission overrides within the
	 * container's files, its own processes and ids, low ports and raw
	 * sockets in its own network, chroot, device nodes (which the
	 * container's mounts keep useless), file capabilities. */
	return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) | BIT(CAP_FSETID) | BIT(CAP_KILL) |
	       BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
	       BIT(CAP_NET_RAW) | BIT(CAP_SYS_CHROOT) | BIT(CAP_MKNOD) | BIT(CAP_AUDIT_WRITE) | BIT(CAP_SETFCAP);
}

int contain_cap_number(const char *name)
{
	unsigned i;

	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	for (i = 0; i <= CONTAIN_CAP_LAST; i++)
		if (!strcasecmp(name, cap_names[i]))
			return (int)i;
	return -1;
}

const char *contain_cap_name(unsigned cap)
{
	return cap <= CONTAIN_CAP_LAST ? cap_names[cap] : "?";
}

void contain_caps_format(uint64_t caps, char *buf, size_t len)
{
	size_t n = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i <= CONTAIN_CAP_LAST && n < len; i++)
		if (caps & BIT(i))
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", cap_names[i]);
}

bool contain_path_ok(const char *p)
{
	size_t n = strlen(p);
	const char *s;

	if (p[0] != '/' || n >= CONTAIN_PATH_MAX)
		return false;
	for (s = p; (s = strstr(s, "..")); s += 2)
		if (s[-1] == '/' && (s[2] == '/' || s[2] == '\0'))
			return false;
	return true;
}

int contain_bind_parse(const char *s, struct contain_bind *ret)
{
	char buf[2 * CONTAIN_PATH_MAX + 8], *dst, *opt;
	struct contain_bind b = { 0 };

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	dst = strchr(buf, ':');
	if (!dst)
		return -EINVAL;
	*dst++ = '\0';
	opt = strchr(dst, ':');
	if (opt) {
		*opt++ = '\0';
		if (!streq(opt, "ro") && !streq(opt, "rw"))
			return -EINVAL;
		b.ro = streq(opt, "ro");
	}
	if (!contain_path_ok(buf) || !contain_path_ok(dst) || streq(dst, "/"))
		return -EINVAL;
	memcpy(b.src, buf, strlen(buf) + 1);    /* contain_path_ok bounded both */
	memcpy(b.dst, dst, strlen(dst) + 1);
	*ret = b;
	return 0;
}

void contain_to_header(const struct cr_contain *c, Ckpt__Img__Header *h, struct contain_hdr *st)
{
	uint32_t i;

	h->has_contain_caps = true;
	h->contain_caps = c->caps;
	h->has_privileged = true;
	h->privileged = c->privileged;
	if (c->has_user) {
		h->has_user_uid = h->has_user_gid = true;
		h->user_uid = c->uid;
		h->user_gid = c->gid;
		h->n_user_groups = c->ngroups;
		h->user_groups = (uint32_t *)c->groups;
	}
	if (c->root[0])
		h->root = (char *)c->root;
	for (i = 0; i < c->nbinds && i < CONTAIN_MAX_BINDS; i++) {
		ckpt__img__contain_bind__init(&st->b[i]);
		st->b[i].src = (char *)c->binds[i].src;
		st->b[i].dst = (char *)c->binds[i].dst;
		st->b[i].has_ro = true;
		st->b[i].ro = c->binds[i].ro;
		st->bp[i] = &st->b[i];
	}
	h->n_binds = i;
	h->binds = i ? st->bp : NULL;
	if (c->userns) {
		ckpt__img__id_map_extent__init(&st->map);
		st->map.inside = 0;
		st->map.outside = c->userns_base;
		st->map.count = c->userns_count;
		st->mapp[0] = &st->map;
		h->n_userns_uid_map = h->n_userns_gid_map = 1;
		h->userns_uid_map = h->userns_gid_map = st->mapp;
	}
}

static bool binds_equal(const Ckpt__Img__Header *h, const struct cr_contain *c)
{
	size_t i;

	if (h->n_binds != c->nbinds)
		return false;
	for (i = 0; i < h->n_binds; i++)
		if (!streq(h->binds[i]->src, c->binds[i].src) || !streq(h->binds[i]->dst, c->binds[i].dst) ||
		    (h->binds[i]->has_ro && h->binds[i]->ro) != c->binds[i].ro)
			return false;
	return true;
}

const char *contain_check_header(const Ckpt__Img__Header *h, const struct cr_contain *c, char *buf, size_t len)
{
	char names[512], *p, *comma;

	if (h->has_privileged && h->privileged && !c->privileged)
		return "it was privileged, this container is not (root may restart its image under a new name with --privileged)";
	if (h->has_contain_caps && (h->contain_caps & ~c->caps)) {
		contain_caps_format(h->contain_caps & ~c->caps, names, sizeof(names));
		snprintf(buf, len, "its capability set holds %s, beyond this container's (root may restart its image under a new name with", names);
		for (p = names; p && *p; p = comma ? comma + 1 : NULL) {
			comma = strchr(p, ',');
			if (comma)
				*comma = 0;
			snprintf(buf + strlen(buf), len - strlen(buf), " --cap-add %s", p);
		}
		snprintf(buf + strlen(buf), len - strlen(buf), ")");
		return buf;
	}
	if (h->n_binds > CONTAIN_MAX_BINDS || h->n_user_groups > CR_MAX_GROUPS)
		return "too many binds or groups";
	if (h->has_user_uid != c->has_user || (c->has_user && (h->user_uid != c->uid || h->user_gid != c->gid)))
		return "its user differs from this container's";
	if (!streq(h->root ? h->root : "", c->root))
		return "its root filesystem differs from this container's";
	if (!binds_equal(h, c))
		return "its binds differ from this container's";
	if (!h->n_userns_uid_map && !h->n_userns_gid_map && !c->userns)
		return NULL;
	if (!c->userns)
		return "it ran in a user namespace (run --userns), this container does not";
	if (!userns_map_is(h->userns_uid_map, h->n_userns_uid_map, c->userns_base, c->userns_count) ||
	    !userns_map_is(h->userns_gid_map, h->n_userns_gid_map, c->userns_base, c->userns_count)) {
		snprintf(buf, len, "its user namespace map is not this container's (0 %u %u)", c->userns_base, c->userns_count);
		return buf;
	}
	return NULL;
}
