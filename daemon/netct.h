// SPDX-License-Identifier: GPL-2.0-or-later
/* The host's connection tracking (see netct.c). */
#pragma once
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>

#define NETCT_ATTR_MAX 128      /* an IPv4 tuple is ~60 bytes */

/* What a delete needs of an entry: its original tuple and its zone, as
 * the dump gave them (netlink attributes, header included). */
struct netct_entry {
	uint8_t tuple[NETCT_ATTR_MAX];
	uint8_t zone[NETCT_ATTR_MAX];
	uint16_t tuple_len, zone_len;
};

/* Delete the conntrack entries of ckptd's network namespace with addr
 * (host order) in either direction's tuple: how many went, or -errno. */
int netct_forget(uint32_t addr);
/* One message of a conntrack dump (the kernel's, checked as input): true,
 * and *e filled, if a tuple of either direction holds addr (network order). */
bool netct_match(const struct nlmsghdr *nh, uint32_t addr, struct netct_entry *e);
