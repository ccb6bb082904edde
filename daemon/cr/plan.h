// SPDX-License-Identifier: GPL-2.0-or-later
/* The metadata part of an image, held whole and checked as a whole.
 *
 * Restart reads every record from HEADER to META_END into a plan and checks
 * it (plan_check) before it creates, opens or maps anything; the checkpoint
 * builds the same plan from the records it is about to write and runs the
 * same check before it kills anything. plan_check is pure: no system
 * calls, nothing but the records. */
#pragma once
#include "image.h"
#include "image.pb-c.h"
#include <stddef.h>
#include <stdint.h>

struct plan_rec {
	uint32_t type;
	uint32_t len;
	void *payload;               /* owned, len bytes */
};

struct restart_plan {
	struct plan_rec *recs;       /* in stream order, META_END last once complete */
	size_t nrecs, cap;
	uint64_t bytes;              /* payload bytes held */
	uint32_t nsegs;              /* SEGMENT placeholders held */
	bool ended;                  /* META_END added */
	char error[256];             /* why plan_add or plan_check failed */
};

void plan_init(struct restart_plan *pl);
void plan_free(struct restart_plan *pl);
/* Keep a copy of one metadata record. -EFBIG past the plan's bounds
 * (cr_limits.h), -EPROTO for a page record or anything after META_END. */
int plan_add(struct restart_plan *pl, uint32_t type, const void *payload, size_t len);
/* Pack msg and plan_add it. */
int plan_add_msg(struct restart_plan *pl, uint32_t type, const ProtobufCMessage *msg);
/* Append META_END with the plan's counts (the writer's side). */
int plan_end(struct restart_plan *pl);
/* Take META_END off again (the writer's side: records still to change). */
void plan_unend(struct restart_plan *pl);
/* Put msg, packed, in place of record i's payload (same type). */
int plan_replace_msg(struct restart_plan *pl, size_t i, const ProtobufCMessage *msg);
/* Check the whole metadata: each record as validate.h does, their order,
 * and what records say of each other (the tree and the task records,
 * every file, pipe and shared memory id referred to, the segments, the
 * counts of META_END and the header). 0, or -EBADMSG with pl->error. */
int plan_check(struct restart_plan *pl);
/* The Segment of a SEGMENT payload, checked against its bounds; NULL if
 * malformed. Free with protobuf_c_message_free_unpacked. */
Ckpt__Img__Segment *plan_segment_unpack(const void *payload, size_t len);
