// SPDX-License-Identifier: GPL-2.0-or-later
/* fanmarks: a fanotify group (FAN_CLASS_NOTIF, FAN_NONBLOCK, event fds
 * O_RDONLY|O_CLOEXEC) with three marks in its cwd: fan-file
 * (FAN_MODIFY|FAN_CLOSE_WRITE), the directory fan-dir (FAN_MODIFY with
 * FAN_EVENT_ON_CHILD) and fan-dir/quiet, whose ignored mask (FAN_MODIFY,
 * surviving modification) keeps its writes quiet. Needs CAP_SYS_ADMIN.
 * SIGUSR2: the group's fdinfo (flags, event flags, every mark with its
 * inode, flags, mask and ignored mask) is what it was; a checker child
 * writes fan-file, fan-dir/child and fan-dir/quiet, and the group reads,
 * from that child: fan-file with FAN_MODIFY and FAN_CLOSE_WRITE,
 * fan-dir/child with FAN_MODIFY alone, and nothing else:
 * "PASS fanmarks n=<checks> marks=<count>".
 * fanmarks queued: writes fan-file itself before READY and never reads
 * the events (a checkpoint must refuse it).
 * fanmarks mount: also a mount mark (FAN_CLOSE_WRITE) on its root's mount:
 * the checker's writes give FAN_CLOSE_WRITE on fan-dir/child and
 * fan-dir/quiet too (fdinfo's mount id is a new one after restart). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "wl.h"

static char fdinfo0[4096];
static bool mount_mark;

/* The fanotify lines of fd's fdinfo. */
static int fan_lines(int fd, char *out, size_t len)
{
	char path[64], line[512];
	FILE *f;
	size_t n = 0;
	int marks = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		fail("fdinfo: %m\n");
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "fanotify ", 9))
			continue;
		marks += !strncmp(line, "fanotify ino:", 13) || !strncmp(line, "fanotify mnt_id:", 16);
		/* a mount's id is its own: the next one is another */
		if (!strncmp(line, "fanotify mnt_id:", 16))
			n += snprintf(out + n, len - n, "fanotify mnt_id:*%s", strchr(line + 16, ' ') ? strchr(line + 16, ' ') : "\n");
		else
			n += snprintf(out + n, len - n, "%s", line);
		if (n >= len)
			fail("fdinfo too long\n");
	}
	fclose(f);
	return marks;
}

static void checker(void)
{
	static const char *const files[] = { "fan-file", "fan-dir/child", "fan-dir/quiet" };

	for (size_t i = 0; i < 3; i++) {
		int fd = open(files[i], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, "x", 1) != 1)
			_exit(1);
		close(fd);
	}
	_exit(0);
}

static void check_events(int g, pid_t child)
{
	char buf[8192] __attribute__((aligned(8))), path[64], name[512];
	uint64_t file_mask = 0, child_mask = 0, quiet_mask = 0;
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	/* events come at once; a few rounds for any late one */
	for (int round = 0; round < 20; round++) {
		ssize_t n = read(g, buf, sizeof(buf));
		struct fanotify_event_metadata *md = (struct fanotify_event_metadata *)buf;

		if (n < 0 && errno != EAGAIN)
			fail("reading events: %m\n");
		for (; n > 0 && FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
			ssize_t l;
			const char *base;

			if (md->vers != FANOTIFY_METADATA_VERSION || md->fd < 0)
				fail("event: version %u fd %d\n", md->vers, md->fd);
			snprintf(path, sizeof(path), "/proc/self/fd/%d", md->fd);
			l = readlink(path, name, sizeof(name) - 1);
			close(md->fd);
			name[l > 0 ? l : 0] = 0;
			/* a mount mark sees the whole container's writes */
			if (md->pid != child && mount_mark)
				continue;
			if (md->pid != child)
				fail("event %#llx on %s from pid %d, not the checker %d\n", (unsigned long long)md->mask, name,
				     md->pid, child);
			base = strrchr(name, '/');
			base = base ? base + 1 : name;
			if (!strcmp(base, "fan-file"))
				file_mask |= md->mask;
			else if (!strcmp(base, "child") && strstr(name, "/fan-dir/"))
				child_mask |= md->mask;
			else if (!strcmp(base, "quiet") && strstr(name, "/fan-dir/") && mount_mark)
				quiet_mask |= md->mask;
			else
				fail("event %#llx on %s: no mark asks for it\n", (unsigned long long)md->mask, name);
		}
		nanosleep(&ts, NULL);
	}
	if (file_mask != (FAN_MODIFY | FAN_CLOSE_WRITE))
		fail("fan-file: events %#llx, not FAN_MODIFY|FAN_CLOSE_WRITE\n", (unsigned long long)file_mask);
	if (child_mask != (mount_mark ? FAN_MODIFY | FAN_CLOSE_WRITE : FAN_MODIFY))
		fail("fan-dir/child: events %#llx, not FAN_MODIFY%s\n", (unsigned long long)child_mask, mount_mark ? "|FAN_CLOSE_WRITE" : "");
	if (quiet_mask != (mount_mark ? FAN_CLOSE_WRITE : 0))
		fail("fan-dir/quiet: events %#llx, not %s\n", (unsigned long long)quiet_mask, mount_mark ? "FAN_CLOSE_WRITE" : "none");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	char now[4096];
	unsigned n = 0;
	int g, marks, st;
	pid_t child;

	sigaction(SIGUSR2, &sa, NULL);
	if ((mkdir("fan-dir", 0755) && errno != EEXIST) || close(open("fan-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) ||
	    close(open("fan-dir/quiet", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)))
		fail("making the files: %m\n");
	g = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
	if (g < 0)
		fail("fanotify_init: %m\n");
	if (fanotify_mark(g, FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD, "fan-file") ||
	    fanotify_mark(g, FAN_MARK_ADD | FAN_MARK_ONLYDIR, FAN_MODIFY | FAN_EVENT_ON_CHILD, AT_FDCWD, "fan-dir") ||
	    fanotify_mark(g, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_MODIFY, AT_FDCWD,
			  "fan-dir/quiet"))
		fail("fanotify_mark: %m\n");
	mount_mark = argc > 1 && !strcmp(argv[1], "mount");
	if (mount_mark && fanotify_mark(g, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, AT_FDCWD, "/"))
		fail("fanotify_mark (mount): %m\n");
	marks = fan_lines(g, fdinfo0, sizeof(fdinfo0));
	if (marks != 3 + mount_mark)
		fail("%d marks in fdinfo, not %d:\n%s", marks, 3 + mount_mark, fdinfo0);
	if (argc > 1 && !strcmp(argv[1], "queued")) {
		int fd = open("fan-file", O_WRONLY | O_APPEND | O_CLOEXEC);

		if (fd < 0 || write(fd, "q", 1) != 1)
			fail("writing fan-file: %m\n");
		close(fd);
	}
	say("READY fanmarks\n");
	for (;;) {
		pause();
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		fan_lines(g, now, sizeof(now));
		if (strcmp(now, fdinfo0))
			fail("the group is not what it was:\n%swas\n%s", now, fdinfo0);
		child = fork();
		if (child < 0)
			fail("fork: %m\n");
		if (child == 0)
			checker();
		if (waitpid(child, &st, 0) != child || st)
			fail("the checker failed (%#x)\n", st);
		check_events(g, child);
		say("PASS fanmarks n=%u marks=%d\n", ++n, marks);
	}
}
