// SPDX-License-Identifier: GPL-2.0-or-later
/* The record checks restart and checkpoint share (validate.h): good
 * records pass, each kind of bad one is refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/user.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <cmocka.h>

#include "arch.h"
#include "validate.h"
#include <netinet/in.h>

#define LARGE ARCH_O_LARGEFILE

static Ckpt__Img__File file(Ckpt__Img__FileKind kind, const char *path, uint32_t flags)
{
	Ckpt__Img__File f = CKPT__IMG__FILE__INIT;

	f.id = 1;
	f.kind = kind;
	f.path = (char *)path;
	f.flags = flags;
	return f;
}

static void test_file_paths(void **state)
{
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_REG, "/data/db", O_RDWR | LARGE | O_NOFOLLOW);
	char *lng = malloc(CR_PATH_MAX + 2);

	(void)state;
	assert_null(validate_file(&f));
	f.path = "relative";
	assert_non_null(validate_file(&f));
	f.path = NULL;
	assert_non_null(validate_file(&f));
	memset(lng, 'a', CR_PATH_MAX + 1);
	lng[0] = '/';
	lng[CR_PATH_MAX + 1] = 0;
	f.path = lng;
	assert_non_null(validate_file(&f));
	lng[CR_PATH_MAX - 1] = 0;
	assert_null(validate_file(&f));
	free(lng);

	f = file(CKPT__IMG__FILE_KIND__FILE_REG, "/x", O_RDWR | O_CREAT);
	assert_non_null(validate_file(&f));   /* creation flags never come back */
	f.flags = O_ACCMODE;
	assert_non_null(validate_file(&f));
	f.flags = O_RDONLY | O_PATH;
	assert_non_null(validate_file(&f));   /* O_PATH only as FILE_PATH */

	f = file(CKPT__IMG__FILE_KIND__FILE_CHR, "/dev/null", O_WRONLY);
	assert_non_null(validate_file(&f));   /* no device number */
	f.has_rdev = true;
	f.rdev = makedev(1, 3);
	assert_null(validate_file(&f));
	f.kind = 99;
	assert_non_null(validate_file(&f));
}

static void test_file_evfds(void **state)
{
	Ckpt__Img__EpollTarget t1 = CKPT__IMG__EPOLL_TARGET__INIT, t2 = CKPT__IMG__EPOLL_TARGET__INIT;
	Ckpt__Img__EpollTarget *ts[2] = { &t1, &t2 };
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_EVENTFD, NULL, O_RDWR | O_NONBLOCK);

	(void)state;
	assert_non_null(validate_file(&f));   /* no count */
	f.has_efd_count = true;
	f.efd_count = UINT64_MAX - 1;
	assert_null(validate_file(&f));
	f.efd_count = UINT64_MAX;             /* an eventfd never holds that */
	assert_non_null(validate_file(&f));
	f.efd_count = 3;
	f.path = "/x";
	assert_non_null(validate_file(&f));   /* no path on these */
	f.path = NULL;
	f.flags = O_RDONLY;
	assert_non_null(validate_file(&f));
	f.flags = O_RDWR;
	f.has_sfd_sigmask = true;
	assert_non_null(validate_file(&f));   /* another kind's field */

	f = file(CKPT__IMG__FILE_KIND__FILE_SIGNALFD, NULL, O_RDWR);
	assert_non_null(validate_file(&f));
	f.has_sfd_sigmask = true;
	f.sfd_sigmask = 1u << (SIGUSR1 - 1);
	assert_null(validate_file(&f));

	f = file(CKPT__IMG__FILE_KIND__FILE_TIMERFD, NULL, O_RDWR);
	assert_non_null(validate_file(&f));   /* no clock */
	f.has_tfd_clockid = true;
	f.tfd_clockid = 99;
	assert_non_null(validate_file(&f));
	f.tfd_clockid = 1;                    /* CLOCK_MONOTONIC */
	f.tfd_value_ns = 5000000;
	f.tfd_interval_ns = 5000000;
	f.tfd_ticks = 7;
	assert_null(validate_file(&f));
	f.tfd_settime_flags = 4;
	assert_non_null(validate_file(&f));   /* unknown settime flag */
	f.tfd_settime_flags = 1;              /* TFD_TIMER_ABSTIME: relative all the same off REALTIME */
	assert_null(validate_file(&f));
	f.tfd_clockid = 0;                    /* CLOCK_REALTIME: the deadline is needed */
	assert_non_null(validate_file(&f));
	f.has_tfd_deadline_ns = true;
	f.tfd_deadline_ns = 1800000000ll * 1000000000ll;
	assert_null(validate_file(&f));
	f.tfd_deadline_ns = -1;
	assert_non_null(validate_file(&f));
	f.tfd_value_ns = 0;                   /* disarmed: no deadline */
	f.tfd_ticks = 0;
	assert_non_null(validate_file(&f));
	f.has_tfd_deadline_ns = false;
	assert_null(validate_file(&f));
	f.tfd_interval_ns = CR_TIMER_MAX_NS + 1;
	assert_non_null(validate_file(&f));

	f = file(CKPT__IMG__FILE_KIND__FILE_EPOLL, NULL, O_RDWR);
	assert_null(validate_file(&f));
	t1.tfd = 5;
	t1.file_id = 2;
	t1.events = EPOLLIN | EPOLLET;
	t2.tfd = 6;
	t2.file_id = 3;
	t2.events = EPOLLONESHOT;             /* a one-shot that fired */
	f.epoll_targets = ts;
	f.n_epoll_targets = 2;
	assert_null(validate_file(&f));
	t2.tfd = 5;
	assert_non_null(validate_file(&f));   /* two entries under one number */
	t2.tfd = CR_MAX_FD_NR;
	assert_non_null(validate_file(&f));
	t2.tfd = 6;
	t2.file_id = 1;
	assert_non_null(validate_file(&f));   /* watching itself */
	t2.file_id = 3;
	t2.events = 1u << 20;
	assert_non_null(validate_file(&f));   /* unknown event bit */
	t2.events = EPOLLEXCLUSIVE | EPOLLONESHOT;
	assert_non_null(validate_file(&f));
	t2.events = EPOLLEXCLUSIVE | EPOLLIN;
	assert_null(validate_file(&f));
	f.kind = CKPT__IMG__FILE_KIND__FILE_EVENTFD;
	f.has_efd_count = true;
	assert_non_null(validate_file(&f));   /* targets on another kind */
}

static void test_file_opath(void **state)
{
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_PATH, "/d/link", O_PATH | O_NOFOLLOW);

	(void)state;
	assert_non_null(validate_file(&f));   /* no file type */
	f.has_ftype = true;
	f.ftype = S_IFLNK;
	assert_null(validate_file(&f));
	f.flags = O_PATH | O_RDWR;
	assert_non_null(validate_file(&f));
	f.flags = O_NOFOLLOW;
	assert_non_null(validate_file(&f));   /* FILE_PATH without O_PATH */
	f.flags = O_PATH;
	f.ftype = S_IFCHR;
	assert_non_null(validate_file(&f));   /* a device without its number */
	f.has_rdev = true;
	f.rdev = makedev(1, 3);
	assert_non_null(validate_file(&f));   /* not in /dev */
	f.path = "/dev/null";
	assert_null(validate_file(&f));
	f.rdev = makedev(1, 1);
	assert_non_null(validate_file(&f));   /* /dev/mem, by O_PATH too */
	f.ftype = S_IFBLK;
	f.rdev = makedev(8, 0);
	assert_non_null(validate_file(&f));   /* block devices */
	f.ftype = 0777;
	assert_non_null(validate_file(&f));
}

/* Devices from an allow list, by number and by a plain path in /dev. */
static void test_file_chr(void **state)
{
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_CHR, "/dev/urandom", O_RDONLY);
	static const unsigned ok[] = { 3, 5, 7, 8, 9 }, bad[] = { 1, 2, 4, 6, 11 };

	(void)state;
	assert_non_null(validate_file(&f));   /* no number */
	f.has_rdev = true;
	for (size_t i = 0; i < (sizeof(ok) / sizeof(ok[0])); i++) {
		f.rdev = makedev(1, ok[i]);
		assert_null(validate_file(&f));
	}
	for (size_t i = 0; i < (sizeof(bad) / sizeof(bad[0])); i++) {
		f.rdev = makedev(1, bad[i]);
		assert_non_null(validate_file(&f));
	}
	f.rdev = makedev(5, 0);               /* /dev/tty: FILE_CHR never */
	assert_non_null(validate_file(&f));
	f.rdev = makedev(136, 0);             /* a pty: its own kinds */
	assert_non_null(validate_file(&f));
	f.rdev = makedev(1, 9);
	f.path = "/tmp/urandom";
	assert_non_null(validate_file(&f));
	f.path = "/dev/../tmp/urandom";
	assert_non_null(validate_file(&f));
	f.path = "/dev/./urandom";
	assert_non_null(validate_file(&f));
	f.path = "/dev/..";
	assert_non_null(validate_file(&f));
	f.path = "/dev/..urandom";
	assert_null(validate_file(&f));
}

/* Restart opens what exists: never O_CREAT, O_EXCL, O_TRUNC, O_TMPFILE. */
static void test_file_create_flags(void **state)
{
	static const int bad[] = { O_CREAT, O_EXCL, O_TRUNC, O_TMPFILE, O_TMPFILE & ~O_DIRECTORY, O_CREAT | O_TRUNC };
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_REG, "/etc/passwd", O_RDWR);

	(void)state;
	assert_null(validate_file(&f));
	for (size_t i = 0; i < (sizeof(bad) / sizeof(bad[0])); i++) {
		f.flags = O_RDWR | bad[i];
		assert_non_null(validate_file(&f));
	}
	f.flags = O_RDWR;
	f.path = "/tmp/../etc/passwd";       /* the kernel's names are plain */
	assert_non_null(validate_file(&f));
	f.path = "/etc/./passwd";
	assert_non_null(validate_file(&f));
	f = file(CKPT__IMG__FILE_KIND__FILE_DIR, "/tmp", O_RDONLY | O_DIRECTORY);
	assert_null(validate_file(&f));       /* O_DIRECTORY alone is no O_TMPFILE */
	f = file(CKPT__IMG__FILE_KIND__FILE_GHOST, NULL, O_RDWR | O_TMPFILE);
	f.has_ghost_id = true;
	assert_non_null(validate_file(&f));
	f.flags = O_RDWR;
	assert_null(validate_file(&f));
}

static void test_file_objects(void **state)
{
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_PIPE, NULL, O_RDONLY);

	(void)state;
	assert_non_null(validate_file(&f));
	f.has_pipe_id = true;
	assert_null(validate_file(&f));
	f = file(CKPT__IMG__FILE_KIND__FILE_MEMFD, NULL, O_RDWR | LARGE);
	assert_non_null(validate_file(&f));
	f.has_shm_id = true;
	assert_null(validate_file(&f));
}

static void test_fifo_ghost(void **state)
{
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_FIFO, "/run/fifo", O_WRONLY | O_NONBLOCK);
	Ckpt__Img__Ghost g = CKPT__IMG__GHOST__INIT;

	(void)state;
	assert_non_null(validate_file(&f));          /* no pipe id */
	f.has_pipe_id = true;
	assert_null(validate_file(&f));
	f.path = "fifo";
	assert_non_null(validate_file(&f));          /* not absolute */
	f.path = NULL;
	assert_non_null(validate_file(&f));
	f = file(CKPT__IMG__FILE_KIND__FILE_GHOST, NULL, O_RDWR | O_APPEND);
	assert_non_null(validate_file(&f));          /* no ghost id */
	f.has_ghost_id = true;
	assert_null(validate_file(&f));
	f.flags = O_PATH;
	assert_non_null(validate_file(&f));

	g.path = "/tmp/x";
	g.size = 4096;
	g.mode = 0640;
	assert_null(validate_ghost(&g));
	g.mode = S_IFREG | 0640;
	assert_non_null(validate_ghost(&g));
	g.mode = 0640;
	g.size = CR_GHOST_MAX_SIZE + 1;
	assert_non_null(validate_ghost(&g));
	g.size = 0;
	g.has_mtime_ns = true;
	g.mtime_ns = -1;
	assert_non_null(validate_ghost(&g));
	g.mtime_ns = 1;
	assert_null(validate_ghost(&g));
	g.dir = true;
	assert_null(validate_ghost(&g));
	g.size = 1;
	assert_non_null(validate_ghost(&g));           /* a removed directory is empty */
	g.size = 0;
	g.path = "/";
	assert_non_null(validate_ghost(&g));
	g.path = "rel";
	assert_non_null(validate_ghost(&g));
}

static void test_fanotify(void **state)
{
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_FANOTIFY, NULL, O_RDONLY | O_NONBLOCK);
	Ckpt__Img__Fanotify g = CKPT__IMG__FANOTIFY__INIT;
	Ckpt__Img__FanotifyMark m[2] = { CKPT__IMG__FANOTIFY_MARK__INIT, CKPT__IMG__FANOTIFY_MARK__INIT };
	Ckpt__Img__FanotifyMark *v[2] = { &m[0], &m[1] };

	(void)state;
	assert_non_null(validate_file(&f));          /* no group */
	f.fanotify = &g;
	g.flags = FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC;
	g.event_flags = O_RDONLY | O_CLOEXEC;
	assert_null(validate_file(&f));              /* no marks */
	m[0].kind = CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_INODE;
	m[0].path = "/tmp/f";
	m[0].mask = FAN_MODIFY | FAN_CLOSE_WRITE;
	m[0].has_ftype = true;
	m[0].ftype = S_IFREG;
	m[1].kind = CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_MOUNT;
	m[1].path = "/";
	m[1].mask = FAN_CLOSE_WRITE;
	g.marks = v;
	g.n_marks = 2;
	assert_null(validate_file(&f));
	g.flags |= FAN_REPORT_FID;                   /* a report mode restart does not make */
	assert_non_null(validate_file(&f));
	g.flags &= ~FAN_REPORT_FID;
	g.event_flags = O_PATH;
	assert_non_null(validate_file(&f));
	g.event_flags = O_RDONLY;
	m[0].mask |= FAN_OPEN_PERM;                  /* permission events */
	assert_non_null(validate_file(&f));
	m[0].mask &= ~FAN_OPEN_PERM;
	m[1].has_ftype = true;                       /* a type on a mount mark */
	assert_non_null(validate_file(&f));
	m[1].has_ftype = false;
	m[1].kind = 7;
	assert_non_null(validate_file(&f));
	m[1].kind = CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_FILESYSTEM;
	m[1].path = "/tmp/../etc";
	assert_non_null(validate_file(&f));
	m[1].path = "/tmp";
	m[1].mflags = FAN_MARK_ONLYDIR;
	assert_non_null(validate_file(&f));
	m[1].mflags = FAN_MARK_IGNORED_SURV_MODIFY;
	assert_null(validate_file(&f));
	g.n_marks = CR_FANOTIFY_MAX_MARKS + 1;
	assert_non_null(validate_file(&f));
}

static void test_inotify(void **state)
{
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_INOTIFY, NULL, O_RDONLY | O_NONBLOCK);
	Ckpt__Img__InotifyWatch w[2] = { CKPT__IMG__INOTIFY_WATCH__INIT, CKPT__IMG__INOTIFY_WATCH__INIT };
	Ckpt__Img__InotifyWatch *v[2] = { &w[0], &w[1] };

	(void)state;
	assert_null(validate_file(&f));              /* no watches */
	w[0].wd = 1;
	w[0].mask = IN_CREATE | IN_ONESHOT;
	w[0].path = "/tmp";
	w[0].ftype = S_IFDIR;
	w[1] = w[0];
	w[1].wd = 5;
	w[1].path = "/tmp/f";
	w[1].ftype = S_IFREG;
	f.inotify_watches = v;
	f.n_inotify_watches = 2;
	assert_null(validate_file(&f));
	w[1].wd = 1;                                 /* not increasing */
	assert_non_null(validate_file(&f));
	w[1].wd = CR_INOTIFY_MAX_WD + 1;
	assert_non_null(validate_file(&f));
	w[1].wd = 5;
	w[1].mask = IN_MASK_ADD | IN_MODIFY;
	assert_non_null(validate_file(&f));
	w[1].mask = 0;
	assert_non_null(validate_file(&f));
	w[1].mask = IN_MODIFY;
	w[1].ftype = 0;
	assert_non_null(validate_file(&f));
	w[1].ftype = S_IFREG;
	w[1].path = "f";
	assert_non_null(validate_file(&f));
	w[1].path = "/tmp/f";
	f.flags = O_RDWR;
	assert_non_null(validate_file(&f));
	f.flags = O_RDONLY | O_CLOEXEC;
	assert_non_null(validate_file(&f));
	f.flags = O_RDONLY;
	w[0].wd = 0;
	assert_non_null(validate_file(&f));
}

/* A unix socket's record: names, connections, queue. */
static void test_unix_socket(void **state)
{
	Ckpt__Img__Socket s = CKPT__IMG__SOCKET__INIT;
	Ckpt__Img__UnixSock u = CKPT__IMG__UNIX_SOCK__INIT;
	Ckpt__Img__UnixMsg m = CKPT__IMG__UNIX_MSG__INIT, *q[1] = { &m };
	uint8_t path[] = "/tmp/sock", rel[] = "tmp/sock", abs[] = "\0name", nul[] = "/tmp/a\0b", long_path[120];
	uint32_t pending[1] = { 9 }, files[1] = { 0 };

	(void)state;
	s.family = AF_UNIX;
	s.type = SOCK_STREAM;
	assert_non_null(validate_socket(&s));   /* no family part */
	s.unx = &u;
	assert_non_null(validate_socket(&s));   /* no inode */
	u.ino = 7;
	u.state = 7;   /* TCP_CLOSE */
	assert_null(validate_socket(&s));
	u.has_name = true;
	u.name = (ProtobufCBinaryData){ sizeof(path) - 1, path };
	assert_null(validate_socket(&s));
	u.name = (ProtobufCBinaryData){ 6, abs };
	assert_null(validate_socket(&s));
	u.name = (ProtobufCBinaryData){ sizeof(rel) - 1, rel };
	assert_non_null(validate_socket(&s));
	u.name = (ProtobufCBinaryData){ sizeof(nul) - 1, nul };
	assert_non_null(validate_socket(&s));
	memset(long_path, 'a', sizeof(long_path));
	long_path[0] = '/';
	u.name = (ProtobufCBinaryData){ sizeof(long_path), long_path };
	assert_non_null(validate_socket(&s));
	u.name = (ProtobufCBinaryData){ sizeof(path) - 1, path };
	/* listening: a backlog, waiting clients, no peer or queue */
	u.state = 10;   /* TCP_LISTEN */
	assert_non_null(validate_socket(&s));
	u.has_backlog = true;
	u.n_pending = 1;
	u.pending = pending;
	assert_null(validate_socket(&s));
	pending[0] = 7;
	assert_non_null(validate_socket(&s));   /* waiting on itself */
	pending[0] = 9;
	u.has_peer = true;
	u.peer = 9;
	assert_non_null(validate_socket(&s));
	u.has_peer = false;
	u.state = 1;   /* TCP_ESTABLISHED */
	assert_non_null(validate_socket(&s));   /* waiting clients on a connected socket */
	u.has_backlog = false;
	u.n_pending = 0;
	u.has_peer = true;
	u.peer = 7;
	assert_non_null(validate_socket(&s));   /* its own peer */
	u.peer = 9;
	assert_null(validate_socket(&s));
	u.connect_peer = true;
	assert_non_null(validate_socket(&s));   /* by name: datagrams only */
	s.type = SOCK_DGRAM;
	assert_null(validate_socket(&s));
	/* the queue */
	u.n_queue = 1;
	u.queue = q;
	m.data = (ProtobufCBinaryData){ 3, path };
	assert_null(validate_socket(&s));
	m.has_addr = true;
	m.addr = (ProtobufCBinaryData){ sizeof(rel) - 1, rel };
	assert_non_null(validate_socket(&s));
	m.addr = (ProtobufCBinaryData){ 6, abs };
	assert_null(validate_socket(&s));
	m.has_pid = true;
	m.pid = 0;
	assert_non_null(validate_socket(&s));
	m.pid = 5;
	assert_null(validate_socket(&s));
	m.n_files = 1;
	m.files = files;
	assert_non_null(validate_socket(&s));   /* file id 0 */
	files[0] = 4;
	assert_null(validate_socket(&s));
	m.n_files = 254;
	assert_non_null(validate_socket(&s));   /* more than a message carries */
	m.n_files = 0;
	m.data = (ProtobufCBinaryData){ 3, NULL };
	assert_non_null(validate_socket(&s));
	m.data = (ProtobufCBinaryData){ 3, path };
	s.type = SOCK_STREAM;
	u.connect_peer = false;
	assert_non_null(validate_socket(&s));   /* a sender name on a stream */
	u.shutdown = 4;
	m.has_addr = false;
	assert_non_null(validate_socket(&s));
}

static void test_proc(void **state)
{
	static const char *const good[] = {
		"/proc/2/stat", "/proc/2/status", "/proc/17/fd", "/proc/17/task/18/stat", "/proc/17/fdinfo/3",
		"/proc/meminfo", "/proc/uptime", "/proc/sys/kernel/pid_max", "/proc/5/net/dev", "/proc/5", "/proc",
		NULL,
	};
	static const char *const bad[] = {
		"/proc/2/mem", "/proc/2/pagemap", "/proc/1/stat", "/proc/kcore", "/proc/kmsg", "/proc/sysrq-trigger",
		"/proc/2/../3/stat", "/proc//2/stat", "/proc/2/stat/", "/proc/02/stat", "/proc/2/clear_refs",
		"/procx/2/stat", "/sys/kernel", "/proc/2/task/x/stat", "/proc/2/map_files/1-2", "/proc/99999999/stat",
		"/proc/2/fd/3", NULL,
	};
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_PROC, NULL, O_RDONLY | LARGE);
	size_t i;

	(void)state;
	for (i = 0; good[i]; i++) {
		f.path = (char *)good[i];
		if (validate_file(&f))
			fail_msg("%s refused: %s", good[i], validate_file(&f));
	}
	for (i = 0; bad[i]; i++) {
		f.path = (char *)bad[i];
		if (!validate_file(&f))
			fail_msg("%s accepted", bad[i]);
	}
	/* writing: only the few a task may write to */
	assert_non_null(validate_proc_path("/proc/2/stat", O_RDWR));
	assert_non_null(validate_proc_path("/proc/sys/kernel/pid_max", O_WRONLY));
	assert_null(validate_proc_path("/proc/2/comm", O_RDWR));
	assert_null(validate_proc_path("/proc/2/stat", O_PATH | O_NOFOLLOW));
	assert_non_null(validate_proc_path("/proc/2/stat", O_PATH | O_RDWR));

	assert_int_equal(validate_proc_pid("/proc/2/stat"), 2);
	assert_int_equal(validate_proc_pid("/proc/17/task/18/stat"), 18);
	assert_int_equal(validate_proc_pid("/proc/meminfo"), 0);
}

static void test_shm(void **state)
{
	Ckpt__Img__Shm m = CKPT__IMG__SHM__INIT;

	(void)state;
	m.kind = CKPT__IMG__SHM_KIND__SHM_MEMFD;
	m.name = "x";
	m.size = 0;
	assert_null(validate_shm(&m));      /* an empty memfd */
	m.size = 5 * 4096 + 100;
	assert_null(validate_shm(&m));      /* not whole pages */
	m.size = CR_SHM_MAX_SIZE + 1;
	assert_non_null(validate_shm(&m));
	m.size = 4096;
	m.name = "a/b";
	assert_non_null(validate_shm(&m));
	m.name = NULL;
	assert_non_null(validate_shm(&m));
	m.name = "x";
	m.seals = 0x10000;
	assert_non_null(validate_shm(&m));
	m.seals = F_SEAL_SEAL | F_SEAL_WRITE;
	assert_null(validate_shm(&m));

	m.kind = CKPT__IMG__SHM_KIND__SHM_ANON;
	m.size = 0;
	assert_non_null(validate_shm(&m));  /* shared anonymous memory is whole pages */
	m.size = 100;
	assert_non_null(validate_shm(&m));
	m.size = 8192;
	assert_null(validate_shm(&m));
	m.kind = 7;
	assert_non_null(validate_shm(&m));
}

static void test_pipe_fds(void **state)
{
	Ckpt__Img__Pipe p = CKPT__IMG__PIPE__INIT;
	Ckpt__Img__Fd a = CKPT__IMG__FD__INIT, b = CKPT__IMG__FD__INIT, *v[2] = { &a, &b };
	Ckpt__Img__Fds m = CKPT__IMG__FDS__INIT;

	(void)state;
	p.size = 65536;
	p.data.len = 10;
	assert_null(validate_pipe(&p));
	p.data.len = 65537;
	assert_non_null(validate_pipe(&p));
	p.size = CR_PIPE_MAX_SIZE * 2;
	p.data.len = 0;
	assert_non_null(validate_pipe(&p));

	a.fd = 3;
	b.fd = 4;
	m.fds = v;
	m.n_fds = 2;
	assert_null(validate_fds(&m, 4));
	assert_non_null(validate_fds(&m, 3));   /* above the tree's max */
	b.fd = 3;
	assert_non_null(validate_fds(&m, 4));   /* listed twice */
	m.n_fds = CR_MAX_FDS + 1;
	assert_non_null(validate_fds(&m, 4));
}

static void test_tree(void **state)
{
	Ckpt__Img__TreeTask a = CKPT__IMG__TREE_TASK__INIT, b = CKPT__IMG__TREE_TASK__INIT, *v[2] = { &a, &b };
	Ckpt__Img__Tree t = CKPT__IMG__TREE__INIT;
	pid_t pid;

	(void)state;
	a = (Ckpt__Img__TreeTask){ .base = a.base, .pid = 2, .ppid = 1, .pgid = 2, .sid = 2, .exit_signal = SIGCHLD };
	b = (Ckpt__Img__TreeTask){ .base = b.base, .pid = 3, .ppid = 2, .pgid = 2, .sid = 2, .exit_signal = SIGCHLD };
	t.tasks = v;
	t.n_tasks = 2;
	t.max_fd = 10;
	assert_null(validate_tree(&t, 2, &pid));
	assert_non_null(validate_tree(&t, 3, &pid));   /* not the header's count */
	assert_int_equal(pid, 0);
	b.ppid = 4;
	assert_non_null(validate_tree(&t, 2, &pid));   /* no parent before it */
	assert_int_equal(pid, 3);
	b.ppid = 2;
	b.pid = 2;
	assert_non_null(validate_tree(&t, 2, &pid));   /* a pid twice */
	b.pid = 3;
	b.zombie = true;
	assert_non_null(validate_tree(&t, 2, &pid));   /* a zombie without a status */
	b.has_wait_status = true;
	b.wait_status = 0x0100;                        /* exit(1) */
	assert_null(validate_tree(&t, 2, &pid));
	t.max_fd = CR_MAX_FD_NR;
	assert_non_null(validate_tree(&t, 2, &pid));
}

/* Sessions and groups whose leader exited: helped anywhere; a group needs
 * a live member in its session; a stopped zombie is no state. */
static void test_tree_leaders(void **state)
{
	Ckpt__Img__TreeTask m = CKPT__IMG__TREE_TASK__INIT, e = CKPT__IMG__TREE_TASK__INIT, h = CKPT__IMG__TREE_TASK__INIT;
	Ckpt__Img__TreeTask *v[3] = { &m, &e, &h };
	Ckpt__Img__Tree t = CKPT__IMG__TREE__INIT;
	pid_t pid;

	(void)state;
	m = (Ckpt__Img__TreeTask){ .base = m.base, .pid = 2, .ppid = 1, .pgid = 2, .sid = 2, .exit_signal = SIGCHLD };
	/* E: below m, in session 4 whose leader exited */
	e = (Ckpt__Img__TreeTask){ .base = e.base, .pid = 5, .ppid = 2, .pgid = 4, .sid = 4, .exit_signal = SIGCHLD };
	/* H: in group 7 whose leader exited */
	h = (Ckpt__Img__TreeTask){ .base = h.base, .pid = 8, .ppid = 2, .pgid = 7, .sid = 2, .exit_signal = SIGCHLD };
	t.tasks = v;
	t.n_tasks = 3;
	t.max_fd = 10;
	assert_null(validate_tree(&t, 3, &pid));
	assert_int_equal(tree_group_creator(&t, 7), 2);
	assert_true(tree_id_used(&t, 5));
	assert_false(tree_id_used(&t, 7));
	e.pgid = 7;                                    /* group 7 across sessions 4 and 2 */
	assert_non_null(validate_tree(&t, 3, &pid));
	assert_int_equal(pid, 8);
	e.pgid = 4;
	h.pgid = 5;                                    /* E leads no group of its own */
	assert_non_null(validate_tree(&t, 3, &pid));
	h.pgid = 7;
	h.zombie = h.has_wait_status = true;           /* only a zombie left in group 7 */
	h.wait_status = 0;
	assert_non_null(validate_tree(&t, 3, &pid));
	h.zombie = false;
	h.stopped = true;
	assert_null(validate_tree(&t, 3, &pid));
	h.zombie = true;
	assert_non_null(validate_tree(&t, 3, &pid));   /* stopped zombie */
}

static void test_mm(void **state)
{
	Ckpt__Img__Vma a = CKPT__IMG__VMA__INIT, b = CKPT__IMG__VMA__INIT, *v[2] = { &a, &b };
	Ckpt__Img__Mm mm = CKPT__IMG__MM__INIT;
	size_t i;

	(void)state;
	a.start = 0x400000;
	a.end = 0x401000;
	a.prot = PROT_READ;
	a.flags = MAP_PRIVATE;
	a.kind = CKPT__IMG__VMA_KIND__VMA_ANON;
	b = a;
	b.start = 0x500000;
	b.end = 0x502000;
	mm.vmas = v;
	mm.n_vmas = 2;
	assert_null(validate_mm(&mm, &i));
	b.start = 0x400800;
	assert_non_null(validate_mm(&mm, &i));   /* overlapping, unaligned */
	assert_int_equal(i, 1);
	b.start = 0x500000;
	b.kind = CKPT__IMG__VMA_KIND__VMA_MEMFD;
	b.flags = MAP_SHARED;
	assert_non_null(validate_mm(&mm, &i));   /* no object */
	b.has_shm_id = b.has_pgoff = true;
	assert_null(validate_mm(&mm, &i));
	b.kind = CKPT__IMG__VMA_KIND__VMA_FILE_SHARED;
	assert_non_null(validate_mm(&mm, &i));   /* no path */
	b.path = "/lib/x.so";
	assert_null(validate_mm(&mm, &i));
	b.locked = b.lock_onfault = true;
	assert_null(validate_mm(&mm, &i));
	b.locked = false;
	assert_non_null(validate_mm(&mm, &i));   /* on fault, not locked */
	b.locked = b.lock_onfault = false;
	a.kind = CKPT__IMG__VMA_KIND__VMA_VDSO;
	a.locked = true;
	assert_non_null(validate_mm(&mm, &i));   /* a locked vDSO */
	a.kind = CKPT__IMG__VMA_KIND__VMA_ANON;
	a.locked = false;
	mm.n_vmas = 0;
	assert_non_null(validate_mm(&mm, &i));
}

/* Credentials and seccomp of a thread whose registers are sane. */
static void test_thread_state(void **state)
{
	Ckpt__Img__Thread th = CKPT__IMG__THREAD__INIT;
	Ckpt__Img__Creds c = CKPT__IMG__CREDS__INIT;
	Ckpt__Img__SeccompFilter f = CKPT__IMG__SECCOMP_FILTER__INIT, *fp[1] = { &f };
	struct user_regs_struct regs = { .cs = 0x33, .ss = 0x2b, .rip = 0x401000, .rsp = 0x7ffd0000 };
	uint32_t ids[4] = { 65534, 65534, 65534, 65534 }, groups[65] = { 0 };
	uint8_t xs[1024] = { 0 }, prog[16] = { 0 };
	char buf[128];

	(void)state;
	th.regs.data = (uint8_t *)&regs;
	th.regs.len = sizeof(regs);
	th.xstate.data = xs;
	th.xstate.len = sizeof(xs);
	th.comm = "t";
	assert_null(validate_thread(&th, buf, sizeof(buf)));
	c.uid = c.gid = ids;
	c.n_uid = c.n_gid = 4;
	c.has_cap_inh = c.has_cap_prm = c.has_cap_eff = c.has_cap_bnd = c.has_cap_amb = true;
	c.cap_prm = c.cap_eff = 0x400;
	th.creds = &c;
	assert_null(validate_thread(&th, buf, sizeof(buf)));
	c.cap_eff = 0x401;                        /* effective beyond permitted */
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
	c.cap_eff = 0x400;
	c.cap_amb = 0x400;                        /* ambient, not inheritable */
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
	c.cap_amb = 0;
	c.n_uid = 3;
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
	c.n_uid = 4;
	c.groups = groups;
	c.n_groups = 65;
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
	c.n_groups = 64;
	assert_null(validate_thread(&th, buf, sizeof(buf)));

	f.prog.data = prog;
	f.prog.len = sizeof(prog);
	th.has_seccomp_mode = true;
	th.seccomp_mode = 2;
	th.seccomp_filters = fp;
	th.n_seccomp_filters = 1;
	assert_null(validate_thread(&th, buf, sizeof(buf)));
	f.prog.len = 12;                          /* not whole instructions */
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
	f.prog.len = sizeof(prog);
	f.flags = 1;                              /* TSYNC is restart's to choose */
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
	f.flags = 0;
	th.seccomp_mode = 1;                      /* strict, with filters */
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
	th.n_seccomp_filters = 0;
	assert_null(validate_thread(&th, buf, sizeof(buf)));
	th.seccomp_mode = 3;
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
	th.has_seccomp_mode = false;
	th.n_seccomp_filters = 1;                 /* filters without a mode */
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
}

/* An undo list: bounded, non-zero adjustments, one per semaphore. */
static void test_task_sem_undo(void **state)
{
	Ckpt__Img__Task t = CKPT__IMG__TASK__INIT;
	Ckpt__Img__MmInfo mm = CKPT__IMG__MM_INFO__INIT;
	Ckpt__Img__SemUndo u[2] = { CKPT__IMG__SEM_UNDO__INIT, CKPT__IMG__SEM_UNDO__INIT }, *up[2] = { &u[0], &u[1] };
	struct user_regs_struct regs = { .cs = 0x33, .ss = 0x2b, .rip = 0x401000, .rsp = 0x7ffd0000 };
	uint8_t xs[1024] = { 0 };
	char buf[128];

	(void)state;
	t.regs.data = (uint8_t *)&regs;
	t.regs.len = sizeof(regs);
	t.xstate.data = xs;
	t.xstate.len = sizeof(xs);
	t.comm = "t";
	t.cwd = "/";
	mm.exe = "/bin/t";
	t.mm = &mm;
	assert_null(validate_task(&t, buf, sizeof(buf)));
	u[0].semid = 3;
	u[0].num = 0;
	u[0].adj = 1;
	u[1].semid = 3;
	u[1].num = 1;
	u[1].adj = -32767;
	t.sem_undo = up;
	t.n_sem_undo = 2;
	assert_null(validate_task(&t, buf, sizeof(buf)));
	u[1].num = 0;                             /* two entries for one semaphore */
	assert_non_null(validate_task(&t, buf, sizeof(buf)));
	u[1].num = 1024;                          /* beyond any set */
	assert_non_null(validate_task(&t, buf, sizeof(buf)));
	u[1].num = 1;
	u[1].adj = -32768;                        /* beyond SEMVMX */
	assert_non_null(validate_task(&t, buf, sizeof(buf)));
	u[1].adj = 0;                             /* nothing to undo */
	assert_non_null(validate_task(&t, buf, sizeof(buf)));
	u[1].adj = 2;
	u[1].semid = -1;
	assert_non_null(validate_task(&t, buf, sizeof(buf)));
}

static void test_thread(void **state)
{
	Ckpt__Img__Thread th = CKPT__IMG__THREAD__INIT;
	uint8_t regs[4096] = { 0 }, xs[1024] = { 0 };
	char buf[128];

	(void)state;
	th.regs.data = regs;
	th.regs.len = 3;                          /* not a register set */
	th.xstate.data = xs;
	th.xstate.len = sizeof(xs);
	th.comm = "t";
	assert_non_null(validate_thread(&th, buf, sizeof(buf)));
}

/* An incremental image's parent: a store id, with its digest. */
static void test_header_parent(void **state)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	const char *bad[] = { "", "0", "01", "1a", "../1", "123456789012345678901" };

	(void)state;
	assert_null(validate_header_ns(&h));
	h.parent_id = "12";
	assert_non_null(validate_header_ns(&h));    /* no digest */
	h.has_parent_digest = true;
	h.parent_digest = 0x1234;
	assert_null(validate_header_ns(&h));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h.parent_id = (char *)bad[i];
		assert_non_null(validate_header_ns(&h));
	}
	h.parent_id = NULL;
	assert_non_null(validate_header_ns(&h));    /* a digest without a parent */
}

static void test_header_limits(void **state)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;

	(void)state;
	h.has_limit_memory = h.has_limit_pids = h.has_limit_cpus_milli = true;
	h.limit_memory = 64ull << 20;
	h.limit_pids = 20;
	h.limit_cpus_milli = 500;
	assert_null(validate_header_ns(&h));
	h.limit_memory = 4095;
	assert_non_null(validate_header_ns(&h));
	h.limit_memory = 64ull << 20;
	h.limit_pids = 0;
	assert_non_null(validate_header_ns(&h));
	h.limit_pids = 4194305;
	assert_non_null(validate_header_ns(&h));
	h.limit_pids = 20;
	h.limit_cpus_milli = 0;
	assert_non_null(validate_header_ns(&h));
}

static void test_header_ns(void **state)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	Ckpt__Img__SysvSem a = CKPT__IMG__SYSV_SEM__INIT, b = CKPT__IMG__SYSV_SEM__INIT;
	Ckpt__Img__SysvSem *sems[] = { &a, &b };
	uint32_t va[] = { 1, 32767 }, vb[] = { 0 };
	char name[80];

	(void)state;
	assert_null(validate_header_ns(&h));
	h.uts_nodename = "box";
	h.has_clock_monotonic_ns = h.has_clock_boottime_ns = true;
	h.clock_monotonic_ns = 5;
	h.clock_boottime_ns = 7;
	assert_null(validate_header_ns(&h));
	memset(name, 'a', 65);
	name[65] = 0;
	h.uts_nodename = name;
	assert_non_null(validate_header_ns(&h));
	name[64] = 0;
	assert_null(validate_header_ns(&h));
	h.has_clock_boottime_ns = false;
	assert_non_null(validate_header_ns(&h));
	h.has_clock_boottime_ns = true;
	h.clock_monotonic_ns = CR_CLOCK_MAX_NS;
	assert_non_null(validate_header_ns(&h));
	h.clock_monotonic_ns = 5;

	a.key = 0x31;
	a.id = 0;
	a.mode = 0640;
	a.n_values = 2;
	a.values = va;
	b.key = 0;
	b.id = 32768;
	b.mode = 0600;
	b.n_values = 1;
	b.values = vb;
	h.sysv_sems = sems;
	h.n_sysv_sems = 2;
	assert_null(validate_header_ns(&h));
	va[1] = 32768;
	assert_non_null(validate_header_ns(&h));
	va[1] = 1;
	b.id = 0;
	assert_non_null(validate_header_ns(&h));
	b.id = 1;
	b.key = 0x31;
	assert_non_null(validate_header_ns(&h));
	b.key = 0;
	b.mode = 01777;
	assert_non_null(validate_header_ns(&h));
	b.mode = 0600;
	b.n_values = 0;
	assert_non_null(validate_header_ns(&h));
	b.n_values = CR_SEM_MAX_NSEMS + 1;
	assert_non_null(validate_header_ns(&h));
	b.n_values = 1;
	a.id = -1;
	assert_non_null(validate_header_ns(&h));
	a.id = 0;
	assert_null(validate_header_ns(&h));
}

/* A private network's veth addresses must be a /30 of ckptd's range. */
static void test_net(void **state)
{
	Ckpt__Img__NetConfig n = CKPT__IMG__NET_CONFIG__INIT;
	Ckpt__Img__NetPublish a = CKPT__IMG__NET_PUBLISH__INIT, b = CKPT__IMG__NET_PUBLISH__INIT;
	Ckpt__Img__NetPublish *pubs[] = { &a, &b };
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;

	(void)state;
	n.mode = CR_NET_MODE_HOST;
	assert_null(validate_net(&n));
	n.mode = CR_NET_MODE_PRIVATE;
	assert_null(validate_net(&n));
	n.mode = 3;
	assert_non_null(validate_net(&n));
	n.mode = CR_NET_MODE_PRIVATE;
	a.host_port = 8080;
	a.port = 80;
	a.protocol = IPPROTO_TCP;
	b.host_port = 8080;
	b.port = 53;
	b.protocol = IPPROTO_UDP;
	n.publish = pubs;
	n.n_publish = 2;
	assert_non_null(validate_net(&n));          /* ports without addresses */
	n.has_address = n.has_host_address = n.has_prefix_len = true;
	n.address = CR_NET_RANGE_BASE + 6;
	n.host_address = CR_NET_RANGE_BASE + 5;
	n.prefix_len = CR_NET_PREFIX_LEN;
	assert_null(validate_net(&n));
	h.net = &n;
	assert_null(validate_header_ns(&h));
	b.protocol = IPPROTO_TCP;                   /* 8080/tcp twice */
	assert_non_null(validate_net(&n));
	assert_non_null(validate_header_ns(&h));
	b.protocol = IPPROTO_ICMP;
	assert_non_null(validate_net(&n));
	b.protocol = IPPROTO_UDP;
	b.port = 0;
	assert_non_null(validate_net(&n));
	b.port = 65536;
	assert_non_null(validate_net(&n));
	b.port = 53;
	n.address = 0xc0a80102;                     /* 192.168.1.2: not ckptd's */
	n.host_address = 0xc0a80101;
	assert_non_null(validate_net(&n));
	n.address = CR_NET_RANGE_BASE + 2;          /* the range's first /30 is never given */
	n.host_address = CR_NET_RANGE_BASE + 1;
	assert_non_null(validate_net(&n));
	n.address = CR_NET_RANGE_BASE + 6;
	n.host_address = CR_NET_RANGE_BASE + 9;     /* gateway in another /30 */
	assert_non_null(validate_net(&n));
	n.host_address = CR_NET_RANGE_BASE + 5;
	n.prefix_len = 24;
	assert_non_null(validate_net(&n));
	n.prefix_len = CR_NET_PREFIX_LEN;
	n.mode = CR_NET_MODE_HOST;                  /* the host's, with a veth */
	assert_non_null(validate_net(&n));
	n.mode = CR_NET_MODE_PRIVATE;
	n.n_publish = CR_NET_MAX_PUBLISH + 1;
	assert_non_null(validate_net(&n));
	n.n_publish = 2;
	assert_null(validate_net(&n));
}

static void test_pty(void **state)
{
	Ckpt__Img__File f = file(CKPT__IMG__FILE_KIND__FILE_PTY_SLAVE, NULL, O_RDWR | LARGE | O_NONBLOCK);
	Ckpt__Img__Pty m = CKPT__IMG__PTY__INIT;
	uint8_t cc[NCCS] = { 0 }, nul = 0;
	uint32_t lines[2] = { 5, 0 };

	(void)state;
	assert_non_null(validate_file(&f));   /* no index */
	f.has_pty_index = true;
	f.pty_index = CR_PTY_MAX_INDEX + 1;
	assert_non_null(validate_file(&f));
	f.pty_index = 3;
	assert_null(validate_file(&f));
	f.flags |= O_DIRECT;
	assert_non_null(validate_file(&f));
	f.flags = O_RDONLY;
	f.kind = CKPT__IMG__FILE_KIND__FILE_PTY_MASTER;
	assert_non_null(validate_file(&f));   /* a master is read-write */
	f.flags = O_RDWR;
	assert_null(validate_file(&f));

	f.pty = &m;
	m.index = 3;
	m.cc = (ProtobufCBinaryData){ NCCS, cc };
	m.rows = 24;
	m.cols = 80;
	assert_null(validate_file(&f));
	m.index = 4;
	assert_non_null(validate_file(&f));   /* another pty's state */
	m.index = 3;
	m.cc.len = NCCS - 1;
	assert_non_null(validate_file(&f));
	m.cc.len = NCCS;
	m.cols = 0x10000;
	assert_non_null(validate_file(&f));
	m.cols = 80;
	m.to_master.len = CR_PTY_MAX_DATA + 1;
	assert_non_null(validate_file(&f));
	m.to_master.len = 0;
	m.master_path = "/dev/pts/../../etc/passwd";
	assert_non_null(validate_file(&f));
	m.master_path = "/dev/ptmx";
	assert_null(validate_file(&f));
	m.to_slave_eof = true;                /* an end-of-file is one NUL, canonical */
	assert_non_null(validate_file(&f));
	m.to_slave = (ProtobufCBinaryData){ 1, &nul };
	assert_non_null(validate_file(&f));
	m.lflag = ICANON;
	assert_null(validate_file(&f));
	/* complete lines in canonical mode: within to_slave, bounded */
	m.to_slave_eof = false;
	m.n_to_slave_lines = 2;
	m.to_slave_lines = lines;
	assert_non_null(validate_file(&f));   /* 5 bytes of lines in 1 */
	lines[0] = 1;
	assert_null(validate_file(&f));
	m.lflag = 0;
	assert_non_null(validate_file(&f));   /* not canonical */
	m.lflag = ICANON;
	lines[1] = CR_PTY_MAX_CANON + 1;
	assert_non_null(validate_file(&f));
	lines[1] = 0;
	m.n_to_slave_lines = CR_PTY_MAX_CANON + 1;
	assert_non_null(validate_file(&f));
	m.n_to_slave_lines = 2;
	m.to_slave_eof = true;
	assert_non_null(validate_file(&f));   /* not both forms */
}

static void test_header_tty(void **state)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	Ckpt__Img__Ctty a = CKPT__IMG__CTTY__INIT, b = CKPT__IMG__CTTY__INIT, *v[] = { &a, &b };

	(void)state;
	assert_null(validate_header_tty(&h));
	h.has_console_pty = true;
	h.console_pty = CR_PTY_MAX_INDEX + 1;
	assert_non_null(validate_header_tty(&h));
	h.console_pty = 0;
	a.sid = 2;
	a.index = 0;
	b.sid = 7;
	b.index = 1;
	b.has_fg_pgrp = true;
	b.fg_pgrp = 9;
	h.cttys = v;
	h.n_cttys = 2;
	assert_null(validate_header_tty(&h));
	b.sid = 2;
	assert_non_null(validate_header_tty(&h));   /* one session, two terminals */
	b.sid = 1;
	assert_non_null(validate_header_tty(&h));   /* init's session is not the image's */
	b.sid = 7;
	b.fg_pgrp = -1;
	assert_non_null(validate_header_tty(&h));
	b.fg_pgrp = 9;
	b.index = CR_PTY_MAX_INDEX + 1;
	assert_non_null(validate_header_tty(&h));
}

static void test_header_queues(void **state)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	Ckpt__Img__SysvMsq q = CKPT__IMG__SYSV_MSQ__INIT, *qs[] = { &q };
	Ckpt__Img__SysvMsg m1 = CKPT__IMG__SYSV_MSG__INIT, *ms[] = { &m1 };
	Ckpt__Img__PosixMq p = CKPT__IMG__POSIX_MQ__INIT, *ps[] = { &p };
	Ckpt__Img__PosixMqMsg a = CKPT__IMG__POSIX_MQ_MSG__INIT, b = CKPT__IMG__POSIX_MQ_MSG__INIT, *pm[] = { &a, &b };
	char *sysctls[] = { "kernel/msgmnb=16384", "kernel/sem=32000\t1024000000\t500\t32000" };
	Ckpt__Img__SysvShm s = CKPT__IMG__SYSV_SHM__INIT;

	(void)state;
	q = (Ckpt__Img__SysvMsq){ .base = q.base, .key = 0x33, .id = 32768, .mode = 0620, .qbytes = 8000, .n_msgs = 1, .msgs = ms };
	m1.mtype = 2;
	m1.text.data = (uint8_t *)"two";
	m1.text.len = 3;
	p = (Ckpt__Img__PosixMq){ .base = p.base, .name = "q", .mode = 0640, .maxmsg = 12, .msgsize = 128, .n_msgs = 2, .msgs = pm };
	a.prio = 5;
	a.data.data = (uint8_t *)"urgent";
	a.data.len = 6;
	b.prio = 1;
	b.data.data = (uint8_t *)"x";
	b.data.len = 1;
	h.sysv_msqs = qs;
	h.n_sysv_msqs = 1;
	h.posix_mqs = ps;
	h.n_posix_mqs = 1;
	h.ipc_sysctls = sysctls;
	h.n_ipc_sysctls = 2;
	assert_null(validate_header_ns(&h));
	m1.mtype = 0;
	assert_non_null(validate_header_ns(&h));       /* mtype below 1 */
	m1.mtype = 2;
	q.qbytes = 2;
	assert_non_null(validate_header_ns(&h));       /* more bytes than it holds */
	q.qbytes = 8000;
	b.prio = 6;
	assert_non_null(validate_header_ns(&h));       /* not in receive order */
	b.prio = 1;
	b.data.len = 129;
	assert_non_null(validate_header_ns(&h));       /* above msgsize */
	b.data.len = 1;
	p.name = "../q";
	assert_non_null(validate_header_ns(&h));
	p.name = "q";
	p.maxmsg = 2;
	assert_non_null(validate_header_ns(&h));       /* full: never saved */
	p.maxmsg = 12;
	sysctls[0] = "kernel/core_pattern=|/x";
	assert_non_null(validate_header_ns(&h));
	sysctls[0] = "kernel/msgmnb=1;2";
	assert_non_null(validate_header_ns(&h));
	sysctls[0] = "kernel/sem=1";
	assert_non_null(validate_header_ns(&h));       /* twice */
	sysctls[0] = "kernel/msgmnb=16384";
	assert_null(validate_header_ns(&h));

	s = (Ckpt__Img__SysvShm){ .base = s.base, .key = 0x32, .id = 32768, .mode = 0640, .size = 12388 };
	assert_null(validate_sysv_shm(&s));
	s.removed = true;
	assert_non_null(validate_sysv_shm(&s));        /* removed keeps no key */
	s.key = 0;
	assert_null(validate_sysv_shm(&s));
	s.size = 0;
	assert_non_null(validate_sysv_shm(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_file_paths),
		cmocka_unit_test(test_file_opath),
		cmocka_unit_test(test_file_chr),
		cmocka_unit_test(test_file_create_flags),
		cmocka_unit_test(test_file_evfds),
		cmocka_unit_test(test_file_objects),
		cmocka_unit_test(test_fifo_ghost),
		cmocka_unit_test(test_inotify),
		cmocka_unit_test(test_fanotify),
		cmocka_unit_test(test_unix_socket),
		cmocka_unit_test(test_proc),
		cmocka_unit_test(test_shm),
		cmocka_unit_test(test_pipe_fds),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_tree_leaders),
		cmocka_unit_test(test_mm),
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_task_sem_undo),
		cmocka_unit_test(test_header_ns),
		cmocka_unit_test(test_header_parent),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_pty),
		cmocka_unit_test(test_header_tty),
		cmocka_unit_test(test_header_queues),
		cmocka_unit_test(test_thread_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
