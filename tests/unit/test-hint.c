// SPDX-License-Identifier: GPL-2.0-or-later
/* The hint table (common/hint.c): every kind has its line, placeholders are
 * filled from the facts, output is bounded, and engine errors are
 * classified by what their errno and reason say. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hint.h"
#include "rpc.pb-c.h"

#define E(x) CKPT__RPC__ERROR_CODE__##x

static void test_every_kind(void **state)
{
	char buf[512];

	(void)state;
	for (int k = HINT_NONE + 1; k < HINT_KIND_MAX; k++) {
		struct hint_facts f = { .kind = k };
		size_t n = hint_format(&f, buf, sizeof(buf));

		assert_true(n > 20);
		assert_int_equal(n, strlen(buf));
		/* every placeholder was filled, and it is one line */
		assert_null(strchr(buf, '%'));
		assert_null(strchr(buf, '\n'));
	}
}

static void test_none(void **state)
{
	char buf[64] = "x";

	(void)state;
	assert_int_equal(hint_format(&(struct hint_facts){ .kind = HINT_NONE }, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	strcpy(buf, "x");
	assert_int_equal(hint_format(&(struct hint_facts){ .kind = HINT_KIND_MAX }, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(hint_format(&(struct hint_facts){ .kind = -1 }, buf, sizeof(buf)), 0);
}

static void test_untrusted(void **state)
{
	struct hint_facts f = { .kind = HINT_UNTRUSTED, .name = "web", .arg = "/etc/ckptd/trusted-keys" };
	char buf[512];

	(void)state;
	hint_format(&f, buf, sizeof(buf));
	assert_non_null(strstr(buf, "'ckptctl restart web --trust-image'"));
	assert_non_null(strstr(buf, "into /etc/ckptd/trusted-keys"));
	f.from_file = true;
	hint_format(&f, buf, sizeof(buf));
	assert_non_null(strstr(buf, "'ckptctl restart web -i FILE --trust-image'"));
}

static void test_placeholders(void **state)
{
	char buf[512];

	(void)state;
	hint_format(&(struct hint_facts){ .kind = HINT_DENIED, .arg = "ckpt", .user = "alice" }, buf, sizeof(buf));
	assert_string_equal(buf, "join group ckpt: as root, 'usermod -aG ckpt alice', then log in again");
	/* absent facts read as what the user types */
	hint_format(&(struct hint_facts){ .kind = HINT_DENIED }, buf, sizeof(buf));
	assert_non_null(strstr(buf, "'usermod -aG ckpt USER'"));
	hint_format(&(struct hint_facts){ .kind = HINT_BUSY, .name = "db", .arg = "checkpoint" }, buf, sizeof(buf));
	assert_string_equal(buf, "'ckptctl cancel db' stops its checkpoint (it stays as it was), or wait for it to end");
	hint_format(&(struct hint_facts){ .kind = HINT_NO_IMAGE }, buf, sizeof(buf));
	assert_string_equal(buf, "'ckptctl images NAME' lists its images");
	hint_format(&(struct hint_facts){ .kind = HINT_CAPABILITY, .arg = "CAP_NET_ADMIN" }, buf, sizeof(buf));
	assert_non_null(strstr(buf, "'ckptctl run NAME --cap-add CAP_NET_ADMIN -- CMD'"));
	hint_format(&(struct hint_facts){ .kind = HINT_FILE_CHANGED, .name = "w", .from_file = true }, buf, sizeof(buf));
	assert_non_null(strstr(buf, "'ckptctl restart w -i FILE --allow-changed-files'"));
}

static void test_bounded(void **state)
{
	struct hint_facts f = { .kind = HINT_NAME_TAKEN, .name = "a-rather-long-container-name" };
	char full[512], buf[24];

	(void)state;
	hint_format(&f, full, sizeof(full));
	for (size_t len = 1; len <= sizeof(buf); len++) {
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(hint_format(&f, buf, len), len - 1);
		assert_int_equal(buf[len - 1], '\0');
		assert_memory_equal(buf, full, len - 1);
	}
	/* a substitution cut short is cut at the end too */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(hint_format(&(struct hint_facts){ .kind = HINT_NO_IMAGE, .name = "0123456789abcdef" },
				     buf, 21), 20);
	assert_string_equal(buf, "'ckptctl images 0123");
	assert_int_equal(hint_format(&f, buf, 0), 0);
}

static void test_classify(void **state)
{
	char arg[32];

	(void)state;
	assert_int_equal(hint_classify("restart", E(ERR_BAD_IMAGE), EKEYREJECTED, "image not signed", arg, sizeof(arg)),
			 HINT_UNTRUSTED);
	assert_int_equal(hint_classify("restart", E(ERR_BAD_IMAGE), 0,
				       "image: image not signed by this ckptd or a trusted key (key id 0a1b)", arg, sizeof(arg)),
			 HINT_UNTRUSTED);
	assert_int_equal(hint_classify("restart", E(ERR_KERNEL), EMFILE, "", arg, sizeof(arg)), HINT_EMFILE);
	assert_int_equal(hint_classify("checkpoint", E(ERR_IO), ENOSPC, "", arg, sizeof(arg)), HINT_STORE_FULL);
	assert_int_equal(hint_classify("import", E(ERR_IO), EDQUOT, "", arg, sizeof(arg)), HINT_STORE_FULL);
	assert_int_equal(hint_classify("restart", E(ERR_KERNEL), EADDRINUSE, "", arg, sizeof(arg)), HINT_PORT_IN_USE);
	/* a running container holds what the restart needs: it can let it go */
	assert_int_equal(hint_classify("restart", E(ERR_BAD_STATE), EADDRINUSE,
				       "its published port 8080:80/tcp is container web-2's, which is running", arg,
				       sizeof(arg)), HINT_NET_HELD);
	assert_string_equal(arg, "web-2");
	assert_int_equal(hint_classify("restart", E(ERR_BAD_STATE), 0,
				       "reopening /w/f: it was modified since the checkpoint (mtime 1 -> 2; "
				       "--allow-changed-files restores it anyway)", arg, sizeof(arg)),
			 HINT_FILE_CHANGED);
	/* a capability the reason names, with or without a checkpoint */
	assert_int_equal(hint_classify("checkpoint", E(ERR_UNSUPPORTED), EPERM,
				       "turning TCP repair mode on (needs CAP_NET_ADMIN in its network namespace)",
				       arg, sizeof(arg)), HINT_CAPABILITY);
	assert_string_equal(arg, "CAP_NET_ADMIN");
	assert_int_equal(hint_classify("restart", E(ERR_BAD_IMAGE), 0,
				       "its capability set holds CAP_SYS_ADMIN, beyond this container's", arg, sizeof(arg)),
			 HINT_CAPABILITY);
	assert_string_equal(arg, "CAP_SYS_ADMIN");
	/* truncated to the room given */
	assert_int_equal(hint_classify("checkpoint", E(ERR_UNSUPPORTED), 0, "needs CAP_SYS_RESOURCE", arg, 8),
			 HINT_CAPABILITY);
	assert_string_equal(arg, "CAP_SYS");
	/* a capability the task dropped is no container's to add */
	assert_int_equal(hint_classify("checkpoint", E(ERR_UNSUPPORTED), 0,
				       "set, and restoring them needs CAP_SETPCAP, which the task lacks", arg, sizeof(arg)),
			 HINT_REFUSED);
	/* any other refusal of a checkpoint: --check shows them all */
	assert_int_equal(hint_classify("checkpoint", E(ERR_UNSUPPORTED), 0, "vsock sockets are not supported", arg,
				       sizeof(arg)), HINT_REFUSED);
	assert_string_equal(arg, "");
	assert_int_equal(hint_classify("checkpoint", E(ERR_UNSUPPORTED), 0, "CAP_ alone", arg, sizeof(arg)),
			 HINT_REFUSED);
	/* nothing to suggest */
	assert_int_equal(hint_classify("restart", E(ERR_UNSUPPORTED), 0, "vsock", arg, sizeof(arg)), HINT_NONE);
	assert_int_equal(hint_classify("checkpoint", E(ERR_KERNEL), EIO, NULL, arg, sizeof(arg)), HINT_NONE);
	assert_int_equal(hint_classify(NULL, E(ERR_UNSUPPORTED), 0, NULL, arg, 0), HINT_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
