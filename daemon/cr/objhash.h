/* The object table (the seed's objhash): shared kernel objects are written
 * once and referenced by id. Checkpoint side: find-or-add by a key plus an
 * exact comparison (kcmp). Restore side: id -> object, ids from the image
 * (hostile: duplicates refused). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define OBJHASH_MAX (1u << 20)

struct objhash;

struct objhash *objhash_new(void (*free_obj)(uint32_t type, void *obj));
void objhash_free(struct objhash *h);
size_t objhash_count(const struct objhash *h);

/* Returns 0 with the existing entry's id/obj when one of this type and key
 * satisfies same(existing, obj) (or same is NULL); else stores obj under a
 * new id (1, 2, ... per table) and returns 1. -E2BIG when full, -ENOMEM. */
int objhash_lookup_add(struct objhash *h, uint32_t type, uint64_t key, void *obj,
		       int (*same)(const void *a, const void *b), uint32_t *ret_id, void **ret_obj);
/* Restore side. -EEXIST if (type, id) is taken. */
int objhash_insert_id(struct objhash *h, uint32_t type, uint32_t id, void *obj);
void *objhash_find_id(const struct objhash *h, uint32_t type, uint32_t id);
