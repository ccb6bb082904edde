// SPDX-License-Identifier: GPL-2.0-or-later
/* A JSON document read into a tree (jsonv.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONV_MAX_DEPTH 64

enum jsonv_type { JSONV_NULL, JSONV_BOOL, JSONV_NUMBER, JSONV_STRING, JSONV_ARRAY, JSONV_OBJECT };

struct jsonv {
	enum jsonv_type type;
	char *key;               /* member name inside an object */
	char *str;               /* STRING: decoded bytes; NUMBER: its text */
	size_t len;
	bool b;
	struct jsonv **items;    /* ARRAY, OBJECT: in document order */
	size_t n;
};

/* NULL on error, with error holding "JSON offset N: what". */
struct jsonv *jsonv_parse(const char *s, size_t len, char *error, size_t error_len);
void jsonv_free(struct jsonv *v);
/* The member named key of an object, or NULL. */
const struct jsonv *jsonv_get(const struct jsonv *obj, const char *key);
/* An integer given as a number or a decimal string: into *ret_i when
 * is_signed, else *ret_u. -EINVAL if it is not one, -ERANGE if too big. */
int jsonv_int(const struct jsonv *v, bool is_signed, int64_t *ret_i, uint64_t *ret_u);
