// SPDX-License-Identifier: GPL-2.0-or-later
/* The object table: written-once objects by key, restored objects by id. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "objhash.h"

static int freed;

static void count_free(uint32_t type, void *obj)
{
	freed++;
	free(obj);
}

static int *new_int(int v)
{
	int *p = malloc(sizeof(*p));

	assert_non_null(p);
	*p = v;
	return p;
}

static int same_int(const void *a, const void *b)
{
	return *(const int *)a == *(const int *)b;
}

static void test_add_lookup(void **state)
{
	struct objhash *h = objhash_new(count_free);
	int *a = new_int(1), *b = new_int(2), *c = new_int(3);
	void *obj = NULL;
	uint32_t id = 0;

	freed = 0;
	assert_non_null(h);
	assert_int_equal(objhash_lookup_add(h, 1, 100, a, NULL, &id, &obj), 1);
	assert_int_equal(id, 1);
	assert_ptr_equal(obj, a);
	assert_int_equal(objhash_lookup_add(h, 1, 200, b, NULL, &id, &obj), 1);
	assert_int_equal(id, 2);
	/* same type and key: found, the new object stays the caller's */
	assert_int_equal(objhash_lookup_add(h, 1, 100, c, NULL, &id, &obj), 0);
	assert_int_equal(id, 1);
	assert_ptr_equal(obj, a);
	/* another type with the same key is another object; ids are per table */
	assert_int_equal(objhash_lookup_add(h, 2, 100, c, NULL, &id, &obj), 1);
	assert_int_equal(id, 3);
	assert_int_equal(objhash_count(h), 3);
	assert_ptr_equal(objhash_find_id(h, 1, 1), a);
	assert_ptr_equal(objhash_find_id(h, 1, 2), b);
	assert_ptr_equal(objhash_find_id(h, 2, 3), c);
	assert_null(objhash_find_id(h, 2, 1));
	assert_null(objhash_find_id(h, 1, 4));
	objhash_free(h);
	assert_int_equal(freed, 3);
}

/* Equal keys that same() says differ (an inode shared by two descriptions). */
static void test_same_callback(void **state)
{
	struct objhash *h = objhash_new(count_free);
	int *a = new_int(10), *b = new_int(20), *a2 = new_int(10), *b2 = new_int(20);
	void *obj;
	uint32_t id;

	freed = 0;
	assert_int_equal(objhash_lookup_add(h, 1, 5, a, same_int, &id, &obj), 1);
	assert_int_equal(id, 1);
	assert_int_equal(objhash_lookup_add(h, 1, 5, b, same_int, &id, &obj), 1);
	assert_int_equal(id, 2);
	assert_int_equal(objhash_lookup_add(h, 1, 5, b2, same_int, &id, &obj), 0);
	assert_int_equal(id, 2);
	assert_ptr_equal(obj, b);
	assert_int_equal(objhash_lookup_add(h, 1, 5, a2, same_int, &id, &obj), 0);
	assert_int_equal(id, 1);
	assert_ptr_equal(obj, a);
	/* a different key never matches, whatever same() would say */
	assert_int_equal(objhash_lookup_add(h, 1, 6, a2, same_int, &id, NULL), 1);
	assert_int_equal(id, 3);
	free(b2);
	objhash_free(h);
	assert_int_equal(freed, 3);
}

static void test_restore_side(void **state)
{
	struct objhash *h = objhash_new(count_free);
	int *a = new_int(1), *b = new_int(2), *dup = new_int(3);
	uint32_t id;

	freed = 0;
	assert_int_equal(objhash_insert_id(h, 1, 7, a), 0);
	assert_int_equal(objhash_insert_id(h, 1, 4000000000u, b), 0);
	/* image input is hostile: a repeated id is refused, not replaced */
	assert_int_equal(objhash_insert_id(h, 1, 7, dup), -EEXIST);
	assert_int_equal(objhash_insert_id(h, 1, 0, dup), -EINVAL);
	assert_ptr_equal(objhash_find_id(h, 1, 7), a);
	assert_ptr_equal(objhash_find_id(h, 1, 4000000000u), b);
	assert_null(objhash_find_id(h, 2, 7));
	assert_int_equal(objhash_count(h), 2);
	/* the same id under another type is fine */
	assert_int_equal(objhash_insert_id(h, 2, 7, dup), 0);
	/* new ids don't collide with restored ones */
	assert_int_equal(objhash_lookup_add(h, 1, 1, new_int(9), NULL, &id, NULL), 1);
	assert_true(id > 4000000000u);
	objhash_free(h);
	assert_int_equal(freed, 4);
}

#define GROW_N 100000

static void test_growth(void **state)
{
	struct objhash *h = objhash_new(NULL);
	static int objs[GROW_N];
	uint32_t id;
	void *obj;

	for (int i = 0; i < GROW_N; i++) {
		objs[i] = i;
		assert_int_equal(objhash_lookup_add(h, 1 + i % 3, (uint64_t)i * 4096, &objs[i], NULL, &id, NULL), 1);
		assert_int_equal(id, (uint32_t)i + 1);
	}
	assert_int_equal(objhash_count(h), GROW_N);
	for (int i = 0; i < GROW_N; i++) {
		assert_int_equal(objhash_lookup_add(h, 1 + i % 3, (uint64_t)i * 4096, &objs[0], NULL, &id, &obj), 0);
		assert_int_equal(id, (uint32_t)i + 1);
		assert_ptr_equal(obj, &objs[i]);
		assert_ptr_equal(objhash_find_id(h, 1 + i % 3, (uint32_t)i + 1), &objs[i]);
	}
	assert_int_equal(objhash_count(h), GROW_N);
	objhash_free(h);
}

/* The bound: a hostile image can't make us file more than 1<<20 objects. */
static void test_bound(void **state)
{
	struct objhash *h = objhash_new(NULL);
	static char dummy;

	for (uint32_t i = 1; i <= OBJHASH_MAX_ENTRIES; i++)
		if (objhash_insert_id(h, 1, i, &dummy) != 0)
			fail_msg("insert %u failed", i);
	assert_int_equal(objhash_insert_id(h, 1, OBJHASH_MAX_ENTRIES + 1, &dummy), -E2BIG);
	assert_int_equal(objhash_lookup_add(h, 1, 1, &dummy, NULL, NULL, NULL), -E2BIG);
	assert_int_equal(objhash_count(h), OBJHASH_MAX_ENTRIES);
	objhash_free(h);
}

static void test_free_null(void **state)
{
	objhash_free(NULL);
	assert_int_equal(objhash_count(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_lookup),
		cmocka_unit_test(test_same_callback),
		cmocka_unit_test(test_restore_side),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
