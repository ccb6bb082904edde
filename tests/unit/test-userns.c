// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's user namespace (userns.h): the pool's ranges, the maps an
 * image may carry, ids seen from inside, the header check and the bound
 * the map puts on every task's credentials (validate_creds_allowed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "contain.h"
#include "userns.h"
#include "validate.h"

#define POOL USERNS_POOL_START
#define N USERNS_COUNT

static void test_range_check(void **state)
{
	(void)state;
	assert_null(userns_range_check(POOL, N));
	assert_null(userns_range_check(100000, N));
	assert_non_null(userns_range_check(0, N));            /* the host's root */
	assert_non_null(userns_range_check(POOL, 0));
	assert_non_null(userns_range_check(POOL, N + 1));
	assert_non_null(userns_range_check(0x7fff0001u, N));  /* reaches the sign bit */
	assert_null(userns_range_check(0x7fff0000u, N));
	assert_non_null(userns_range_check(0xffff0000u, N));  /* wraps */
}

static void test_overlap(void **state)
{
	struct userns_range a = { 1000, 10 };

	(void)state;
	assert_true(userns_overlap(a, (struct userns_range){ 1009, 1 }));
	assert_true(userns_overlap(a, (struct userns_range){ 990, 11 }));
	assert_true(userns_overlap(a, (struct userns_range){ 0, 0xffffffffu }));
	assert_false(userns_overlap(a, (struct userns_range){ 1010, 5 }));
	assert_false(userns_overlap(a, (struct userns_range){ 990, 10 }));
	assert_true(userns_overlap((struct userns_range){ 0xffff0000u, N }, (struct userns_range){ 0xfffffff0u, 1 }));
}

static void test_pick(void **state)
{
	struct userns_range used[3];
	uint32_t base = 0;

	(void)state;
	assert_int_equal(userns_pick(NULL, 0, &base), 0);
	assert_int_equal(base, POOL);
	/* the lowest free slot, past the ones taken */
	used[0] = (struct userns_range){ POOL, N };
	used[1] = (struct userns_range){ POOL + 2 * N, N };
	assert_int_equal(userns_pick(used, 2, &base), 0);
	assert_int_equal(base, POOL + N);
	/* a range root chose by hand, straddling two slots, takes both */
	used[1] = (struct userns_range){ POOL + N + 100, N };
	assert_int_equal(userns_pick(used, 2, &base), 0);
	assert_int_equal(base, POOL + 3 * N);
	/* what it picks never overlaps what is used, and stays below the sign bit */
	for (size_t i = 0; i < 2; i++)
		assert_false(userns_overlap((struct userns_range){ base, N }, used[i]));
	assert_null(userns_range_check(POOL + (USERNS_POOL_SLOTS - 1) * N, N));
	/* a full pool: ENOSPC, base untouched */
	used[0] = (struct userns_range){ POOL, USERNS_POOL_SLOTS * N };
	base = 7;
	assert_int_equal(userns_pick(used, 1, &base), -ENOSPC);
	assert_int_equal(base, 7);
}

static Ckpt__Img__IdMapExtent ext(uint32_t in, uint32_t out, uint32_t count)
{
	Ckpt__Img__IdMapExtent e;

	ckpt__img__id_map_extent__init(&e);
	e.inside = in;
	e.outside = out;
	e.count = count;
	return e;
}

static void test_map_check(void **state)
{
	Ckpt__Img__IdMapExtent e[6];
	Ckpt__Img__IdMapExtent *m[6];

	(void)state;
	for (int i = 0; i < 6; i++)
		m[i] = &e[i];
	e[0] = ext(0, POOL, N);
	assert_null(userns_map_check(m, 1));
	assert_true(userns_map_is(m, 1, POOL, N));
	assert_false(userns_map_is(m, 1, POOL + 1, N));
	assert_false(userns_map_is(m, 0, POOL, N));
	e[0] = ext(0, 0, N);                                      /* host root */
	assert_non_null(userns_map_check(m, 1));
	e[0] = ext(0, POOL, 0);                                   /* empty */
	assert_non_null(userns_map_check(m, 1));
	e[0] = ext(0, 0xffff0000u, 0x10000);                      /* wraps to 0 */
	assert_non_null(userns_map_check(m, 1));
	e[0] = ext(0xfffff000u, POOL, 0x2000);                    /* inside wraps */
	assert_non_null(userns_map_check(m, 1));
	/* a few disjoint extents are a map; overlapping ones are not */
	e[0] = ext(0, POOL, 1000);
	e[1] = ext(1000, POOL + 5000, 1000);
	assert_null(userns_map_check(m, 2));
	assert_false(userns_map_is(m, 2, POOL, 1000));
	e[1] = ext(500, POOL + 5000, 1000);                       /* inside overlaps */
	assert_non_null(userns_map_check(m, 2));
	e[1] = ext(1000, POOL + 999, 1000);                       /* outside overlaps */
	assert_non_null(userns_map_check(m, 2));
	for (int i = 0; i < 6; i++)
		e[i] = ext(i * 10, POOL + i * 10, 10);
	assert_null(userns_map_check(m, USERNS_MAX_EXTENTS));
	assert_non_null(userns_map_check(m, USERNS_MAX_EXTENTS + 1));
}

static void test_status_inside(void **state)
{
	struct proc_status st;
	uint32_t bad = 0;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 4; i++) {
		st.uid[i] = POOL + 1000;
		st.gid[i] = POOL + 1000 + i;
	}
	st.ngroups = 2;
	st.groups[0] = POOL;
	st.groups[1] = POOL + N - 1;
	assert_true(userns_status_inside(&st, POOL, N, &bad));
	assert_int_equal(st.uid[2], 1000);
	assert_int_equal(st.gid[3], 1003);
	assert_int_equal(st.groups[0], 0);
	assert_int_equal(st.groups[1], N - 1);
	/* an id the map does not hold is named, never folded into the range */
	st.uid[0] = st.uid[1] = st.uid[2] = st.uid[3] = POOL + 5;
	st.gid[0] = st.gid[1] = st.gid[2] = st.gid[3] = POOL + 5;
	st.groups[0] = POOL;
	st.groups[1] = POOL + N;
	assert_false(userns_status_inside(&st, POOL, N, &bad));
	assert_int_equal(bad, POOL + N);
	st.uid[0] = 0;
	assert_false(userns_status_inside(&st, POOL, N, &bad));
	assert_int_equal(bad, 0);
}

static void test_header(void **state)
{
	struct cr_contain k = { .caps = 0xff }, img = { .caps = 0xff };
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	struct contain_hdr st;
	char buf[256];

	(void)state;
	img.userns = true;
	img.userns_base = POOL;
	img.userns_count = N;
	contain_to_header(&img, &h, &st);
	assert_int_equal(h.n_userns_uid_map, 1);
	assert_int_equal(h.userns_gid_map[0]->outside, POOL);
	assert_null(validate_header_ns(&h));
	/* a --userns image needs a container with the same map ... */
	assert_non_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	k.userns = true;
	k.userns_base = POOL + N;
	k.userns_count = N;
	assert_non_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	k.userns_base = POOL;
	assert_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	/* ... and a --userns container an image with its map */
	h.n_userns_uid_map = h.n_userns_gid_map = 0;
	assert_non_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	/* a uid map without a gid map is no image of ckptd's */
	h.n_userns_uid_map = 1;
	assert_non_null(validate_header_ns(&h));
}

static void test_creds_bound(void **state)
{
	uint32_t uid[4] = { 0, 0, 0, 0 }, gid[4] = { 0, 0, 0, 0 }, groups[1] = { 1000 };
	Ckpt__Img__Creds c = CKPT__IMG__CREDS__INIT;
	struct cr_creds_limit lim = { .caps = ~0ull, .id_count = N };
	char buf[256];

	(void)state;
	c.uid = uid;
	c.n_uid = 4;
	c.gid = gid;
	c.n_gid = 4;
	c.groups = groups;
	c.n_groups = 1;
	assert_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	uid[3] = N - 1;
	assert_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	uid[3] = N;                              /* fsuid beyond the map */
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "uid 65536"));
	uid[3] = 0;
	gid[1] = POOL;                           /* a host id saved as is */
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	gid[1] = 0;
	groups[0] = 0xffffffffu;
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	/* without a user namespace, no such bound */
	lim.id_count = 0;
	assert_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_check),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_map_check),
		cmocka_unit_test(test_status_inside),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_creds_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
