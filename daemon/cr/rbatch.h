// SPDX-License-Identifier: GPL-2.0-or-later
/* Batches of system calls run inside a seized task in one go (see
 * arch_batch_code): the data they point to and the call table are built
 * here, copied into the task's scratch memory, run, and read back. One
 * stop per batch instead of two per call. */
#pragma once
#include "arch.h"
#include "rtask.h"
#include <stddef.h>
#include <stdint.h>

#define RBATCH_MAX_CALLS 256
#define RBATCH_MAX_DATA (24u << 10)

struct rbatch {
	uint64_t code_addr;           /* in the task: room for arch_batch_code */
	uint64_t data_addr;           /* ... RBATCH_MAX_DATA bytes */
	uint64_t table_addr;          /* ... RBATCH_MAX_CALLS entries */
	size_t n, used;
	int overflow;
	struct arch_call calls[RBATCH_MAX_CALLS];
	unsigned char data[RBATCH_MAX_DATA];
};

void rbatch_init(struct rbatch *b, uint64_t code_addr, uint64_t data_addr, uint64_t table_addr);
/* Copy len bytes into the data area; returns their address in the task
 * (0 when full: rbatch_run then fails). */
uint64_t rbatch_data(struct rbatch *b, const void *p, size_t len);
/* Room for len bytes the calls will write (results to read back). */
uint64_t rbatch_space(struct rbatch *b, size_t len);
/* Queue a call; returns its index (results in b->calls[i].ret). */
size_t rbatch_add(struct rbatch *b, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
/* Run the queued calls in t (which must be prepared) and read back the
 * results and the data area. Returns 0 or -errno (ptrace, or -E2BIG when
 * the batch overflowed); the calls' own errors are in their ret. */
int rbatch_run(struct rbatch *b, struct rtask *t);
/* The data area as the task left it, at an address rbatch_space gave. */
const void *rbatch_result(const struct rbatch *b, uint64_t addr);
