// SPDX-License-Identifier: GPL-2.0-or-later
/* libckpt without a daemon: options to requests, errors to fields, replies
 * to results. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libckpt.h"

static void test_name(void **state)
{
	struct ckpt_error e;

	assert_true(ckpt_name_valid("a"));
	assert_true(ckpt_name_valid("web-1_x.y"));
	assert_false(ckpt_name_valid(""));
	assert_false(ckpt_name_valid(NULL));
	assert_false(ckpt_name_valid(".hidden"));
	assert_false(ckpt_name_valid("a/b"));
	assert_false(ckpt_name_valid("a b"));
	assert_true(ckpt_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	assert_false(ckpt_name_valid("01234567890123456789012345678901234567890123456789012345678901234"));
	assert_int_equal(ckpt_encode_name("../x", &e), -EINVAL);
	assert_int_equal(e.code, CKPT_E_INVALID_REQUEST);
	assert_string_equal(e.code_name, "ERR_INVALID_REQUEST");
	assert_int_equal(e.sys_errno, EINVAL);
	assert_non_null(strstr(e.message, "../x"));
}

static void test_run(void **state)
{
	const char *argv[] = { "/bin/sleep", "10" };
	const char *env[] = { "A=1", "PATH=/bin" };
	const char *pub[] = { "8080:80/tcp" };
	struct ckpt_run_opts o = {
		.argc = 2, .argv = argv, .n_env = 2, .env = env, .cwd = "/tmp",
		.net = CKPT_NET_PRIVATE, .n_publish = 1, .publish = pub, .tty = true, .rows = 24, .cols = 80,
	};
	Ckpt__Rpc__RunRequest rq = CKPT__RPC__RUN_REQUEST__INIT;
	struct ckpt_error e;

	assert_int_equal(ckpt_encode_run("w", &o, &rq, &e), 0);
	assert_string_equal(rq.name, "w");
	assert_int_equal(rq.n_argv, 2);
	assert_string_equal(rq.argv[1], "10");
	assert_int_equal(rq.n_env, 2);
	assert_string_equal(rq.cwd, "/tmp");
	assert_null(rq.hostname);
	assert_true(rq.has_net);
	assert_int_equal(rq.net, CKPT__RPC__NET_MODE__NET_PRIVATE);
	assert_int_equal(rq.n_publish, 1);
	assert_true(rq.has_tty && rq.tty);
	assert_true(rq.has_rows && rq.rows == 24 && rq.cols == 80);

	/* the defaults are not sent: ckptd's own apply */
	struct ckpt_run_opts d = { .argc = 1, .argv = argv };
	Ckpt__Rpc__RunRequest rd = CKPT__RPC__RUN_REQUEST__INIT;

	assert_int_equal(ckpt_encode_run("w", &d, &rd, &e), 0);
	assert_false(rd.has_net);
	assert_false(rd.has_tty);
	assert_false(rd.has_rows);
	assert_int_equal(rd.n_env, 0);
}

static void test_run_refusals(void **state)
{
	const char *argv[] = { "/bin/true" };
	const char *bad_env[] = { "=x" };
	Ckpt__Rpc__RunRequest rq = CKPT__RPC__RUN_REQUEST__INIT;
	struct ckpt_error e;

	assert_int_equal(ckpt_encode_run("w", NULL, &rq, &e), -EINVAL);
	assert_non_null(strstr(e.message, "missing command"));
	assert_int_equal(ckpt_encode_run("w", &(struct ckpt_run_opts){ .argc = 1, .argv = argv, .cwd = "tmp" },
					 &rq, &e), -EINVAL);
	assert_non_null(strstr(e.message, "absolute"));
	assert_int_equal(ckpt_encode_run("w", &(struct ckpt_run_opts){ .argc = 1, .argv = argv, .n_env = 1,
								       .env = bad_env }, &rq, &e), -EINVAL);
	assert_int_equal(ckpt_encode_run("w", &(struct ckpt_run_opts){ .argc = 1, .argv = argv, .net = 7 },
					 &rq, &e), -EINVAL);
	/* nothing was encoded by a refused call */
	assert_null(rq.name);
	/* err may be NULL */
	assert_int_equal(ckpt_encode_run("", NULL, &rq, NULL), -EINVAL);
}

static void test_checkpoint(void **state)
{
	Ckpt__Rpc__CheckpointRequest rq = CKPT__RPC__CHECKPOINT_REQUEST__INIT;
	Ckpt__Rpc__PhaseNotify pn = CKPT__RPC__PHASE_NOTIFY__INIT;
	struct ckpt_error e;

	assert_int_equal(ckpt_encode_checkpoint("w", NULL, &rq, &pn, &e), 0);
	assert_false(rq.has_to_fd || rq.has_timeout_s || rq.has_ghost_limit || rq.leave_running);

	struct ckpt_checkpoint_opts o = { .leave_running = true, .to_fd = true, .fd = 5, .timeout_s = 30,
					  .has_ghost_limit = true, .ghost_limit = 0 };
	assert_int_equal(ckpt_encode_checkpoint("w", &o, &rq, &pn, &e), 0);
	assert_true(rq.has_leave_running && rq.leave_running);
	assert_true(rq.has_to_fd && rq.to_fd);
	assert_true(rq.has_timeout_s && rq.timeout_s == 30);
	assert_true(rq.has_ghost_limit && rq.ghost_limit == 0);
	assert_false(rq.tcp_pending_reset);
	o.tcp_pending_reset = true;
	assert_int_equal(ckpt_encode_checkpoint("w", &o, &rq, &pn, &e), 0);
	assert_true(rq.has_tcp_pending_reset && rq.tcp_pending_reset);
	o.tcp_pending_reset = false;

	assert_null(rq.notify);

	/* phases: told of two, waits at one of them */
	const char *notify[] = { "frozen", "dumped" }, *wait[] = { "dumped" }, *bad_wait[] = { "killed" };
	o.notify = notify;
	o.n_notify = 2;
	o.wait = wait;
	o.n_wait = 1;
	assert_int_equal(ckpt_encode_checkpoint("w", &o, &rq, &pn, &e), 0);
	assert_ptr_equal(rq.notify, &pn);
	assert_int_equal(pn.n_phases, 2);
	assert_string_equal(pn.phases[1], "dumped");
	assert_int_equal(pn.n_wait, 1);
	assert_string_equal(pn.wait[0], "dumped");
	o.wait = bad_wait;
	assert_int_equal(ckpt_encode_checkpoint("w", &o, &rq, &pn, &e), -EINVAL);
	assert_non_null(strstr(e.message, "without being told"));
	o.wait = NULL;
	assert_int_equal(ckpt_encode_checkpoint("w", &o, &rq, &pn, &e), -EINVAL);

	o.n_notify = o.n_wait = 0;
	o.fd = -1;
	assert_int_equal(ckpt_encode_checkpoint("w", &o, &rq, &pn, &e), -EINVAL);
	assert_non_null(strstr(e.message, "to_fd"));
}

static void test_restart(void **state)
{
	Ckpt__Rpc__RestartRequest rq = CKPT__RPC__RESTART_REQUEST__INIT;
	Ckpt__Rpc__PhaseNotify pn = CKPT__RPC__PHASE_NOTIFY__INIT;
	struct ckpt_error e;

	assert_int_equal(ckpt_encode_restart("w", &(struct ckpt_restart_opts){ .image_id = "20250101-1", .fd = -1 },
					     &rq, &pn, &e), 0);
	assert_string_equal(rq.image_id, "20250101-1");
	assert_false(rq.has_from_fd);
	assert_int_equal(ckpt_encode_restart("w", &(struct ckpt_restart_opts){ .from_fd = true, .fd = 0 },
					     &rq, &pn, &e), 0);
	assert_true(rq.has_from_fd && rq.from_fd);
	assert_int_equal(ckpt_encode_restart("w", &(struct ckpt_restart_opts){ .image_id = "../x", .fd = -1 },
					     &rq, &pn, &e), -EINVAL);
	assert_int_equal(ckpt_encode_restart("w", &(struct ckpt_restart_opts){ .image_id = "a b", .fd = -1 },
					     &rq, &pn, &e), -EINVAL);
	assert_int_equal(ckpt_encode_restart("w", &(struct ckpt_restart_opts){ .image_id = "x", .from_fd = true,
									       .fd = 3 },
					     &rq, &pn, &e), -EINVAL);
	assert_non_null(strstr(e.message, "exclude"));
}

static void test_error_from_proto(void **state)
{
	Ckpt__Rpc__Error pe = CKPT__RPC__ERROR__INIT;
	struct ckpt_error e;

	pe.code = CKPT__RPC__ERROR_CODE__ERR_UNSUPPORTED;
	pe.message = "task 2 (pid 7 in the container): fd 4 (/dev/kmsg): a character device\n\033[2J";
	pe.has_sys_errno = true;
	pe.sys_errno = EOPNOTSUPP;
	pe.has_task_pid = pe.has_task_host_pid = true;
	pe.task_pid = 7;
	pe.task_host_pid = 4242;
	pe.object = "fd 4 (/dev/kmsg)";
	pe.reason = "a character device";
	pe.hint = "'ckptctl checkpoint w --check' lists them\r\033[2J";
	assert_int_equal(ckpt_err_from_proto(&e, &pe), -EOPNOTSUPP);
	assert_int_equal(e.code, CKPT_E_UNSUPPORTED);
	assert_string_equal(e.code_name, "ERR_UNSUPPORTED");
	assert_int_equal(e.sys_errno, EOPNOTSUPP);
	assert_int_equal(e.task_pid, 7);
	assert_int_equal(e.task_host_pid, 4242);
	assert_string_equal(e.object, "fd 4 (/dev/kmsg)");
	assert_string_equal(e.reason, "a character device");
	assert_string_equal(e.hint, "'ckptctl checkpoint w --check' lists them  [2J");
	/* control bytes from the wire never reach a terminal */
	for (const char *s = e.message; *s; s++)
		assert_true((unsigned char)*s >= 0x20 && *s != 0x7f);

	/* each code maps to its errno; unknown codes and absurd errnos are contained */
	static const struct { int code; int r; } map[] = {
		{ CKPT__RPC__ERROR_CODE__ERR_INVALID_REQUEST, -EINVAL },
		{ CKPT__RPC__ERROR_CODE__ERR_PERMISSION_DENIED, -EPERM },
		{ CKPT__RPC__ERROR_CODE__ERR_NOT_FOUND, -ENOENT },
		{ CKPT__RPC__ERROR_CODE__ERR_EXISTS, -EEXIST },
		{ CKPT__RPC__ERROR_CODE__ERR_BAD_STATE, -EBADFD },
		{ CKPT__RPC__ERROR_CODE__ERR_BAD_IMAGE, -EBADMSG },
		{ CKPT__RPC__ERROR_CODE__ERR_BUSY, -EBUSY },
		{ CKPT__RPC__ERROR_CODE__ERR_IO, -EIO },
		{ CKPT__RPC__ERROR_CODE__ERR_CANCELED, -ECANCELED },
		{ 999, -EIO },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		Ckpt__Rpc__Error x = CKPT__RPC__ERROR__INIT;

		x.code = map[i].code;
		x.message = "";
		x.has_sys_errno = true;
		x.sys_errno = -5;
		assert_int_equal(ckpt_err_from_proto(&e, &x), map[i].r);
		assert_int_equal(e.sys_errno, 0);
		assert_true(e.message[0] != '\0');
	}
	assert_int_equal(e.code, CKPT_E_INTERNAL);
}

static void test_error_client(void **state)
{
	struct ckpt_error e;

	assert_int_equal(ckpt_err_client(&e, -ECONNREFUSED, "connect to %s: %m", "/x.sock"), -ECONNREFUSED);
	assert_int_equal(e.code, CKPT_E_CLIENT);
	assert_string_equal(e.code_name, "CLIENT");
	assert_int_equal(e.sys_errno, ECONNREFUSED);
	assert_string_equal(e.message, "connect to /x.sock: Connection refused");
	assert_int_equal(ckpt_err_client(&e, 0, "x"), -EIO);
}

static void test_decode_list(void **state)
{
	Ckpt__Rpc__ImageInfo i1 = CKPT__RPC__IMAGE_INFO__INIT, i2 = CKPT__RPC__IMAGE_INFO__INIT;
	Ckpt__Rpc__ImageInfo *imgs[] = { &i1, &i2 };
	Ckpt__Rpc__ContainerInfo c1 = CKPT__RPC__CONTAINER_INFO__INIT, c2 = CKPT__RPC__CONTAINER_INFO__INIT;
	Ckpt__Rpc__ContainerInfo *cs[] = { &c1, &c2 };
	Ckpt__Rpc__ListResponse l = CKPT__RPC__LIST_RESPONSE__INIT;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	char *argv[] = { "/bin/sleep", "9" };
	struct ckpt_list_result res;
	uint8_t *buf;
	size_t len;

	i1.id = "a"; i1.container = "one"; i1.has_size = true; i1.size = 4096;
	i2.id = "b"; i2.container = "one";
	c1.name = "one"; c1.state = CKPT__RPC__CONTAINER_STATE__STATE_CHECKPOINTED;
	c1.n_images = 2; c1.images = imgs;
	c2.name = "two"; c2.state = 77;   /* a state this client does not know */
	c2.has_pid = true; c2.pid = 1; c2.n_argv = 2; c2.argv = argv;
	c2.has_net = true; c2.net = CKPT__RPC__NET_MODE__NET_HOST;
	l.n_containers = 2; l.containers = cs;
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_LIST;
	resp.list = &l;
	/* through the wire form, as the library sees it */
	len = ckpt__rpc__response__get_packed_size(&resp);
	buf = malloc(len);
	ckpt__rpc__response__pack(&resp, buf);
	Ckpt__Rpc__Response *u = ckpt__rpc__response__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(u);
	assert_int_equal(ckpt_decode_list(u, &res), 0);
	assert_int_equal(res.n_containers, 2);
	assert_string_equal(res.containers[0].name, "one");
	assert_int_equal(res.containers[0].state, CKPT_STATE_CHECKPOINTED);
	assert_int_equal(res.containers[0].n_images, 2);
	assert_string_equal(res.containers[0].images[1].id, "b");
	assert_true(res.containers[0].images[0].has_size);
	assert_false(res.containers[0].images[1].has_size);
	assert_int_equal(res.containers[1].state, CKPT_STATE_UNKNOWN);
	assert_int_equal(res.containers[1].n_images, 0);
	assert_string_equal(res.containers[1].argv[1], "9");
	assert_true(res.containers[1].has_net);
	assert_int_equal(res.containers[1].net, CKPT_NET_HOST);
	assert_string_equal(ckpt_state_name(res.containers[0].state), "checkpointed");
	ckpt_list_result_free(&res);
	assert_null(res.priv_);
	ckpt_list_result_free(&res);   /* twice is harmless */
}

/* Packed and unpacked, as the library receives it. */
static Ckpt__Rpc__Response *through_wire(const Ckpt__Rpc__Response *resp)
{
	size_t len = ckpt__rpc__response__get_packed_size(resp);
	uint8_t *buf = malloc(len);
	Ckpt__Rpc__Response *u;

	assert_non_null(buf);
	ckpt__rpc__response__pack(resp, buf);
	u = ckpt__rpc__response__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(u);
	return u;
}

static void test_run_contain(void **state)
{
	const char *argv[] = { "/bin/true" };
	const char *add[] = { "NET_ADMIN", "sys_ptrace" }, *drop[] = { "ALL" };
	const char *bind[] = { "/srv/data:/data:ro" };
	Ckpt__Rpc__RunRequest rq = CKPT__RPC__RUN_REQUEST__INIT;
	struct ckpt_run_opts o = {
		.argc = 1, .argv = argv, .n_cap_add = 2, .cap_add = add, .n_cap_drop = 1, .cap_drop = drop,
		.privileged = true, .user = "1000:1000", .root = "/srv/rootfs", .n_bind = 1, .bind = bind,
	};
	struct ckpt_error e;

	assert_int_equal(ckpt_encode_run("w", &o, &rq, &e), 0);
	assert_int_equal(rq.n_cap_add, 2);
	assert_string_equal(rq.cap_add[1], "sys_ptrace");
	assert_int_equal(rq.n_cap_drop, 1);
	assert_string_equal(rq.cap_drop[0], "ALL");
	assert_true(rq.has_privileged && rq.privileged);
	assert_string_equal(rq.user, "1000:1000");
	assert_string_equal(rq.root, "/srv/rootfs");
	assert_int_equal(rq.n_bind, 1);
	assert_string_equal(rq.bind[0], "/srv/data:/data:ro");

	/* the defaults send none of it */
	Ckpt__Rpc__RunRequest rd = CKPT__RPC__RUN_REQUEST__INIT;
	assert_int_equal(ckpt_encode_run("w", &(struct ckpt_run_opts){ .argc = 1, .argv = argv }, &rd, &e), 0);
	assert_false(rd.has_privileged);
	assert_null(rd.user);
	assert_null(rd.root);
	assert_int_equal(rd.n_cap_add + rd.n_cap_drop + rd.n_bind, 0);

	/* a relative root, and counts without lists, never leave */
	assert_int_equal(ckpt_encode_run("w", &(struct ckpt_run_opts){ .argc = 1, .argv = argv, .root = "rootfs" },
					 &rq, &e), -EINVAL);
	assert_non_null(strstr(e.message, "root"));
	assert_int_equal(ckpt_encode_run("w", &(struct ckpt_run_opts){ .argc = 1, .argv = argv, .n_cap_add = 1 },
					 &rq, &e), -EINVAL);
	assert_int_equal(ckpt_encode_run("w", &(struct ckpt_run_opts){ .argc = 1, .argv = argv, .n_bind = 2 },
					 &rq, &e), -EINVAL);
}

static void test_check_and_restart_flags(void **state)
{
	Ckpt__Rpc__CheckpointRequest cq = CKPT__RPC__CHECKPOINT_REQUEST__INIT;
	Ckpt__Rpc__RestartRequest rq = CKPT__RPC__RESTART_REQUEST__INIT;
	Ckpt__Rpc__PhaseNotify pn = CKPT__RPC__PHASE_NOTIFY__INIT;
	struct ckpt_error e;

	assert_int_equal(ckpt_encode_checkpoint("w", &(struct ckpt_checkpoint_opts){ .check_only = true, .fd = -1 },
						&cq, &pn, &e), 0);
	assert_true(cq.has_check_only && cq.check_only);
	assert_false(cq.to_fd);
	/* a check writes nothing and never stops the container */
	assert_int_equal(ckpt_encode_checkpoint("w", &(struct ckpt_checkpoint_opts){ .check_only = true,
						.to_fd = true, .fd = 1 }, &cq, &pn, &e), -EINVAL);
	assert_int_equal(ckpt_encode_checkpoint("w", &(struct ckpt_checkpoint_opts){ .check_only = true,
						.leave_running = true, .fd = -1 }, &cq, &pn, &e), -EINVAL);

	assert_int_equal(ckpt_encode_restart("w", &(struct ckpt_restart_opts){ .fd = -1 }, &rq, &pn, &e), 0);
	assert_false(rq.has_trust_image || rq.has_allow_changed_files);
	assert_int_equal(ckpt_encode_restart("w", &(struct ckpt_restart_opts){ .fd = -1, .trust_image = true,
					     .allow_changed_files = true }, &rq, &pn, &e), 0);
	assert_true(rq.has_trust_image && rq.trust_image);
	assert_true(rq.has_allow_changed_files && rq.allow_changed_files);
}

static void test_decode_owner_and_contain(void **state)
{
	Ckpt__Rpc__ImageInfo i1 = CKPT__RPC__IMAGE_INFO__INIT, i2 = CKPT__RPC__IMAGE_INFO__INIT;
	Ckpt__Rpc__ImageInfo *imgs[] = { &i1, &i2 };
	Ckpt__Rpc__ContainerInfo ci = CKPT__RPC__CONTAINER_INFO__INIT;
	Ckpt__Rpc__RunResponse run = CKPT__RPC__RUN_RESPONSE__INIT;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	char *bind[] = { "/a:/b", "/c:/d:ro" };
	struct ckpt_container_result res;

	i1.id = "a"; i1.container = "w";
	i1.has_owner_uid = true; i1.owner_uid = 1000;
	i1.has_trusted = true; i1.trusted = true; i1.key_id = "0123abcd";
	i2.id = "b"; i2.container = "w";
	ci.name = "w"; ci.state = CKPT__RPC__CONTAINER_STATE__STATE_RUNNING;
	ci.n_images = 2; ci.images = imgs;
	ci.has_owner_uid = true; ci.owner_uid = 1000; ci.owner = "alice";
	ci.has_caps = true; ci.caps = 0xa80425fbull;
	ci.has_privileged = true; ci.privileged = true;
	ci.user = "1000:1000"; ci.root = "/srv/rootfs"; ci.n_bind = 2; ci.bind = bind;
	run.container = &ci;
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_RUN;
	resp.run = &run;
	Ckpt__Rpc__Response *u = through_wire(&resp);
	assert_int_equal(ckpt_decode_container_result(u, u->run->container, &res), 0);

	const struct ckpt_container *c = &res.container;
	assert_true(c->has_owner_uid);
	assert_int_equal(c->owner_uid, 1000);
	assert_string_equal(c->owner, "alice");
	assert_true(c->has_caps);
	assert_int_equal(c->caps, 0xa80425fbull);
	assert_true(c->privileged);
	assert_string_equal(c->user, "1000:1000");
	assert_string_equal(c->root, "/srv/rootfs");
	assert_int_equal(c->n_bind, 2);
	assert_string_equal(c->bind[1], "/c:/d:ro");
	assert_true(c->images[0].has_owner_uid && c->images[0].has_trusted && c->images[0].trusted);
	assert_int_equal(c->images[0].owner_uid, 1000);
	assert_string_equal(c->images[0].key_id, "0123abcd");
	/* absent stays absent: no MAC, trust not judged */
	assert_false(c->images[1].has_owner_uid || c->images[1].has_trusted);
	assert_null(c->images[1].key_id);
	ckpt_container_result_free(&res);
}

static void test_decode_check_errors(void **state)
{
	Ckpt__Rpc__Error e1 = CKPT__RPC__ERROR__INIT, e2 = CKPT__RPC__ERROR__INIT;
	Ckpt__Rpc__Error *errs[] = { &e1, &e2 };
	Ckpt__Rpc__CheckpointResponse cr = CKPT__RPC__CHECKPOINT_RESPONSE__INIT;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	struct ckpt_checkpoint_result res;

	e1.code = CKPT__RPC__ERROR_CODE__ERR_UNSUPPORTED;
	e1.message = "task 1 (pid 3 in the container): fd 5 (/dev/kmsg): a character device";
	e1.has_task_pid = true; e1.task_pid = 3;
	e1.object = "fd 5 (/dev/kmsg)"; e1.reason = "a character device";
	e2.code = CKPT__RPC__ERROR_CODE__ERR_KERNEL;
	e2.message = "ptrace: \033[2Jgone";
	cr.n_errors = 2; cr.errors = errs;
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_CHECKPOINT;
	resp.checkpoint = &cr;
	Ckpt__Rpc__Response *u = through_wire(&resp);
	assert_int_equal(ckpt_decode_checkpoint(u, &res), 0);
	assert_null(res.image_id);
	assert_int_equal(res.n_errors, 2);
	assert_int_equal(res.errors[0].code, CKPT_E_UNSUPPORTED);
	assert_int_equal(res.errors[0].task_pid, 3);
	assert_string_equal(res.errors[0].object, "fd 5 (/dev/kmsg)");
	assert_string_equal(res.errors[0].reason, "a character device");
	assert_string_equal(res.errors[1].code_name, "ERR_KERNEL");
	for (const char *s = res.errors[1].message; *s; s++)
		assert_true((unsigned char)*s >= 0x20);
	ckpt_checkpoint_result_free(&res);
	assert_null(res.errors);

	/* a checkpoint that would succeed lists nothing */
	cr.n_errors = 0;
	u = through_wire(&resp);
	assert_int_equal(ckpt_decode_checkpoint(u, &res), 0);
	assert_int_equal(res.n_errors, 0);
	ckpt_checkpoint_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_run_refusals),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_error_from_proto),
		cmocka_unit_test(test_error_client),
		cmocka_unit_test(test_decode_list),
		cmocka_unit_test(test_run_contain),
		cmocka_unit_test(test_check_and_restart_flags),
		cmocka_unit_test(test_decode_owner_and_contain),
		cmocka_unit_test(test_decode_check_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
