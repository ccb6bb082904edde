// SPDX-License-Identifier: GPL-2.0-or-later
/* The object table: two chained hash indexes over one set of entries, by
 * (type, key) for the checkpoint side and by (type, id) for both sides.
 * Bucket arrays double when the load reaches 1, so lookups stay O(1). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "objhash.h"

#define OBJHASH_MIN_BUCKETS 64u

struct objhash_entry {
	uint32_t type;
	uint32_t id;
	uint64_t key;
	bool keyed;                      /* in the key index (checkpoint side) */
	void *obj;
	struct objhash_entry *next_key;
	struct objhash_entry *next_id;
};

struct objhash {
	struct objhash_entry **by_key;
	struct objhash_entry **by_id;
	size_t nbuckets;                 /* a power of two */
	size_t count;
	uint32_t next_id;
	void (*free_obj)(uint32_t type, void *obj);
};

/* splitmix64's finalizer: keys are inode numbers and small ids, so mix well. */
static uint64_t objhash_mix(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9E3779B97F4A7C15ull ^ b;

	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBull;
	x ^= x >> 31;
	return x;
}

static size_t key_bucket(const struct objhash *h, uint32_t type, uint64_t key)
{
	return objhash_mix(type, key) & (h->nbuckets - 1);
}

static size_t id_bucket(const struct objhash *h, uint32_t type, uint32_t id)
{
	return objhash_mix((uint64_t)type << 32 | 0x1d, id) & (h->nbuckets - 1);
}

struct objhash *objhash_new(void (*free_obj)(uint32_t type, void *obj))
{
	struct objhash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->nbuckets = OBJHASH_MIN_BUCKETS;
	h->by_key = calloc(h->nbuckets, sizeof(*h->by_key));
	h->by_id = calloc(h->nbuckets, sizeof(*h->by_id));
	if (!h->by_key || !h->by_id) {
		free(h->by_key);
		free(h->by_id);
		free(h);
		return NULL;
	}
	h->next_id = 1;
	h->free_obj = free_obj;
	return h;
}

void objhash_free(struct objhash *h)
{
	if (!h)
		return;
	/* every entry is in the id index exactly once */
	for (size_t b = 0; b < h->nbuckets; b++) {
		struct objhash_entry *e = h->by_id[b], *next;

		for (; e; e = next) {
			next = e->next_id;
			if (h->free_obj)
				h->free_obj(e->type, e->obj);
			free(e);
		}
	}
	free(h->by_key);
	free(h->by_id);
	free(h);
}

size_t objhash_count(struct objhash *h)
{
	return h ? h->count : 0;
}

/* Double the bucket arrays and relink every entry; on ENOMEM the table is
 * left as it was (just more loaded). */
static int objhash_grow(struct objhash *h)
{
	size_t n = h->nbuckets * 2, b;
	struct objhash_entry **by_key = calloc(n, sizeof(*by_key));
	struct objhash_entry **by_id = calloc(n, sizeof(*by_id));

	if (!by_key || !by_id) {
		free(by_key);
		free(by_id);
		return -ENOMEM;
	}
	for (b = 0; b < h->nbuckets; b++) {
		struct objhash_entry *e = h->by_id[b], *next;

		for (; e; e = next) {
			size_t i = objhash_mix((uint64_t)e->type << 32 | 0x1d, e->id) & (n - 1);

			next = e->next_id;
			e->next_id = by_id[i];
			by_id[i] = e;
			if (e->keyed) {
				i = objhash_mix(e->type, e->key) & (n - 1);
				e->next_key = by_key[i];
				by_key[i] = e;
			}
		}
	}
	free(h->by_key);
	free(h->by_id);
	h->by_key = by_key;
	h->by_id = by_id;
	h->nbuckets = n;
	return 0;
}

/* Room for one more entry: bounded, and growing at load 1. */
static int objhash_reserve(struct objhash *h)
{
	if (h->count >= OBJHASH_MAX_ENTRIES)
		return -E2BIG;
	if (h->count >= h->nbuckets && h->nbuckets < OBJHASH_MAX_ENTRIES)
		(void)objhash_grow(h);   /* a full table still works, only slower */
	return 0;
}

static struct objhash_entry *objhash_link(struct objhash *h, uint32_t type, uint32_t id, void *obj)
{
	struct objhash_entry *e = calloc(1, sizeof(*e));
	size_t b;

	if (!e)
		return NULL;
	e->type = type;
	e->id = id;
	e->obj = obj;
	b = id_bucket(h, type, id);
	e->next_id = h->by_id[b];
	h->by_id[b] = e;
	h->count++;
	return e;
}

int objhash_lookup_add(struct objhash *h, uint32_t type, uint64_t key, void *obj,
		       int (*same)(const void *a, const void *b), uint32_t *ret_id, void **ret_obj)
{
	struct objhash_entry *e;
	size_t b;
	int r;

	for (e = h->by_key[key_bucket(h, type, key)]; e; e = e->next_key) {
		if (e->type != type || e->key != key)
			continue;
		if (same && same(e->obj, obj) != 1)
			continue;
		if (ret_id)
			*ret_id = e->id;
		if (ret_obj)
			*ret_obj = e->obj;
		return 0;
	}
	r = objhash_reserve(h);
	if (r < 0)
		return r;
	if (h->next_id == 0)     /* 2^32 ids: unreachable under the entry bound */
		return -E2BIG;
	e = objhash_link(h, type, h->next_id, obj);
	if (!e)
		return -ENOMEM;
	h->next_id++;
	e->key = key;
	e->keyed = true;
	b = key_bucket(h, type, key);
	e->next_key = h->by_key[b];
	h->by_key[b] = e;
	if (ret_id)
		*ret_id = e->id;
	if (ret_obj)
		*ret_obj = obj;
	return 1;
}

void *objhash_find_id(struct objhash *h, uint32_t type, uint32_t id)
{
	struct objhash_entry *e;

	for (e = h->by_id[id_bucket(h, type, id)]; e; e = e->next_id)
		if (e->type == type && e->id == id)
			return e->obj;
	return NULL;
}

int objhash_insert_id(struct objhash *h, uint32_t type, uint32_t id, void *obj)
{
	struct objhash_entry *e;
	int r;

	if (id == 0)
		return -EINVAL;
	for (e = h->by_id[id_bucket(h, type, id)]; e; e = e->next_id)
		if (e->type == type && e->id == id)
			return -EEXIST;
	r = objhash_reserve(h);
	if (r < 0)
		return r;
	if (!objhash_link(h, type, id, obj))
		return -ENOMEM;
	/* keep ids handed out later from colliding with those filed here */
	if (id >= h->next_id)
		h->next_id = id == UINT32_MAX ? 0 : id + 1;
	return 0;
}

int objhash_for_each(struct objhash *h, uint32_t type, int (*fn)(void *obj, void *arg), void *arg)
{
	struct objhash_entry *e;
	size_t b;
	int r;

	for (b = 0; h && b < h->nbuckets; b++)
		for (e = h->by_id[b]; e; e = e->next_id)
			if (e->type == type && (r = fn(e->obj, arg)) < 0)
				return r;
	return 0;
}
