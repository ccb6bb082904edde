/* Chained hash tables over (type, key) and (type, id). */
#include "objhash.h"
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct obj {
	struct obj *next_key, *next_id;
	uint32_t type, id;
	uint64_t key;
	void *val;
};

struct objhash {
	struct obj **by_key, **by_id;
	size_t nbuckets, count;
	uint32_t next_id;
	void (*free_obj)(uint32_t type, void *obj);
};

static size_t mix(uint64_t a, uint64_t b, size_t n)
{
	uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 32;
	return x & (n - 1);
}

struct objhash *objhash_new(void (*free_obj)(uint32_t type, void *obj))
{
	struct objhash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->nbuckets = 64;
	h->by_key = calloc(h->nbuckets, sizeof(*h->by_key));
	h->by_id = calloc(h->nbuckets, sizeof(*h->by_id));
	if (!h->by_key || !h->by_id) {
		objhash_free(h);
		return NULL;
	}
	h->free_obj = free_obj;
	return h;
}

void objhash_free(struct objhash *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; h->by_id && i < h->nbuckets; i++) {
		struct obj *o = h->by_id[i];

		while (o) {
			struct obj *next = o->next_id;
			if (h->free_obj)
				h->free_obj(o->type, o->val);
			free(o);
			o = next;
		}
	}
	free(h->by_key);
	free(h->by_id);
	free(h);
}

size_t objhash_count(const struct objhash *h)
{
	return h->count;
}

static int grow(struct objhash *h)
{
	size_t n = h->nbuckets * 2, i;
	struct obj **bk = calloc(n, sizeof(*bk)), **bi = calloc(n, sizeof(*bi));

	if (!bk || !bi) {
		free(bk);
		free(bi);
		return -ENOMEM;
	}
	for (i = 0; i < h->nbuckets; i++) {
		struct obj *o = h->by_id[i];

		while (o) {
			struct obj *next = o->next_id;
			size_t a = mix(o->type, o->key, n), b = mix(o->type, o->id, n);

			o->next_key = bk[a];
			bk[a] = o;
			o->next_id = bi[b];
			bi[b] = o;
			o = next;
		}
	}
	free(h->by_key);
	free(h->by_id);
	h->by_key = bk;
	h->by_id = bi;
	h->nbuckets = n;
	return 0;
}

static int add(struct objhash *h, uint32_t type, uint64_t key, uint32_t id, void *val)
{
	struct obj *o;
	size_t a, b;

	if (h->count >= OBJHASH_MAX)
		return -E2BIG;
	if (h->count >= h->nbuckets && grow(h) < 0)
		return -ENOMEM;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	*o = (struct obj){ .type = type, .id = id, .key = key, .val = val };
	a = mix(type, key, h->nbuckets);
	b = mix(type, id, h->nbuckets);
	o->next_key = h->by_key[a];
	h->by_key[a] = o;
	o->next_id = h->by_id[b];
	h->by_id[b] = o;
	h->count++;
	return 0;
}

int objhash_lookup_add(struct objhash *h, uint32_t type, uint64_t key, void *obj,
		       int (*same)(const void *a, const void *b), uint32_t *ret_id, void **ret_obj)
{
	struct obj *o;
	int r;

	for (o = h->by_key[mix(type, key, h->nbuckets)]; o; o = o->next_key)
		if (o->type == type && o->key == key && (!same || same(o->val, obj))) {
			*ret_id = o->id;
			if (ret_obj)
				*ret_obj = o->val;
			return 0;
		}
	r = add(h, type, key, h->next_id + 1, obj);
	if (r < 0)
		return r;
	*ret_id = ++h->next_id;
	if (ret_obj)
		*ret_obj = obj;
	return 1;
}

int objhash_insert_id(struct objhash *h, uint32_t type, uint32_t id, void *obj)
{
	if (objhash_find_id(h, type, id))
		return -EEXIST;
	return add(h, type, id, id, obj);
}

void *objhash_find_id(const struct objhash *h, uint32_t type, uint32_t id)
{
	struct obj *o;

	for (o = h->by_id[mix(type, id, h->nbuckets)]; o; o = o->next_id)
		if (o->type == type && o->id == id)
			return o->val;
	return NULL;
}
