// SPDX-License-Identifier: GPL-2.0-or-later
/* What a container may have (contain.h, creds_allowed, validate_creds_allowed):
 * capability names, binds, the header check, and the bound every restored
 * task's credentials must fit. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/capability.h>
#include <cmocka.h>

#include "contain.h"
#include "creds.h"
#include "validate.h"

static void test_cap_names(void **state)
{
	char buf[512];

	(void)state;
	assert_int_equal(contain_cap_number("SYS_ADMIN"), CAP_SYS_ADMIN);
	assert_int_equal(contain_cap_number("cap_net_admin"), CAP_NET_ADMIN);
	assert_int_equal(contain_cap_number("CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
	assert_int_equal(contain_cap_number("NOPE"), -1);
	assert_int_equal(contain_cap_number("ALL"), -1);
	assert_false(contain_default_caps() & (1ull << CAP_SYS_ADMIN));
	assert_false(contain_default_caps() & (1ull << CAP_SYS_MODULE));
	assert_true(contain_default_caps() & (1ull << CAP_NET_BIND_SERVICE));
	contain_caps_format((1ull << CAP_CHOWN) | (1ull << CAP_KILL), buf, sizeof(buf));
	assert_string_equal(buf, "CHOWN,KILL");
}

static void test_binds(void **state)
{
	struct contain_bind b;

	(void)state;
	assert_int_equal(contain_bind_parse("/srv/data:/data:ro", &b), 0);
	assert_string_equal(b.src, "/srv/data");
	assert_string_equal(b.dst, "/data");
	assert_true(b.ro);
	assert_int_equal(contain_bind_parse("/a:/b", &b), 0);
	assert_false(b.ro);
	assert_int_equal(contain_bind_parse("/a", &b), -EINVAL);
	assert_int_equal(contain_bind_parse("a:/b", &b), -EINVAL);
	assert_int_equal(contain_bind_parse("/a:/b/../etc", &b), -EINVAL);
	assert_int_equal(contain_bind_parse("/a:/", &b), -EINVAL);
	assert_int_equal(contain_bind_parse("/a:/b:rx", &b), -EINVAL);
	assert_true(contain_path_ok("/a..b/c"));
	assert_false(contain_path_ok("/a/.."));
}

static Ckpt__Img__Creds creds(uint32_t *ids, uint64_t caps)
{
	Ckpt__Img__Creds c = CKPT__IMG__CREDS__INIT;

	c.n_uid = c.n_gid = 4;
	c.uid = c.gid = ids;
	c.has_cap_inh = c.has_cap_prm = c.has_cap_eff = c.has_cap_bnd = c.has_cap_amb = true;
	c.cap_prm = c.cap_eff = c.cap_bnd = caps;
	return c;
}

static void test_creds_bound(void **state)
{
	uint32_t root[4] = { 0, 0, 0, 0 }, user[4], nobody[4] = { 65534, 65534, 65534, 65534 };
	struct cr_creds_limit lim;
	Ckpt__Img__Creds c;
	char buf[128];

	(void)state;
	assert_int_equal(creds_allowed(0, contain_default_caps(), &lim), 0);
	c = creds(root, contain_default_caps());
	assert_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	assert_null(validate_creds_allowed(&c, NULL, buf, sizeof(buf)));
	assert_non_null(validate_creds_allowed(NULL, &lim, buf, sizeof(buf)));
	/* any one set beyond the container's is refused */
	c.cap_bnd |= 1ull << CAP_SYS_ADMIN;
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	c = creds(root, 0);
	c.cap_inh = 1ull << CAP_SYS_MODULE;
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	c.cap_inh = 0;
	c.cap_amb = 1ull << CAP_SYS_RAWIO;
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));

	/* a container owned by nobody: its ids, no capability */
	if (creds_allowed(65534, contain_default_caps(), &lim) < 0)
		skip();
	assert_true(lim.ids_fixed);
	assert_int_equal(lim.caps, 0);
	user[0] = user[1] = user[2] = user[3] = lim.gid;
	c = creds(nobody, 0);
	c.gid = user;
	assert_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	c.uid = root;
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	c.uid = nobody;
	c.cap_eff = c.cap_prm = 1ull << CAP_KILL;
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
	c.cap_eff = c.cap_prm = 0;
	c.n_groups = 1;
	c.groups = root;
	assert_non_null(validate_creds_allowed(&c, &lim, buf, sizeof(buf)));
}

static void test_header(void **state)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	struct cr_contain k = { .caps = contain_default_caps() }, img = k;
	struct contain_hdr st;
	char buf[512];

	(void)state;
	contain_to_header(&img, &h, &st);
	assert_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	/* an image of before capability sets: only its tasks are checked */
	h = (Ckpt__Img__Header)CKPT__IMG__HEADER__INIT;
	assert_null(contain_check_header(&h, &k, buf, sizeof(buf)));

	img.caps |= 1ull << CAP_SYS_ADMIN;
	contain_to_header(&img, &h, &st);
	assert_non_null(strstr(contain_check_header(&h, &k, buf, sizeof(buf)), "SYS_ADMIN"));
	/* the hint names the option that would cover it, one per capability */
	img.caps |= 1ull << CAP_NET_ADMIN;
	contain_to_header(&img, &h, &st);
	assert_non_null(strstr(contain_check_header(&h, &k, buf, sizeof(buf)), "--cap-add NET_ADMIN --cap-add SYS_ADMIN)"));
	img.caps = k.caps;
	img.privileged = true;
	contain_to_header(&img, &h, &st);
	assert_non_null(strstr(contain_check_header(&h, &k, buf, sizeof(buf)), "--privileged"));
	/* a privileged image holds every capability: the hint is --privileged */
	img.caps = CONTAIN_CAPS_ALL;
	contain_to_header(&img, &h, &st);
	assert_non_null(strstr(contain_check_header(&h, &k, buf, sizeof(buf)), "with --privileged"));
	k.privileged = true;
	k.caps = CONTAIN_CAPS_ALL;
	assert_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	k.privileged = false;
	k.caps = contain_default_caps();
	img.caps = k.caps;
	img.privileged = false;
	snprintf(img.root, sizeof(img.root), "/srv/root");
	h = (Ckpt__Img__Header)CKPT__IMG__HEADER__INIT;
	contain_to_header(&img, &h, &st);
	assert_non_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	snprintf(k.root, sizeof(k.root), "/srv/root");
	assert_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	assert_int_equal(contain_bind_parse("/a:/b:ro", &img.binds[0]), 0);
	img.nbinds = 1;
	contain_to_header(&img, &h, &st);
	assert_non_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	k.binds[0] = img.binds[0];
	k.nbinds = 1;
	assert_null(contain_check_header(&h, &k, buf, sizeof(buf)));
	img.has_user = true;
	img.uid = img.gid = 65534;
	contain_to_header(&img, &h, &st);
	assert_non_null(contain_check_header(&h, &k, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_names),
		cmocka_unit_test(test_binds),
		cmocka_unit_test(test_creds_bound),
		cmocka_unit_test(test_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
