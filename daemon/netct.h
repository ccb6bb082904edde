// SPDX-License-Identifier: GPL-2.0-or-later
/* The host's connection tracking (see netct.c). */
#pragma once
#include <stdint.h>

/* Delete the conntrack entries of ckptd's network namespace with addr
 * (host order) in either direction's tuple: how many went, or -errno. */
int netct_forget(uint32_t addr);
