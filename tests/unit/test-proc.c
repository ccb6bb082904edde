// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc parsers on captured and hand-made fixtures, on malformed input, and
 * live on this process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define KERNEL_O_LARGEFILE 0100000   /* glibc defines O_LARGEFILE as 0 on 64-bit */

static int fixture(const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* An fd reading back the given text. */
static int text_fd(const char *text)
{
	int fd = memfd_create("fixture", MFD_CLOEXEC);
	size_t n = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static const struct proc_vma *find_vma(const struct proc_vma *v, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].path && streq(v[i].path, path))
			return &v[i];
	return NULL;
}

/* ---- maps / smaps ---- */

static void test_maps_captured(void **state)
{
	_cleanup_close_ int fd = fixture("maps-cat.txt");
	struct proc_vma *v;
	const struct proc_vma *x;
	size_t n;

	assert_int_equal(proc_parse_vmas(fd, &v, &n), 0);
	assert_int_equal(n, 38);
	assert_int_equal(v[0].start, 0x555b0c88e000ull);
	assert_int_equal(v[0].end, 0x555b0c890000ull);
	assert_int_equal(v[0].prot, PROT_READ);
	assert_false(v[0].shared);
	assert_int_equal(v[0].dev_major, 0xfe);
	assert_int_equal(v[0].dev_minor, 0);
	assert_int_equal(v[0].ino, 247134);
	assert_string_equal(v[0].path, "/usr/bin/cat");
	assert_int_equal(v[0].vmflags, 0);
	assert_int_equal(v[1].prot, PROT_READ | PROT_EXEC);
	assert_int_equal(v[1].pgoff, 0x2000);
	assert_string_equal(v[5].path, "[heap]");
	assert_int_equal(v[5].prot, PROT_READ | PROT_WRITE);
	assert_null(v[6].path);   /* "... 0 " anonymous */
	x = find_vma(v, n, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");
	assert_non_null(x);
	assert_true(x->shared);
	assert_non_null(find_vma(v, n, "[vvar]"));
	assert_non_null(find_vma(v, n, "[vvar_vclock]"));
	x = find_vma(v, n, "[vdso]");
	assert_non_null(x);
	assert_int_equal(x->end - x->start, 0x2000);
	x = find_vma(v, n, "[vsyscall]");
	assert_non_null(x);
	assert_int_equal(x->start, 0xffffffffff600000ull);
	assert_int_equal(x->prot, PROT_EXEC);
	assert_string_equal(v[n - 2].path, "[stack]");
	proc_vmas_free(v, n);
}

static void test_smaps_captured(void **state)
{
	_cleanup_close_ int fd = fixture("smaps-cat.txt");
	const struct proc_vma *x;
	struct proc_vma *v;
	size_t n, i;

	assert_int_equal(proc_parse_vmas(fd, &v, &n), 0);
	assert_int_equal(n, 38);
	for (i = 0; i < n; i++) {
		assert_int_not_equal(v[i].vmflags, 0);
		assert_false(v[i].vmflags & VMF_OTHER);
		/* VmFlags agree with the perms column */
		assert_int_equal(!!(v[i].vmflags & VMF_RD), !!(v[i].prot & PROT_READ));
		assert_int_equal(!!(v[i].vmflags & VMF_WR), !!(v[i].prot & PROT_WRITE));
		assert_int_equal(!!(v[i].vmflags & VMF_EX), !!(v[i].prot & PROT_EXEC));
	}
	x = find_vma(v, n, "[stack]");
	assert_non_null(x);
	assert_int_equal(x->vmflags, VMF_RD | VMF_WR | VMF_MR | VMF_MW | VMF_ME | VMF_GD | VMF_AC);
	x = find_vma(v, n, "[vvar_vclock]");
	assert_non_null(x);
	assert_int_equal(x->vmflags, VMF_RD | VMF_MR | VMF_PF | VMF_IO | VMF_DE | VMF_DD);
	x = find_vma(v, n, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");
	assert_non_null(x);
	assert_int_equal(x->vmflags, VMF_RD | VMF_MR | VMF_ME | VMF_MS);
	proc_vmas_free(v, n);
}

static void test_maps_nasty(void **state)
{
	_cleanup_close_ int fd = fixture("maps-nasty.txt");
	struct proc_vma *v;
	size_t n;

	assert_int_equal(proc_parse_vmas(fd, &v, &n), 0);
	assert_int_equal(n, 11);
	assert_string_equal(v[0].path, "/tmp/dir with spaces/my prog");
	assert_string_equal(v[1].path, "/tmp/gone (deleted)");
	assert_int_equal(v[1].pgoff, 0x1000);
	assert_string_equal(v[2].path, "/memfd:foo bar (deleted)");
	assert_true(v[2].shared);
	assert_string_equal(v[3].path, "[anon:my name]");
	assert_null(v[4].path);
	assert_int_equal(v[4].prot, 0);
	assert_null(v[5].path);   /* no trailing blank at all */
	assert_string_equal(v[6].path, "[vvar]");
	assert_string_equal(v[7].path, "[vvar_vclock]");
	assert_string_equal(v[8].path, "[vdso]");
	assert_string_equal(v[9].path, "/weird/(x) ) (y");
	assert_int_equal(v[9].dev_major, 0x103);
	assert_int_equal(v[9].dev_minor, 0xa);
	assert_int_equal(v[9].ino, 4294967296ull);
	assert_string_equal(v[10].path, "[stack]");
	proc_vmas_free(v, n);
}

static void test_smaps_nasty(void **state)
{
	_cleanup_close_ int fd = fixture("smaps-nasty.txt");
	struct proc_vma *v;
	size_t n;

	assert_int_equal(proc_parse_vmas(fd, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].path, "/tmp/dir with spaces/my prog");
	assert_int_equal(v[0].vmflags, VMF_RD | VMF_EX | VMF_MR | VMF_MW | VMF_ME | VMF_LF);
	assert_string_equal(v[1].path, "[anon:my name]");
	assert_int_equal(v[1].vmflags, VMF_RD | VMF_WR | VMF_MR | VMF_MW | VMF_ME | VMF_AC | VMF_SD |
			 VMF_MG | VMF_UM | VMF_UW | VMF_UI | VMF_WF | VMF_DD);
	assert_int_equal(v[2].vmflags, VMF_RD | VMF_MR | VMF_PF | VMF_IO | VMF_DE | VMF_DD);
	assert_int_equal(v[3].vmflags, VMF_RD | VMF_WR | VMF_MR | VMF_MW | VMF_ME | VMF_GD | VMF_AC |
			 VMF_SS | VMF_SL | VMF_BT | VMF_MT | VMF_DP | VMF_OTHER);
	proc_vmas_free(v, n);
}

static void test_vmas_malformed(void **state)
{
	static const char *bad[] = {
		"zzzz\n",
		"00400000-00300000 r-xp 00000000 08:01 1 /x\n",          /* start > end */
		"00400000-00400000 r-xp 00000000 08:01 1 /x\n",          /* empty */
		"00400000-00401000 rwxq 00000000 08:01 1 /x\n",          /* perms */
		"00400000-00401000 rwx 00000000 08:01 1 /x\n",
		"00400000-00401000 r-xp 00000000 08;01 1 /x\n",          /* device */
		"00400000-00401000 r-xp 00000000 08:01\n",               /* no inode */
		"00400000-00401000 r-xp 00000000 08:01 x1 /x\n",
		"00400000-00401000 r-xp 0000000g 08:01 1 /x\n",
		"00400001-00401000 r-xp 00000000 08:01 1 /x\n",          /* unaligned */
		"-00401000 r-xp 00000000 08:01 1 /x\n",
		"1ffffffffffffffff000-1fffffffffffffffff000 r-xp 00000000 00:00 0\n",
		("00400000-00402000 r-xp 00000000 08:01 1 /x\n"
		 "00401000-00403000 r-xp 00000000 08:01 1 /y\n"),        /* overlap */
		"Size: 4 kB\n00400000-00401000 r-xp 00000000 08:01 1 /x\n",
		"VmFlags: rd\n",
		"00400000-00401000 r-xp 00000000 08:01 1 /x\n  garbage\n",
		"00400000-00401000 r-xp 00000000 08:01 1 /x\n4k: 5\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_close_ int fd = text_fd(bad[i]);
		struct proc_vma *v = (void *)1;
		size_t n = 12345;

		print_message("bad maps #%zu\n", i);
		assert_int_equal(proc_parse_vmas(fd, &v, &n), -EINVAL);
		assert_ptr_equal(v, (void *)1);   /* untouched on failure */
		assert_int_equal(n, 12345);
	}
}

static void test_vmas_long_line(void **state)
{
	size_t len = 20000, n;
	_cleanup_free_ char *buf = malloc(len + 64);
	_cleanup_close_ int fd = -1;
	struct proc_vma *v;
	int k = snprintf(buf, len, "00400000-00401000 r-xp 00000000 08:01 1 /");

	memset(buf + k, 'a', len - k);
	strcpy(buf + len, "\n");
	fd = text_fd(buf);
	assert_int_equal(proc_parse_vmas(fd, &v, &n), -EINVAL);

	/* the longest legal path fits */
	memset(buf + k, 'a', 4095);
	strcpy(buf + k + 4095, " (deleted)\n");
	close(fd);
	fd = text_fd(buf);
	assert_int_equal(proc_parse_vmas(fd, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(v[0].path), 4096 + 10);
	proc_vmas_free(v, n);
}

static void test_vmas_nul(void **state)
{
	static const char text[] = "00400000-00401000 r-xp 00000000 08:01 1 /x\0y\n";
	_cleanup_close_ int fd = memfd_create("nul", MFD_CLOEXEC);
	struct proc_vma *v;
	size_t n;

	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(proc_parse_vmas(fd, &v, &n), -EINVAL);
}

static void test_vmas_empty(void **state)
{
	_cleanup_close_ int fd = text_fd("");
	struct proc_vma *v;
	size_t n = 7;

	assert_int_equal(proc_parse_vmas(fd, &v, &n), 0);
	assert_int_equal(n, 0);
	proc_vmas_free(v, n);
}

/* ---- status ---- */

static void test_status_captured(void **state)
{
	_cleanup_close_ int fd = fixture("status-cat.txt");
	struct proc_status st;

	assert_int_equal(proc_parse_status(fd, &st), 0);
	assert_string_equal(st.name, "cat");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.tgid, 15778);
	assert_int_equal(st.pid, 15778);
	assert_int_equal(st.ppid, 15770);
	assert_int_equal(st.tracer_pid, 0);
	assert_int_equal(st.nspid_n, 1);
	assert_int_equal(st.nspid[0], 15778);
	assert_int_equal(st.nspgid_n, 1);
	assert_int_equal(st.nspgid[0], 15770);
	assert_int_equal(st.nssid_n, 1);
	assert_int_equal(st.nssid[0], 2647);
	assert_int_equal(st.uid[3], 0);
	assert_int_equal(st.ngroups, 0);
	assert_int_equal(st.threads, 1);
	assert_int_equal(st.umask, 022);
	assert_int_equal(st.sigq_cur, 0);
	assert_int_equal(st.sigq_max, 96364);
	assert_int_equal(st.sigblk, 0);
	assert_int_equal(st.capprm, 0x000001fffeffffffull);
	assert_int_equal(st.capeff, 0x000001fffeffffffull);
	assert_int_equal(st.capbnd, 0x000001fffeffffffull);
	assert_int_equal(st.capamb, 0);
	assert_int_equal(st.no_new_privs, 0);
	assert_int_equal(st.seccomp, 0);
}

static void test_status_nested(void **state)
{
	_cleanup_close_ int fd = fixture("status-nested.txt");
	struct proc_status st;

	assert_int_equal(proc_parse_status(fd, &st), 0);
	assert_string_equal(st.name, "sleep");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.nspid_n, 2);
	assert_int_equal(st.nspid[0], 15835);
	assert_int_equal(st.nspid[1], 1);
	assert_int_equal(st.nspgid_n, 2);
	assert_int_equal(st.nspgid[1], 0);
	assert_int_equal(st.nssid_n, 2);
	assert_int_equal(st.ngroups, 4);
	assert_int_equal(st.groups[0], 4);
	assert_int_equal(st.groups[3], 100000);
}

#define STATUS_HEAD "Name:\tx\nState:\tS (sleeping)\nTgid:\t5\nPid:\t5\nPPid:\t1\n" \
		    "Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\n"

static void test_status_handmade(void **state)
{
	_cleanup_close_ int fd = text_fd(STATUS_HEAD "NSpid:\t5\t4\t3\t2\t1\t1\t1\t1\n"
					 "SigQ:\t3/100\nSigBlk:\tfffffffe7ffbfeff\nSigCgt:\t0000000180000000\n"
					 "Umask:\t0777\nNoNewPrivs:\t1\nSeccomp:\t2\nFuture_key:\t???\n");
	struct proc_status st;

	assert_int_equal(proc_parse_status(fd, &st), 0);
	assert_int_equal(st.uid[0], 1);
	assert_int_equal(st.uid[3], 4);
	assert_int_equal(st.gid[2], 7);
	assert_int_equal(st.nspid_n, 8);
	assert_int_equal(st.nspid[7], 1);
	assert_int_equal(st.sigq_cur, 3);
	assert_int_equal(st.sigblk, 0xfffffffe7ffbfeffull);
	assert_int_equal(st.sigcgt, 0x180000000ull);
	assert_int_equal(st.umask, 0777);
	assert_int_equal(st.no_new_privs, 1);
	assert_int_equal(st.seccomp, 2);
}

/* One field of a status text, as the checkpoint's spot reads use it. */
static void test_status_field(void **state)
{
	const char *text = "VmPeak:\t   1 kB\nVmLck:\t      12 kB\nSigPnd:\t0000000000000100\n"
			   "ShdPnd:\t8000000000000000\nXVmLck:\t7\nBad:\t12x\nEmpty:\t\nSigBlk:\t1ffffffffffffffff";
	uint64_t v = 4242;

	(void)state;
	assert_int_equal(proc_status_field(text, "VmLck", 10, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(proc_status_field(text, "SigPnd", 16, &v), 0);
	assert_int_equal(v, 0x100);
	assert_int_equal(proc_status_field(text, "ShdPnd", 16, &v), 0);
	assert_int_equal(v, 0x8000000000000000ull);
	/* a key only at a line's start, and whole */
	assert_int_equal(proc_status_field("VmLck:\t3 kB", "VmLck", 10, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(proc_status_field("XVmLck:\t7\n", "VmLck", 10, &v), -ENOENT);
	assert_int_equal(proc_status_field(text, "VmLc", 10, &v), -ENOENT);
	assert_int_equal(proc_status_field(text, "Sig", 16, &v), -ENOENT);
	/* what is not a number is refused and leaves *ret alone */
	v = 4242;
	assert_int_equal(proc_status_field(text, "Bad", 10, &v), -EINVAL);
	assert_int_equal(proc_status_field(text, "Empty", 10, &v), -EINVAL);
	assert_int_equal(proc_status_field(text, "SigBlk", 16, &v), -EINVAL);
	assert_int_equal(v, 4242);
}

/* The live status of this process carries the fields the spot reads want. */
static void test_status_field_live(void **state)
{
	_cleanup_free_ char *text = NULL;
	uint64_t v;

	(void)state;
	assert_int_equal(proc_status_text(getpid(), &text), 0);
	assert_int_equal(proc_status_field(text, "VmLck", 10, &v), 0);
	assert_int_equal(proc_status_field(text, "SigPnd", 16, &v), 0);
	assert_int_equal(proc_status_field(text, "ShdPnd", 16, &v), 0);
	assert_int_equal(proc_status_field(text, "Pid", 10, &v), 0);
	assert_int_equal(v, (uint64_t)getpid());
	assert_int_equal(proc_status_text(0, &text), -EINVAL);
}

static void test_status_malformed(void **state)
{
	static const struct { const char *text; int err; } bad[] = {
		{ "Name:\tx\nState:\tS\nTgid:\t5\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t5\n", -EINVAL },
		{ STATUS_HEAD, -EINVAL },                                /* no NSpid */
		{ STATUS_HEAD "NSpid:\t5\nno colon here\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t5\nUid:\t0\t0\t0\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t5\nUid:\t0\t0\t0\t0\t0\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t5\nSigBlk:\txyz\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t5\nCapEff:\t1ffffffffffffffff\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t5\nUmask:\t0999\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t5\nSigQ:\t3\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t5\nPid:\t-5\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t5x\n", -EINVAL },
		{ STATUS_HEAD "NSpid:\t9\t8\t7\t6\t5\t4\t3\t2\t1\n", -E2BIG },
		{ STATUS_HEAD "NSpid:\t5\nGroups:\t1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 "
		  "25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 "
		  "55 56 57 58 59 60 61 62 63 64 65\n", -E2BIG },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_close_ int fd = text_fd(bad[i].text);
		struct proc_status st = { .pid = 4242 };

		print_message("bad status #%zu\n", i);
		assert_int_equal(proc_parse_status(fd, &st), bad[i].err);
		assert_int_equal(st.pid, 4242);
	}
}

/* ---- stat ---- */

static void test_stat_captured(void **state)
{
	_cleanup_close_ int fd = fixture("stat-cat.txt");
	struct proc_stat ps;

	assert_int_equal(proc_parse_stat(fd, &ps), 0);
	assert_int_equal(ps.pid, 15779);
	assert_string_equal(ps.comm, "cat");
	assert_int_equal(ps.state, 'R');
	assert_int_equal(ps.ppid, 15770);
	assert_int_equal(ps.pgrp, 15770);
	assert_int_equal(ps.session, 2647);
	assert_int_equal(ps.tty_nr, 0);
	assert_int_equal(ps.num_threads, 1);
	assert_int_equal(ps.starttime, 881976);
	assert_int_equal(ps.start_code, 94686095036416ull);
	assert_int_equal(ps.end_code, 94686095056297ull);
	assert_int_equal(ps.start_stack, 140736933220816ull);
	assert_int_equal(ps.exit_signal, 17);
	assert_int_equal(ps.start_data, 94686095072304ull);
	assert_int_equal(ps.end_data, 94686095073920ull);
	assert_int_equal(ps.start_brk, 94686597492736ull);
	assert_int_equal(ps.arg_start, 140736933222827ull);
	assert_int_equal(ps.arg_end, 140736933222847ull);
	assert_int_equal(ps.env_start, 140736933222847ull);
	assert_int_equal(ps.env_end, 140736933224427ull);
	assert_int_equal(ps.exit_code, 0);
}

static void test_stat_nasty(void **state)
{
	_cleanup_close_ int fd = fixture("stat-nasty.txt");
	_cleanup_close_ int fd2 = fixture("stat-nested.txt");
	struct proc_stat ps;

	assert_int_equal(proc_parse_stat(fd, &ps), 0);
	assert_int_equal(ps.pid, 4242);
	assert_string_equal(ps.comm, "a) (b c)");
	assert_int_equal(ps.state, 'R');
	assert_int_equal(ps.ppid, 15770);
	assert_int_equal(ps.env_end, 140736933224427ull);

	assert_int_equal(proc_parse_stat(fd2, &ps), 0);
	assert_string_equal(ps.comm, "sleep");
	assert_int_equal(ps.pgrp, 15830);
	assert_int_equal(ps.start_brk, 93834730975232ull);
}

#define STAT_TAIL " 1 1 1 0 -1 4194304 119 0 0 0 0 0 0 0 20 0 1 0 881976 3133440 358 " \
		  "18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 4 5 6 7 8 9 10 %s\n"

static void test_stat_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"15 cat R 1\n",
		"15 (cat R 1 1\n",
		"x5 (cat) R" STAT_TAIL,
		"15(cat) R" STAT_TAIL,
		"0 (cat) R" STAT_TAIL,
		"15 (cat)R" STAT_TAIL,
		"15 (cat) 7" STAT_TAIL,
		"15 (cat) R 1 1 1 0\n",                         /* too few fields */
		"15 (cat) R" STAT_TAIL,                         /* "%s" left: not a number */
		("15 (cat) R 1 1 1 0 -1 4194304 119 0 0 0 0 0 0 0 20 0 1 0 881976 3133440 358 "
		 "184467440737095516150 1 2 3 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 4 5 6 7 8 9 10 0\n"),
	};
	char huge[8192];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_close_ int fd = text_fd(bad[i]);
		struct proc_stat ps = { .pid = 4242 };

		print_message("bad stat #%zu\n", i);
		assert_int_equal(proc_parse_stat(fd, &ps), -EINVAL);
		assert_int_equal(ps.pid, 4242);
	}
	memset(huge, '1', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = 0;
	{
		_cleanup_close_ int fd = text_fd(huge);
		struct proc_stat ps;

		assert_int_equal(proc_parse_stat(fd, &ps), -EINVAL);
	}
	{
		char ok[512];
		_cleanup_close_ int fd = -1;
		struct proc_stat ps;

		snprintf(ok, sizeof(ok), "15 (cat) R" STAT_TAIL, "-3 99");   /* extra fields are fine */
		fd = text_fd(ok);
		assert_int_equal(proc_parse_stat(fd, &ps), 0);
		assert_int_equal(ps.exit_code, -3);
		assert_int_equal(ps.env_end, 10);
	}
}

/* ---- fdinfo ---- */

static void test_fdinfo(void **state)
{
	_cleanup_close_ int a = fixture("fdinfo-file.txt");
	_cleanup_close_ int b = fixture("fdinfo-append.txt");
	_cleanup_close_ int c = fixture("fdinfo-pidfd.txt");
	_cleanup_close_ int d = fixture("fdinfo-locks.txt");
	struct proc_fdinfo fi;

	assert_int_equal(proc_parse_fdinfo(a, &fi), 0);
	assert_int_equal(fi.pos, 0);
	assert_int_equal(fi.flags, O_RDONLY | KERNEL_O_LARGEFILE);
	assert_int_equal(fi.mnt_id, 26);
	assert_int_equal(fi.ino, 733);
	assert_int_equal(proc_parse_fdinfo(b, &fi), 0);
	assert_int_equal(fi.pos, 5);
	assert_int_equal(fi.flags, O_WRONLY | O_APPEND | KERNEL_O_LARGEFILE | O_CLOEXEC);
	assert_int_equal(fi.ino, 10952717);
	assert_int_equal(proc_parse_fdinfo(c, &fi), 0);
	assert_int_equal(fi.flags, O_RDWR | O_CLOEXEC);
	assert_int_equal(fi.nlocks, 0);
	assert_int_equal(proc_parse_fdinfo(d, &fi), 0);
	assert_int_equal(fi.nlocks, 2);
	assert_string_equal(fi.lock, "FLOCK WRITE");
	assert_string_equal(fi.locks[0].kind, "FLOCK");
	assert_int_equal(fi.locks[0].pid, 1234);
	assert_int_equal(fi.locks[0].dev_major, 8);
	assert_int_equal(fi.locks[0].ino, 733);
	assert_true(fi.locks[0].end == UINT64_MAX);
	assert_string_equal(fi.locks[1].kind, "POSIX");
	assert_string_equal(fi.locks[1].type, "READ");
	assert_int_equal(fi.locks[1].start, 0);
	assert_int_equal(fi.locks[1].end, 9);
}

static void test_lock_lines(void **state)
{
	struct proc_lock l;

	assert_int_equal(proc_parse_lock("3: OFDLCK ADVISORY  WRITE -1 fe:00:10970582 5 14", &l), 0);
	assert_string_equal(l.kind, "OFDLCK");
	assert_int_equal(l.pid, -1);
	assert_int_equal(l.dev_major, 0xfe);
	assert_int_equal(l.start, 5);
	assert_int_equal(l.end, 14);
	assert_false(l.waiter);
	assert_int_equal(proc_parse_lock("1: -> FLOCK  ADVISORY  WRITE 77 08:01:5 0 EOF", &l), 0);
	assert_true(l.waiter);
	assert_int_equal(l.pid, 77);
	assert_int_equal(proc_parse_lock("2: LEASE  ACTIVE    READ 12 08:01:9 0 EOF", &l), 0);
	assert_string_equal(l.mode, "ACTIVE");
	assert_int_equal(proc_parse_lock("1: POSIX  ADVISORY  WRITE 12 08:01:9 9 5", &l), -EINVAL);
	assert_int_equal(proc_parse_lock("1: POSIX  ADVISORY  WRITE 12 <none>:0 0 EOF", &l), -EINVAL);
	assert_int_equal(proc_parse_lock("POSIX ADVISORY WRITE", &l), -EINVAL);
}

static void test_fdinfo_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"pos:\t0\n",
		"flags:\t02\n",
		"pos:\t0\nflags:\t0999\n",
		"pos:\t-1\nflags:\t02\n",
		"pos:\tx\nflags:\t02\n",
		"pos:\t0\nflags:\t02\nmnt_id:\tabc\n",
		"pos:\t0\nflags:\t02\nino:\t\n",
		"pos:\t0\nflags:\t02\nlock:\tFLOCK\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_close_ int fd = text_fd(bad[i]);
		struct proc_fdinfo fi = { .pos = 77 };

		print_message("bad fdinfo #%zu\n", i);
		assert_int_equal(proc_parse_fdinfo(fd, &fi), -EINVAL);
		assert_int_equal(fi.pos, 77);
	}
}

/* ---- limits ---- */

static void test_limits_captured(void **state)
{
	_cleanup_close_ int fd = fixture("limits-cat.txt");
	struct proc_limit l[16];

	assert_int_equal(proc_parse_limits(fd, l), 0);
	assert_int_equal(l[RLIMIT_CPU].cur, RLIM_INFINITY);
	assert_int_equal(l[RLIMIT_STACK].cur, 8388608);
	assert_int_equal(l[RLIMIT_STACK].max, RLIM_INFINITY);
	assert_int_equal(l[RLIMIT_CORE].cur, 0);
	assert_int_equal(l[RLIMIT_NPROC].max, 96364);
	assert_int_equal(l[RLIMIT_NOFILE].cur, 20000);
	assert_int_equal(l[RLIMIT_MEMLOCK].max, 8388608);
	assert_int_equal(l[RLIMIT_MSGQUEUE].cur, 819200);
	assert_int_equal(l[RLIMIT_NICE].cur, 0);
	assert_int_equal(l[RLIMIT_RTTIME].max, RLIM_INFINITY);
}

static void test_limits_malformed(void **state)
{
	_cleanup_free_ char *good = NULL;
	size_t len, i;
	char path[512];

	snprintf(path, sizeof(path), "%s/limits-cat.txt", FIXTURES);
	assert_int_equal(proc_read_file(path, &good, &len), 0);
	assert_int_equal(strlen(good), len);
	for (i = 0; i < 6; i++) {
		_cleanup_free_ char *t = strdup(good);
		_cleanup_close_ int fd = -1;
		struct proc_limit l[16] = { [0].cur = 5 };
		char *p;

		switch (i) {
		case 0:   /* a row missing */
			p = strstr(t, "Max realtime timeout");
			*p = 0;
			break;
		case 1:   /* rows out of order */
			memcpy(strstr(t, "Max file size"), "Max data size", 13);
			break;
		case 2:   /* garbage value */
			memcpy(strstr(t, "8388608"), "83x8608", 7);
			break;
		case 3:   /* no header */
			t = strcpy(t, strchr(good, '\n') + 1);
			break;
		case 4:   /* a 17th row */
			t = realloc(t, len + 100);
			strcat(t, "Max thing                 1                    1\n");
			break;
		case 5:
			memcpy(strstr(t, "unlimited"), "unlimitex", 9);
			break;
		}
		fd = text_fd(t);
		print_message("bad limits #%zu\n", i);
		assert_int_equal(proc_parse_limits(fd, l), -EINVAL);
		assert_int_equal(l[0].cur, 5);
	}
}

/* ---- live ---- */

static void test_live_self(void **state)
{
	struct proc_vma *v;
	struct proc_status st;
	struct proc_stat ps;
	struct proc_limit l[16];
	struct rlimit rl;
	size_t n, i;
	bool stack = false;

	assert_int_equal(proc_vmas_pid(getpid(), true, &v, &n), 0);
	for (i = 0; i < n; i++) {
		assert_false(v[i].vmflags & VMF_OTHER);
		if (v[i].path && streq(v[i].path, "[stack]")) {
			stack = true;
			assert_true(v[i].vmflags & VMF_GD);
			assert_true((uintptr_t)&n >= v[i].start && (uintptr_t)&n < v[i].end);
		}
	}
	assert_true(stack);
	proc_vmas_free(v, n);
	assert_int_equal(proc_vmas_pid(getpid(), false, &v, &n), 0);
	proc_vmas_free(v, n);

	assert_int_equal(proc_status_pid(getpid(), &st), 0);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(st.uid[1], geteuid());
	assert_int_equal(st.nspid[st.nspid_n - 1], getpid());

	assert_int_equal(proc_stat_pid(getpid(), &ps), 0);
	assert_int_equal(ps.pid, getpid());
	assert_int_equal(ps.ppid, getppid());
	assert_int_equal(ps.exit_signal, SIGCHLD);

	assert_int_equal(proc_limits_pid(getpid(), l), 0);
	getrlimit(RLIMIT_NOFILE, &rl);
	assert_int_equal(l[RLIMIT_NOFILE].cur, rl.rlim_cur);
	assert_int_equal(l[RLIMIT_NOFILE].max, rl.rlim_max);
	getrlimit(RLIMIT_STACK, &rl);
	assert_int_equal(l[RLIMIT_STACK].cur, rl.rlim_cur);

	assert_int_equal(proc_stat_pid(0, &ps), -EINVAL);
	assert_int_equal(proc_status_pid(INT_MAX, &st), -ENOENT);
}

static void test_live_fdinfo(void **state)
{
	_cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct proc_fdinfo fi;

	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 123, SEEK_SET), 123);
	assert_int_equal(proc_fdinfo_pid(getpid(), fd, &fi), 0);
	assert_int_equal(fi.pos, 123);
	assert_int_equal(fi.flags & O_ACCMODE, O_RDONLY);
	assert_true(fi.flags & O_CLOEXEC);
	assert_true(fi.ino > 0);
	assert_int_equal(proc_fdinfo_pid(getpid(), 100000, &fi), -ENOENT);
}

static pid_t sleeper(void)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0) {
		pause();
		_exit(0);
	}
	return p;
}

static void reap(pid_t p)
{
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

static void test_live_children(void **state)
{
	pid_t a = sleeper(), b = sleeper(), *kids;
	size_t n;

	assert_int_equal(proc_children(getpid(), &kids, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(kids[0], MIN(a, b));
	assert_int_equal(kids[1], MAX(a, b));
	free(kids);
	assert_int_equal(proc_children(a, &kids, &n), 0);
	assert_int_equal(n, 0);
	free(kids);
	reap(a);
	reap(b);
	assert_int_equal(proc_children(getpid(), &kids, &n), 0);
	assert_int_equal(n, 0);
	free(kids);
}

static void *thread_fn(void *arg)
{
	pid_t *tid = arg;

	*tid = gettid();
	pause();
	return NULL;
}

static void test_live_threads(void **state)
{
	static pid_t tid;
	pthread_t t;
	pid_t *tids;
	size_t n;

	assert_int_equal(pthread_create(&t, NULL, thread_fn, &tid), 0);
	while (!__atomic_load_n(&tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	assert_int_equal(proc_threads(getpid(), &tids, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tids[0], getpid());
	assert_int_equal(tids[1], tid);
	free(tids);
	pthread_cancel(t);
	pthread_join(t, NULL);
	assert_int_equal(proc_threads(getpid(), &tids, &n), 0);
	assert_int_equal(n, 1);
	free(tids);
}

static void test_parse_timers(void **state)
{
	static const char good[] =
		"ID: 4\nsignal: 35/000055cc0000002a\nnotify: signal/tid.28004\nClockID: 0\n"
		"ID: 2\nsignal: 0/0000000000000000\nnotify: none/pid.28002\nClockID: -6\n";
	static const char *const bad[] = {
		"ID: 1\nsignal: 10/0\nnotify: signal/pid.5\n",                      /* no ClockID */
		"ID: 1\nsignal: 10/0\nnotify: bogus/pid.5\nClockID: 0\n",
		"ID: 1\nsignal: 99/0\nnotify: signal/pid.5\nClockID: 0\n",
		"ID: -1\nsignal: 10/0\nnotify: signal/pid.5\nClockID: 0\n",
		"ID: 1\nsignal: 10/0\nsignal: 10/0\nnotify: signal/pid.5\nClockID: 0\n",
		"signal: 10/0\n",
		"ID: 1\nsignal: 10/xyz\nnotify: signal/pid.5\nClockID: 0\n",
	};
	struct proc_ptimer *v = NULL;
	size_t n = 0, i;
	int fd;

	fd = text_fd(good);
	assert_int_equal(proc_parse_timers(fd, 16, &v, &n), 0);
	close(fd);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, 4);
	assert_int_equal(v[0].signo, 35);
	assert_true(v[0].value == 0x55cc0000002aull);
	assert_int_equal(v[0].notify, SIGEV_SIGNAL | SIGEV_THREAD_ID);
	assert_int_equal(v[0].pid, 28004);
	assert_int_equal(v[0].clock, 0);
	assert_int_equal(v[1].notify, SIGEV_NONE);
	assert_int_equal(v[1].clock, -6);
	free(v);
	fd = text_fd(good);
	assert_int_equal(proc_parse_timers(fd, 1, &v, &n), -E2BIG);
	close(fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		fd = text_fd(bad[i]);
		assert_int_equal(proc_parse_timers(fd, 16, &v, &n), -EINVAL);
		close(fd);
	}
}

static void test_live_timers(void **state)
{
	timer_t t1, t2;
	struct sigevent ev = { .sigev_notify = SIGEV_NONE };

	assert_int_equal(proc_posix_timers(getpid()), 0);
	assert_int_equal(timer_create(CLOCK_MONOTONIC, &ev, &t1), 0);
	assert_int_equal(timer_create(CLOCK_REALTIME, &ev, &t2), 0);
	assert_int_equal(proc_posix_timers(getpid()), 2);
	timer_delete(t1);
	timer_delete(t2);
	assert_int_equal(proc_posix_timers(getpid()), 0);
}

static void test_live_pidfd(void **state)
{
	pid_t child = sleeper();
	_cleanup_close_ int self = syscall(SYS_pidfd_open, getpid(), 0);
	_cleanup_close_ int pfd = syscall(SYS_pidfd_open, child, 0);
	_cleanup_close_ int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	assert_true(self >= 0 && pfd >= 0 && file >= 0);
	assert_int_equal(proc_pidfd_pid(self), getpid());
	assert_int_equal(proc_pidfd_pid(pfd), child);
	assert_int_equal(proc_pidfd_pid(file), -EBADF);
	assert_int_equal(proc_pidfd_pid(-1), -EBADF);
	reap(child);
	assert_int_equal(proc_pidfd_pid(pfd), -ESRCH);
}

static void test_read_file(void **state)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	assert_int_equal(proc_read_file("/proc/self/auxv", &buf, &len), 0);
	assert_true(len > 0 && len % 16 == 0);   /* binary: NULs inside, length still right */
	assert_int_equal(proc_read_file("/nonexistent", &buf, &len), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_captured),
		cmocka_unit_test(test_smaps_captured),
		cmocka_unit_test(test_maps_nasty),
		cmocka_unit_test(test_smaps_nasty),
		cmocka_unit_test(test_vmas_malformed),
		cmocka_unit_test(test_vmas_long_line),
		cmocka_unit_test(test_vmas_nul),
		cmocka_unit_test(test_vmas_empty),
		cmocka_unit_test(test_status_captured),
		cmocka_unit_test(test_status_nested),
		cmocka_unit_test(test_status_handmade),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_status_field),
		cmocka_unit_test(test_status_field_live),
		cmocka_unit_test(test_stat_captured),
		cmocka_unit_test(test_stat_nasty),
		cmocka_unit_test(test_stat_malformed),
		cmocka_unit_test(test_fdinfo),
		cmocka_unit_test(test_lock_lines),
		cmocka_unit_test(test_fdinfo_malformed),
		cmocka_unit_test(test_limits_captured),
		cmocka_unit_test(test_limits_malformed),
		cmocka_unit_test(test_live_self),
		cmocka_unit_test(test_live_fdinfo),
		cmocka_unit_test(test_live_children),
		cmocka_unit_test(test_live_threads),
		cmocka_unit_test(test_parse_timers),
		cmocka_unit_test(test_live_timers),
		cmocka_unit_test(test_live_pidfd),
		cmocka_unit_test(test_read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
