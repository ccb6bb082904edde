// SPDX-License-Identifier: GPL-2.0-or-later
/* Restart's plan (plan.h): the metadata of an image built in memory is
 * accepted whole, and each kind of bad metadata, wherever it stands, is
 * refused by the check alone. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/user.h>
#include <cmocka.h>

#include "arch.h"
#include "plan.h"
#include "validate.h"

/* What a test changes in the image it builds. */
struct spec {
	bool bad_fd_file;        /* the last task's fd table names file id 99 */
	bool wrong_task_pid;     /* the second TASK names a pid the tree has not */
	bool no_seg;             /* the first task's MM has no segment after it */
	bool seg_index;          /* the second segment has index 5 */
	bool seg_owner;          /* the shm's segment names another object */
	bool vma_shm_missing;    /* a mapping names shm id 42 */
	bool file_pipe_missing;  /* a FILE names pipe id 77 */
	bool dup_file;           /* two FILEs with id 1 */
	bool end_count;          /* META_END counts one record too many */
	bool missing_task;       /* the tree has 3 live tasks, the image 2 */
	bool task_count;         /* the header says 3 tasks */
	uint32_t format;         /* the header's format version (0: this one) */
	bool pages_in_meta;      /* a PAGEMAP among the metadata */
	bool thread_unknown;     /* a THREAD whose tid the tree does not list */
};

static struct user_regs_struct regs = { .cs = 0x33, .ss = 0x2b, .rip = 0x401000, .rsp = 0x7ffc0000 };
static uint8_t xstate[576];

static void add(struct restart_plan *pl, uint32_t type, const ProtobufCMessage *m)
{
	assert_int_equal(plan_add_msg(pl, type, m), 0);
}

static void add_segment(struct restart_plan *pl, uint32_t index, Ckpt__Img__SegmentOwner owner, int32_t id)
{
	Ckpt__Img__Segment s = CKPT__IMG__SEGMENT__INIT;

	s.index = index;
	s.owner = owner;
	s.id = id;
	add(pl, IMG_SEGMENT, &s.base);
}

static void add_task(struct restart_plan *pl, const struct spec *sp, int32_t pid, uint32_t seg, bool last)
{
	Ckpt__Img__Task t = CKPT__IMG__TASK__INIT;
	Ckpt__Img__MmInfo mi = CKPT__IMG__MM_INFO__INIT;
	Ckpt__Img__Fd fd = CKPT__IMG__FD__INIT, *fdv[1] = { &fd };
	Ckpt__Img__Fds fds = CKPT__IMG__FDS__INIT;
	Ckpt__Img__Vma a = CKPT__IMG__VMA__INIT, b = CKPT__IMG__VMA__INIT, *vv[2] = { &a, &b };
	Ckpt__Img__Mm mm = CKPT__IMG__MM__INIT;

	t.pid = pid;
	t.ppid = pid == 2 ? 1 : 2;
	t.pgid = t.sid = 2;
	t.comm = "w";
	t.cwd = "/";
	t.regs.data = (uint8_t *)&regs;
	t.regs.len = sizeof(regs);
	t.xstate.data = xstate;
	t.xstate.len = sizeof(xstate);
	mi.exe = "/bin/w";
	t.mm = &mi;
	add(pl, IMG_TASK, &t.base);
	if (sp->thread_unknown && pid == 3) {
		Ckpt__Img__Thread th = CKPT__IMG__THREAD__INIT;

		th.tid = 9;
		th.regs = t.regs;
		th.xstate = t.xstate;
		th.comm = "w";
		add(pl, IMG_THREAD, &th.base);
	}
	fd.fd = 0;
	fd.file_id = sp->bad_fd_file && last ? 99 : 1;
	fds.fds = fdv;
	fds.n_fds = 1;
	add(pl, IMG_FDS, &fds.base);
	a.start = 0x400000;
	a.end = 0x402000;
	a.prot = PROT_READ | PROT_EXEC;
	a.flags = MAP_PRIVATE;
	a.kind = CKPT__IMG__VMA_KIND__VMA_ANON;
	b.start = 0x7f0000000000;
	b.end = 0x7f0000001000;
	b.prot = PROT_READ | PROT_WRITE;
	b.flags = MAP_SHARED;
	b.kind = CKPT__IMG__VMA_KIND__VMA_SHARED_ANON;
	b.has_shm_id = b.has_pgoff = true;
	b.shm_id = sp->vma_shm_missing ? 42 : 2;
	mm.vmas = vv;
	mm.n_vmas = 2;
	add(pl, IMG_MM, &mm.base);
	if (!(sp->no_seg && pid == 2))
		add_segment(pl, sp->seg_index && seg == 1 ? 5 : seg, CKPT__IMG__SEGMENT_OWNER__SEG_TASK, pid);
}

/* HEADER, FILE 1, SHM 2 + segment 0, TREE (2, 3), each task with TASK, FDS,
 * MM + its segment, META_END. */
static void build(struct restart_plan *pl, const struct spec *sp)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	Ckpt__Img__File f = CKPT__IMG__FILE__INIT;
	Ckpt__Img__Shm shm = CKPT__IMG__SHM__INIT;
	Ckpt__Img__TreeTask a = CKPT__IMG__TREE_TASK__INIT, b = CKPT__IMG__TREE_TASK__INIT, c = CKPT__IMG__TREE_TASK__INIT;
	Ckpt__Img__TreeTask *tv[3] = { &a, &b, &c };
	Ckpt__Img__Tree tree = CKPT__IMG__TREE__INIT;
	uint32_t ntasks = sp->missing_task ? 3 : 2;

	plan_init(pl);
	h.format_version = sp->format ? sp->format : IMAGE_FORMAT_VERSION;
	h.arch = (char *)arch_name;
	h.page_size = 4096;
	h.has_task_count = true;
	h.task_count = sp->task_count ? 3 : ntasks;
	add(pl, IMG_HEADER, &h.base);
	f.id = 1;
	f.kind = CKPT__IMG__FILE_KIND__FILE_REG;
	f.path = "/data/log";
	f.flags = O_WRONLY | O_APPEND | ARCH_O_LARGEFILE;
	if (sp->file_pipe_missing) {
		f.kind = CKPT__IMG__FILE_KIND__FILE_PIPE;
		f.path = NULL;
		f.has_pipe_id = true;
		f.pipe_id = 77;
		f.flags = O_WRONLY;
	}
	add(pl, IMG_FILE, &f.base);
	if (sp->dup_file)
		add(pl, IMG_FILE, &f.base);
	if (sp->pages_in_meta) {
		Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;

		assert_int_equal(plan_add_msg(pl, IMG_PAGEMAP, &pm.base), -EPROTO);
	}
	shm.id = 2;
	shm.kind = CKPT__IMG__SHM_KIND__SHM_ANON;
	shm.size = 4096;
	add(pl, IMG_SHM, &shm.base);
	add_segment(pl, 0, CKPT__IMG__SEGMENT_OWNER__SEG_SHM, sp->seg_owner ? 7 : 2);
	a = (Ckpt__Img__TreeTask){ .base = a.base, .pid = 2, .ppid = 1, .pgid = 2, .sid = 2, .exit_signal = SIGCHLD };
	b = (Ckpt__Img__TreeTask){ .base = b.base, .pid = 3, .ppid = 2, .pgid = 2, .sid = 2, .exit_signal = SIGCHLD };
	c = (Ckpt__Img__TreeTask){ .base = c.base, .pid = 4, .ppid = 2, .pgid = 2, .sid = 2, .exit_signal = SIGCHLD };
	tree.tasks = tv;
	tree.n_tasks = ntasks;
	tree.max_fd = 10;
	add(pl, IMG_TREE, &tree.base);
	add_task(pl, sp, 2, 1, false);
	add_task(pl, sp, sp->wrong_task_pid ? 5 : 3, 2, true);
	if (sp->end_count) {
		Ckpt__Img__MetaEnd e = CKPT__IMG__META_END__INIT;

		e.records = pl->nrecs + 1;
		e.segments = pl->nsegs;
		e.bytes = pl->bytes;
		add(pl, IMG_META_END, &e.base);
	} else {
		assert_int_equal(plan_end(pl), 0);
	}
}

static void expect(const struct spec *sp, const char *words)
{
	struct restart_plan pl;
	int r;

	build(&pl, sp);
	r = plan_check(&pl);
	if (!words) {
		if (r != 0)
			fail_msg("refused: %s", pl.error);
	} else {
		assert_int_equal(r, -EBADMSG);
		if (!strstr(pl.error, words))
			fail_msg("refused for \"%s\", expected \"%s\"", pl.error, words);
	}
	plan_free(&pl);
}

static void test_good(void **state)
{
	(void)state;
	expect(&(struct spec){ 0 }, NULL);
}

static void test_references(void **state)
{
	(void)state;
	expect(&(struct spec){ .bad_fd_file = true }, "file id 99: no such file");
	expect(&(struct spec){ .vma_shm_missing = true }, "shared memory object is not in the image");
	expect(&(struct spec){ .file_pipe_missing = true }, "pipe id 77");
	expect(&(struct spec){ .dup_file = true }, "a second file with id 1");
}

static void test_tasks(void **state)
{
	(void)state;
	expect(&(struct spec){ .wrong_task_pid = true }, "task 5 where the tree has task 3");
	expect(&(struct spec){ .missing_task = true }, "no task record for task 4");
	expect(&(struct spec){ .task_count = true }, "(tree)");
	expect(&(struct spec){ .thread_unknown = true }, "thread 9 is not one of its threads");
}

static void test_segments(void **state)
{
	(void)state;
	expect(&(struct spec){ .no_seg = true }, "no segment of pages");
	expect(&(struct spec){ .seg_index = true }, "segment 5 where segment 1 belongs");
	expect(&(struct spec){ .seg_owner = true }, "not the pages of the record before it");
	expect(&(struct spec){ .end_count = true }, "counts");
}

static void test_stream_shape(void **state)
{
	struct restart_plan pl;
	Ckpt__Img__Segment *s;
	char junk[3] = { 1, 2, 3 };

	(void)state;
	expect(&(struct spec){ .format = 3 }, "image format 3");
	expect(&(struct spec){ .format = IMAGE_FORMAT_OLDEST - 1 }, "image format");
	expect(&(struct spec){ .format = IMAGE_FORMAT_OLDEST }, NULL);   /* stored before an upgrade */
	expect(&(struct spec){ .format = IMAGE_FORMAT_VERSION + 1 }, "image format");
	expect(&(struct spec){ .pages_in_meta = true }, NULL);   /* refused by plan_add, the rest stands */
	/* nothing after META_END; no check before it */
	build(&pl, &(struct spec){ 0 });
	assert_int_equal(plan_add(&pl, IMG_TASK, junk, sizeof(junk)), -EPROTO);
	plan_free(&pl);
	plan_init(&pl);
	assert_int_equal(plan_add(&pl, IMG_HEADER, junk, sizeof(junk)), 0);
	assert_int_equal(plan_check(&pl), -EBADMSG);
	assert_int_equal(plan_end(&pl), 0);
	assert_int_equal(plan_check(&pl), -EBADMSG);   /* a malformed header */
	plan_free(&pl);
	/* a record over its bound */
	plan_init(&pl);
	assert_int_equal(plan_add(&pl, IMG_FILE, junk, (size_t)IMAGE_MAX_META + 1), -EFBIG);
	plan_free(&pl);
	assert_null(plan_segment_unpack(junk, sizeof(junk)));
	{
		Ckpt__Img__Segment seg = CKPT__IMG__SEGMENT__INIT;
		uint8_t buf[64];
		size_t n;

		seg.index = CR_META_MAX_RECORDS;
		n = protobuf_c_message_pack(&seg.base, buf);
		assert_null(plan_segment_unpack(buf, n));
		seg.index = 3;
		n = protobuf_c_message_pack(&seg.base, buf);
		s = plan_segment_unpack(buf, n);
		assert_non_null(s);
		assert_int_equal(s->index, 3);
		protobuf_c_message_free_unpacked(&s->base, NULL);
	}
}

/* A record changed after the plan was checked: reopened, replaced, ended
 * and checked again (the checkpoint's late SEM_UNDO lists). */
static void test_reopen(void **state)
{
	Ckpt__Img__SemUndo u = CKPT__IMG__SEM_UNDO__INIT, *uv[1] = { &u };
	struct restart_plan pl;
	Ckpt__Img__Task *t;
	uint64_t bytes;
	size_t i;

	(void)state;
	build(&pl, &(struct spec){ 0 });
	assert_int_equal(plan_check(&pl), 0);
	for (i = 0; pl.recs[i].type != IMG_TASK; i++)
		;
	t = ckpt__img__task__unpack(NULL, pl.recs[i].len, pl.recs[i].payload);
	assert_non_null(t);
	u.semid = 3;
	u.num = 1;
	u.adj = -4;
	t->n_sem_undo = 1;
	t->sem_undo = uv;
	assert_int_equal(plan_replace_msg(&pl, i, &t->base), -EPROTO);   /* not once ended */
	plan_unend(&pl);
	assert_false(pl.ended);
	bytes = pl.bytes;
	assert_int_equal(plan_replace_msg(&pl, i, &t->base), 0);
	assert_true(pl.bytes > bytes);
	t->n_sem_undo = 0;
	t->sem_undo = NULL;
	protobuf_c_message_free_unpacked(&t->base, NULL);
	assert_int_equal(plan_check(&pl), -EBADMSG);   /* no META_END */
	assert_int_equal(plan_end(&pl), 0);
	assert_int_equal(plan_check(&pl), 0);
	t = ckpt__img__task__unpack(NULL, pl.recs[i].len, pl.recs[i].payload);
	assert_non_null(t);
	assert_int_equal(t->n_sem_undo, 1);
	assert_int_equal(t->sem_undo[0]->adj, -4);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	plan_free(&pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_tasks),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_stream_shape),
		cmocka_unit_test(test_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
