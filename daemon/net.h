// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's network (see net.c): the host's, or a network namespace of
 * its own with loopback up and, for published ports, a veth pair and DNAT
 * on the host. */
#pragma once
#include "cr.h"
#include "rpc.pb-c.h"
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct server;
struct container;

#define NET_PUBLISH_STR_MAX 24      /* "65535:65535/tcp" */
#define NET_TABLE_MAX 32

/* "HOSTPORT:PORT[/tcp|/udp]"; 0 or -EINVAL. */
int net_parse_publish(const char *s, struct cr_net_publish *ret);
void net_format_publish(const struct cr_net_publish *p, char buf[NET_PUBLISH_STR_MAX]);
/* The host end of a container's veth and its nft table, named after it. */
void net_names(const char *container, char veth[IF_NAMESIZE], char table[NET_TABLE_MAX]);
const char *net_addr_str(uint32_t addr, char buf[16]);

/* Give cfg a /30 of ckptd's range that no other container of srv holds
 * and no host interface uses. */
int net_alloc(struct server *srv, const struct container *self, struct cr_net_config *cfg);
/* Configure the network namespace of init_pid (new, empty) as cfg says,
 * from the host's: loopback up; with an address, the veth pair, addresses,
 * routes and the NAT table. On failure *why says what failed; what was
 * made on the host is removed again. */
int net_setup(const char *container, pid_t init_pid, const struct cr_net_config *cfg, char *why, size_t whylen);
/* What ckptd did not make in init_pid's network namespace (interfaces,
 * addresses, IPv4 routes, nft tables) would be lost at restart: -EOPNOTSUPP
 * and *why names it. */
int net_check(pid_t init_pid, const struct cr_net_config *cfg, char *why, size_t whylen);
/* Drop every packet to and from init_pid's network namespace but its own
 * loopback's (on), or no more. The loopback carries what the namespace
 * says to itself, and the restart's packets forged from outside peers. */
int net_hold(pid_t init_pid, bool on, char *why, size_t whylen);
/* While held: let the RSTs of these connections out (inside the namespace). */
int net_pass_resets(pid_t init_pid, const struct cr_tcp_conn *v, size_t n, char *why, size_t whylen);
/* Remove what net_setup made on the host for this container, if anything
 * is left; park: but for its table's hook, which keeps the NAT of its
 * clients' connections working until it is restarted (or removed). */
void net_cleanup(const char *container, bool park);
/* self gives its address up for good (rm): its table goes, and the host's
 * connections through its address end unless another container of srv
 * holds that address. */
void net_release(struct server *srv, const struct container *self);

/* The network a restart's worker reports (ContainerInfo net fields). */
void net_from_info(struct cr_net_config *net, const Ckpt__Rpc__ContainerInfo *ci);

/* The addresses of containers that run on (not ending in a checkpoint):
 * a restart must not take one. Each is named only if peer_uid may see it
 * (access_may_act). Free *ret. */
struct net_busy {
	uint32_t addr;               /* 0: none */
	size_t npublish;
	struct cr_net_publish publish[CR_NET_MAX_PUBLISH];
	char name[65];
};
/* Is one of p's host ports published by a container of b? */
const struct net_busy *net_busy_port(const struct net_busy *b, size_t n, const struct cr_net_publish *p);
int net_busy_list(struct server *srv, const struct container *self, uid_t peer_uid, struct net_busy **ret,
		  size_t *ret_n);

/* The engine's hooks (cr_net_ops), for workers; arg is a struct net_hook_arg. */
struct net_hook_arg {
	const char *name;            /* the container's */
	const struct net_busy *busy; /* restart: addresses it must not take */
	size_t nbusy;
};
extern const struct cr_net_ops net_engine_ops;
