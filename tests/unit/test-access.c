// SPDX-License-Identifier: GPL-2.0-or-later
/* Who may ask: root always; a member of the group by its primary or a
 * supplementary gid; nobody else, and nobody but root without the group.
 * Who may act on what: root on all, a member on its own only. And the
 * credentials come from the kernel (SO_PEERCRED, SO_PEERGROUPS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "access.h"

static const struct access_policy with_group = { .group = "ckpt", .has_group = true, .gid = 990 };
static const struct access_policy no_group = { .group = "ckpt", .has_group = false, .gid = 0 };

static void test_classify(void **state)
{
	const gid_t member_of[] = { 27, 990, 100 };
	const gid_t not_member[] = { 27, 991, 100 };

	assert_int_equal(access_classify(&with_group, 0, 0, NULL, 0), ACCESS_ROOT);
	assert_int_equal(access_classify(&no_group, 0, 0, NULL, 0), ACCESS_ROOT);
	/* primary or supplementary */
	assert_int_equal(access_classify(&with_group, 1000, 990, NULL, 0), ACCESS_MEMBER);
	assert_int_equal(access_classify(&with_group, 1000, 1000, member_of, 3), ACCESS_MEMBER);
	assert_int_equal(access_classify(&with_group, 1000, 1000, not_member, 3), ACCESS_DENIED);
	assert_int_equal(access_classify(&with_group, 65534, 65534, NULL, 0), ACCESS_DENIED);
	/* a group that does not exist lets nobody but root in, whatever gid 0 peers have */
	assert_int_equal(access_classify(&no_group, 1000, 0, NULL, 0), ACCESS_DENIED);
	assert_int_equal(access_classify(&no_group, 1000, 990, member_of, 3), ACCESS_DENIED);
	/* gid 0 is not uid 0 */
	assert_int_equal(access_classify(&with_group, 1000, 0, NULL, 0), ACCESS_DENIED);
}

static void test_may_act(void **state)
{
	assert_true(access_may_act(0, 0));
	assert_true(access_may_act(0, 1000));
	assert_true(access_may_act(1000, 1000));
	assert_false(access_may_act(1000, 1001));
	assert_false(access_may_act(1000, 0));
}

static void test_peer_read(void **state)
{
	gid_t *groups = NULL, mine[256];
	struct ucred cred;
	size_t n = 0, i;
	int sv[2], k;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(access_peer_read(sv[0], &cred, &groups, &n), 0);
	assert_int_equal(cred.uid, getuid());
	assert_int_equal(cred.gid, getgid());
	assert_int_equal(cred.pid, getpid());
	k = getgroups(256, mine);
	assert_true(k >= 0);
	assert_int_equal(n, (size_t)k);
	for (i = 0; i < n; i++)
		assert_int_equal(groups[i], mine[i]);
	free(groups);
	close(sv[0]);
	close(sv[1]);
}

static void test_policy_init(void **state)
{
	struct access_policy p;

	assert_int_equal(access_policy_init(&p, "root"), 0);
	assert_true(p.has_group);
	assert_int_equal(p.gid, 0);
	assert_int_equal(access_policy_init(&p, "no-such-group-ckpt-test"), 0);
	assert_false(p.has_group);
	assert_string_equal(p.group, "no-such-group-ckpt-test");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_may_act),
		cmocka_unit_test(test_peer_read),
		cmocka_unit_test(test_policy_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
