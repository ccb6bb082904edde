// SPDX-License-Identifier: GPL-2.0-or-later
/* Multicast groups a datagram or raw socket joined. No call lists a
 * socket's groups, but the network namespace lists every group joined on
 * each interface (/proc/net/igmp, igmp6) and MCAST_MSFILTER asks one
 * socket for its filter on one (interface, group), failing with
 * EADDRNOTAVAIL when it is not a member: each listed group is asked.
 * Restart joins again (MCAST_JOIN_GROUP) on the interface of that name and
 * sets the filter (MCAST_MSFILTER) when it is not "every source". */
#include "sock_dgram.h"
#include "cr_limits.h"
#include "macro.h"
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define GF_SIZE GROUP_FILTER_SIZE(CR_MC_MAX_SOURCES)

/* One (interface, group) the namespace lists. */
struct mc_listed {
	int ifindex;
	int family;
	uint8_t group[16];
};

static void set_sockaddr(struct sockaddr_storage *ss, int family, const uint8_t *addr)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, addr, 16);
}

static const uint8_t *sockaddr_bytes(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

static Ckpt__Img__McGroup *new_group(int family, const uint8_t *group, const char *ifname)
{
	Ckpt__Img__McGroup *g = calloc(1, sizeof(*g));
	size_t len = family == AF_INET ? 4 : 16;

	if (!g)
		return NULL;
	ckpt__img__mc_group__init(g);
	g->ifname = strdup(ifname);
	g->group.data = malloc(len);
	if (!g->ifname || !g->group.data) {
		free(g->ifname);
		free(g->group.data);
		free(g);
		return NULL;
	}
	memcpy(g->group.data, group, len);
	g->group.len = len;
	return g;
}

static int add_sources(Ckpt__Img__McGroup *g, const struct group_filter *gf, int family)
{
	size_t len = family == AF_INET ? 4 : 16;

	if (!gf->gf_numsrc)
		return 0;
	g->sources = calloc(gf->gf_numsrc, sizeof(*g->sources));
	if (!g->sources)
		return -ENOMEM;
	for (uint32_t i = 0; i < gf->gf_numsrc; i++) {
		g->sources[i].data = malloc(len);
		if (!g->sources[i].data)
			return -ENOMEM;
		memcpy(g->sources[i].data, sockaddr_bytes(&gf->gf_slist[i]), len);
		g->sources[i].len = len;
		g->n_sources = i + 1;
	}
	return 0;
}

/* Is the socket a member of l? Then save it with its filter. */
static int probe_one(struct sock_dump *sd, const struct mc_listed *l, struct group_filter *gf)
{
	Ckpt__Img__InetSock *in = sd->s->inet;
	int level = l->family == AF_INET ? SOL_IP : SOL_IPV6;
	socklen_t len = GF_SIZE;
	char ifname[IF_NAMESIZE];
	Ckpt__Img__McGroup *g, **v;

	memset(gf, 0, GF_SIZE);
	gf->gf_interface = (uint32_t)l->ifindex;
	set_sockaddr(&gf->gf_group, l->family, l->group);
	gf->gf_numsrc = CR_MC_MAX_SOURCES;
	/* not a member; or a kind (an IPv6 raw socket asked for an IPv4 group)
	 * that can't be one */
	if (getsockopt(sd->sk, level, MCAST_MSFILTER, gf, &len) < 0)
		return errno == EADDRNOTAVAIL || errno == ENODEV || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP ?
		       0 : sock_fail(sd, errno, "MCAST_MSFILTER");
	if (gf->gf_numsrc > CR_MC_MAX_SOURCES)
		return sock_refuse(sd, "a multicast source filter of more than %u sources", CR_MC_MAX_SOURCES);
	if (in->n_mc >= CR_MC_MAX_GROUPS)
		return sock_refuse(sd, "more than %u multicast groups", CR_MC_MAX_GROUPS);
	if (!if_indextoname((unsigned)l->ifindex, ifname))
		return sock_refuse(sd, "a multicast group on interface %d, which has no name", l->ifindex);
	v = realloc(in->mc, (in->n_mc + 1) * sizeof(*v));
	if (!v)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "multicast groups");
	in->mc = v;
	g = new_group(l->family, l->group, ifname);
	if (!g)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "multicast groups");
	in->mc[in->n_mc++] = g;
	g->fmode = gf->gf_fmode;
	return add_sources(g, gf, l->family) < 0 ? cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "multicast sources") : 0;
}

/* /proc/net/igmp: "IDX\tDEV : ..." then "\t\t\t\tGROUP USERS ..." lines,
 * the group as the hex of its 32 bits in host order. */
static int probe_igmp(struct sock_dump *sd, struct group_filter *gf)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/net/igmp", "re");
	struct mc_listed l = { .family = AF_INET };
	char line[256];
	unsigned g;
	int r = 0;

	if (!f)
		return errno == ENOENT ? 0 : sock_fail(sd, errno, "/proc/net/igmp");
	while (r >= 0 && fgets(line, sizeof(line), f)) {
		if (line[0] >= '0' && line[0] <= '9')
			l.ifindex = atoi(line);
		else if (line[0] == '\t' && l.ifindex && sscanf(line, " %8x", &g) == 1) {
			memcpy(l.group, &g, 4);
			r = probe_one(sd, &l, gf);
		}
	}
	return r;
}

/* /proc/net/igmp6: "IDX DEV GROUP(32 hex digits) USERS FLAGS TIMER" */
static int probe_igmp6(struct sock_dump *sd, struct group_filter *gf)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/net/igmp6", "re");
	struct mc_listed l = { .family = AF_INET6 };
	char line[256], hex[33];
	int r = 0;

	if (!f)
		return errno == ENOENT ? 0 : sock_fail(sd, errno, "/proc/net/igmp6");
	while (r >= 0 && fgets(line, sizeof(line), f)) {
		unsigned b;

		if (sscanf(line, "%d %*s %32[0-9a-fA-F]", &l.ifindex, hex) != 2 || strlen(hex) != 32)
			continue;
		for (int i = 0; i < 16; i++) {
			sscanf(hex + 2 * i, "%2x", &b);
			l.group[i] = (uint8_t)b;
		}
		r = probe_one(sd, &l, gf);
	}
	return r;
}

int dgram_mc_dump(struct sock_dump *sd)
{
	_cleanup_free_ struct group_filter *gf = malloc(GF_SIZE);
	int r;

	if (!gf)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "multicast groups");
	/* an IPv6 socket may join IPv4 groups too */
	r = probe_igmp(sd, gf);
	if (r >= 0 && sd->s->family == AF_INET6)
		r = probe_igmp6(sd, gf);
	return r;
}

void dgram_mc_free(Ckpt__Img__InetSock *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n_mc; i++) {
		for (size_t k = 0; k < in->mc[i]->n_sources; k++)
			free(in->mc[i]->sources[k].data);
		free(in->mc[i]->sources);
		free(in->mc[i]->group.data);
		free(in->mc[i]->ifname);
		free(in->mc[i]);
	}
	free(in->mc);
	in->mc = NULL;
	in->n_mc = 0;
}

static int join_one(int sk, const Ckpt__Img__McGroup *g, struct group_filter *gf, const char **what)
{
	int family = g->group.len == 4 ? AF_INET : AF_INET6;
	int level = family == AF_INET ? SOL_IP : SOL_IPV6;
	struct group_req req = { 0 };

	*what = "the interface is not in the container's network";
	req.gr_interface = if_nametoindex(g->ifname);
	if (!req.gr_interface)
		return -ENODEV;
	set_sockaddr(&req.gr_group, family, g->group.data);
	*what = "MCAST_JOIN_GROUP";
	if (setsockopt(sk, level, MCAST_JOIN_GROUP, &req, sizeof(req)) < 0)
		return -errno;
	if (g->fmode == MCAST_EXCLUDE && !g->n_sources)
		return 0;   /* what a join sets */
	memset(gf, 0, GF_SIZE);
	gf->gf_interface = req.gr_interface;
	gf->gf_group = req.gr_group;
	gf->gf_fmode = g->fmode;
	gf->gf_numsrc = (uint32_t)g->n_sources;
	for (size_t i = 0; i < g->n_sources; i++)
		set_sockaddr(&gf->gf_slist[i], family, g->sources[i].data);
	*what = "MCAST_MSFILTER";
	return setsockopt(sk, level, MCAST_MSFILTER, gf, GROUP_FILTER_SIZE(g->n_sources)) < 0 ? -errno : 0;
}

int dgram_mc_restore(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__InetSock *in = sr->s->inet;
	_cleanup_free_ struct group_filter *gf = NULL;
	char name[96];

	if (!in->n_mc)
		return 0;
	gf = malloc(GF_SIZE);
	if (!gf)
		return cr_fail(sr->ctx->err, CR_ERR_INTERNAL, ENOMEM, "multicast groups");
	for (size_t i = 0; i < in->n_mc; i++) {
		const char *what;
		int r = join_one(sk, in->mc[i], gf, &what);

		if (r < 0)
			return cr_fail(sr->ctx->err, CR_ERR_KERNEL, -r, "%s: multicast group %zu on %s: %s",
				       sock_name(sr->f, name, sizeof(name)), i, in->mc[i]->ifname, what);
	}
	return 0;
}
