// SPDX-License-Identifier: GPL-2.0-or-later
/* The object table: shared kernel objects are written once and referenced by
 * id (the seed patch's objhash).
 *
 * Checkpoint side: objhash_lookup_add() finds an object already seen (same
 * type, same key, and same() agreeing) or gives the new one the next id.
 * Restore side: objects are filed under the ids the image names, which are
 * untrusted, so duplicates and id 0 are refused.
 *
 * Ids start at 1 and increase per table (not per type). The table owns the
 * objects it holds and releases them with free_obj; an object a call refuses
 * or does not keep stays the caller's. At most OBJHASH_MAX_ENTRIES entries. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define OBJHASH_MAX_ENTRIES (1u << 20)

struct objhash;

/* free_obj may be NULL (objects not owned). Returns NULL on ENOMEM. */
struct objhash *objhash_new(void (*free_obj)(uint32_t type, void *obj));
/* Frees every object with free_obj, then the table. NULL is fine. */
void objhash_free(struct objhash *h);
size_t objhash_count(struct objhash *h);

/* Returns 0 with the existing entry's id and object if one of this type and
 * key has same(existing, obj) == 1 (same == NULL: the key alone decides);
 * else stores obj under a new id and returns 1 (ret_obj = obj).
 * -E2BIG when the table is full, -ENOMEM. ret_obj may be NULL. */
int objhash_lookup_add(struct objhash *h, uint32_t type, uint64_t key, void *obj,
		       int (*same)(const void *a, const void *b), uint32_t *ret_id, void **ret_obj);

/* Returns 0, -EEXIST if (type, id) is already there, -EINVAL for id 0,
 * -E2BIG when full, -ENOMEM. */
int objhash_insert_id(struct objhash *h, uint32_t type, uint32_t id, void *obj);
/* The object filed under (type, id), or NULL. */
void *objhash_find_id(struct objhash *h, uint32_t type, uint32_t id);
/* Call fn on every object of a type, in no particular order; stops at
 * and returns the first negative result. */
int objhash_for_each(struct objhash *h, uint32_t type, int (*fn)(void *obj, void *arg), void *arg);
