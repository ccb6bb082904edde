// SPDX-License-Identifier: GPL-2.0-or-later
/* The checks the container's init makes on each worker request
 * (spawn_check): a valid request of each kind passes, malformed, out of
 * range and out of order ones fail, and nothing past the datagram is read. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spawn.h"

static struct spawn_msg m;
static struct spawn_state pool = { .pool_base = 64, .pool_n = 8 };

static int check(const struct spawn_state *st, const void *msg, size_t len, size_t nfds)
{
	char why[160] = "";
	/* an exact copy: a read past len would show up under ASan */
	void *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, msg, len);
	r = spawn_check(st, copy, len, nfds, why, sizeof(why));
	free(copy);
	if (r < 0)
		assert_true(why[0] != '\0');
	return r;
}

static size_t spawn_len(uint32_t nfds)
{
	return sizeof(m.h) + nfds * sizeof(m.fds[0]);
}

static void init_spawn(void)
{
	memset(&m, 0, sizeof(m));
	m.h.magic = SPAWN_MAGIC;
	m.h.op = SPAWN_OP_SPAWN;
	m.h.pid = 7;
	m.h.pgid = 7;
	m.h.sid = 1;
	m.h.exit_signal = 17;
	m.h.umask = 022;
	m.h.nfds = 2;
	m.fds[0] = (struct spawn_fd_wire){ .target = 0, .slot = 3 };
	m.fds[1] = (struct spawn_fd_wire){ .target = 63, .slot = 7, .cloexec = 1 };
}

static void init_pool(void)
{
	memset(&m, 0, sizeof(m));
	m.h.magic = SPAWN_MAGIC;
	m.h.op = SPAWN_OP_POOL;
	m.h.base = 64;
	m.h.first = 8;
	m.h.n = 2;
}

static void test_pool(void **state)
{
	struct spawn_state empty = { .pool_base = -1 };

	init_pool();
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 2), 0);
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 1), -EBADMSG);      /* fd count mismatch */
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN + 4, 2), -EBADMSG);  /* trailing bytes */
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN - 1, 2), -EBADMSG);  /* short */
	m.h.first = 0;   /* the pool has 8 already */
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 2), -EINVAL);
	assert_int_equal(check(&empty, &m, SPAWN_HEAD_MIN, 2), 0);
	m.h.base = 65;   /* another base than the pool's */
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 2), -EINVAL);
	m.h.base = 2;
	assert_int_equal(check(&empty, &m, SPAWN_HEAD_MIN, 2), -EINVAL);
	m.h.base = (int32_t)SPAWN_MAX_FD_NR;
	assert_int_equal(check(&empty, &m, SPAWN_HEAD_MIN, 2), -EINVAL);
	m.h.base = 64;
	m.h.n = SPAWN_POOL_CHUNK + 1;
	assert_int_equal(check(&empty, &m, SPAWN_HEAD_MIN, SPAWN_POOL_CHUNK + 1), -EBADMSG);
	(void)state;
}

static void test_spawn(void **state)
{
	struct spawn_state empty = { .pool_base = -1 };

	init_spawn();
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), 0);
	assert_int_equal(check(&pool, &m, spawn_len(2), 0), -EBADMSG);     /* no cwd fd */
	assert_int_equal(check(&pool, &m, spawn_len(2), 2), -EBADMSG);
	assert_int_equal(check(&pool, &m, spawn_len(1), 1), -EBADMSG);     /* entries cut off */
	assert_int_equal(check(&pool, &m, sizeof(m.h) - 4, 1), -EBADMSG);  /* head cut off */
	assert_int_equal(check(&empty, &m, spawn_len(2), 1), -EINVAL);     /* no pool */
	m.h.nfds = SPAWN_MAX_FDS + 1;
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), -EBADMSG);
	init_spawn();
	m.fds[1].slot = 8;   /* past the pool */
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), -EINVAL);
	init_spawn();
	m.fds[1].target = 64;   /* onto the pool */
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), -EINVAL);
	init_spawn();
	m.fds[0].target = -1;
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), -EINVAL);
	init_spawn();
	m.fds[0].cloexec = 2;
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), -EINVAL);
	init_spawn();
	m.h.pid = 1;
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), -EINVAL);
	init_spawn();
	m.h.umask = 01000;
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), -EINVAL);
	init_spawn();
	m.h.exit_signal = 65;
	assert_int_equal(check(&pool, &m, spawn_len(2), 1), -EINVAL);
	(void)state;
}

static void test_drop_and_kinds(void **state)
{
	init_pool();
	m.h.op = SPAWN_OP_DROP;
	m.h.n = 0;
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 0), 0);
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 1), -EBADMSG);
	m.h.op = 6;
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 0), -EBADMSG);
	m.h.op = 0;
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 0), -EBADMSG);
	m.h.op = SPAWN_OP_DROP;
	m.h.magic ^= 1;
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, 0), -EBADMSG);
	m.h.magic ^= 1;
	assert_int_equal(check(&pool, &m, SPAWN_HEAD_MIN, SPAWN_MAX_RECV + 1), -EBADMSG);
	assert_int_equal(check(&pool, &m, 0, 0), -EBADMSG);
	(void)state;
}

static void test_ns(void **state)
{
	struct spawn_state fresh = { .pool_base = -1 }, done = { .pool_base = -1, .ns_done = true },
			   spawned = { .pool_base = -1, .spawned = true };
	struct spawn_ns_msg ns;
	unsigned char *b = (unsigned char *)&ns;

	memset(&ns, 0, sizeof(ns));
	ns.magic = SPAWN_MAGIC;
	ns.op = SPAWN_OP_NS;
	strcpy(ns.cfg.nodename, "box");
	ns.cfg.has_clocks = true;
	ns.cfg.monotonic_ns = 1000;
	ns.cfg.boottime_ns = 2000;
	assert_int_equal(check(&fresh, &ns, sizeof(ns), 0), 0);
	assert_int_equal(check(&done, &ns, sizeof(ns), 0), -EBUSY);
	assert_int_equal(check(&spawned, &ns, sizeof(ns), 0), -EBUSY);
	assert_int_equal(check(&fresh, &ns, sizeof(ns), 1), -EBADMSG);
	assert_int_equal(check(&fresh, &ns, sizeof(ns) - 1, 0), -EBADMSG);
	ns.cfg.monotonic_ns = CR_CLOCK_MAX_NS;
	assert_int_equal(check(&fresh, &ns, sizeof(ns), 0), -EINVAL);
	ns.cfg.monotonic_ns = 1000;
	memset(ns.cfg.domainname, 'a', sizeof(ns.cfg.domainname));   /* unterminated */
	assert_int_equal(check(&fresh, &ns, sizeof(ns), 0), -EINVAL);
	ns.cfg.domainname[0] = 0;
	b[offsetof(struct spawn_ns_msg, cfg) + offsetof(struct cr_ns_config, net_private)] = 2;   /* not a bool */
	assert_int_equal(check(&fresh, &ns, sizeof(ns), 0), -EINVAL);
	(void)state;
}

static void test_sem(void **state)
{
	struct spawn_state done = { .pool_base = -1, .ns_done = true }, fresh = { .pool_base = -1 },
			   spawned = { .pool_base = 64, .pool_n = 8, .ns_done = true, .spawned = true };
	static struct spawn_sem_msg sem;

	memset(&sem, 0, sizeof(sem));
	sem.magic = SPAWN_MAGIC;
	sem.op = SPAWN_OP_SEM;
	sem.set.id = 3;
	sem.set.mode = 0600;
	sem.set.nsems = 3;
	sem.set.values[2] = CR_SEM_VALUE_MAX;
	assert_int_equal(check(&done, &sem, sizeof(sem), 0), 0);
	assert_int_equal(check(&fresh, &sem, sizeof(sem), 0), -EBUSY);
	assert_int_equal(check(&spawned, &sem, sizeof(sem), 0), -EBUSY);
	assert_int_equal(check(&done, &sem, sizeof(sem), 1), -EBADMSG);
	assert_int_equal(check(&done, &sem, SPAWN_HEAD_MIN, 0), -EBADMSG);
	sem.set.values[2] = CR_SEM_VALUE_MAX + 1;
	assert_int_equal(check(&done, &sem, sizeof(sem), 0), -EINVAL);
	sem.set.values[2] = 0;
	sem.set.nsems = CR_SEM_MAX_NSEMS + 1;
	assert_int_equal(check(&done, &sem, sizeof(sem), 0), -EINVAL);
	sem.set.nsems = 0;
	assert_int_equal(check(&done, &sem, sizeof(sem), 0), -EINVAL);
	sem.set.nsems = 1;
	sem.set.mode = 01777;
	assert_int_equal(check(&done, &sem, sizeof(sem), 0), -EINVAL);
	sem.set.mode = 0600;
	sem.set.id = -1;
	assert_int_equal(check(&done, &sem, sizeof(sem), 0), -EINVAL);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_spawn),
		cmocka_unit_test(test_drop_and_kinds),
		cmocka_unit_test(test_ns),
		cmocka_unit_test(test_sem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
