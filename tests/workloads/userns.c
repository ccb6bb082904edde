// SPDX-License-Identifier: GPL-2.0-or-later
/* userns: a workload of a `run --userns` container, checked from inside.
 *
 *   userns base=N hostfile=PATH [name=HOST]
 *     base=N      /proc/self/uid_map and gid_map are "0 N 65536"
 *     hostfile=P  a host file of root's (0644): opening it for writing
 *                 must fail with EACCES, though we are root inside
 *     name=HOST   set as the hostname at start (CAP_SYS_ADMIN of its own
 *                 user namespace, over its own UTS namespace) and kept
 * At start it also chowns a file of its own (in $PWD, made here) to
 * 1000:1000 (CAP_CHOWN inside) and forks a child that becomes uid and gid
 * 1000. At start and on SIGUSR2 it checks: it is uid and gid 0 (all four),
 * the maps, the host file, the hostname, the file's owner, and the child
 * is still uid and gid 1000 (it checks itself, answers on a pipe):
 * "PASS userns ..." or "FAIL ..." naming the first breach. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "wl.h"

static unsigned long base;
static const char *hostfile, *hostname;
static char ownfile[80];
static int ask_w, answer_r;

static void check_map(const char *which)
{
	char path[32], buf[128];
	unsigned long in, out, count;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/%s", which);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("%s: %s\n", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		fail("%s: empty\n", path);
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu %lu", &in, &out, &count) != 3 || in != 0 || out != base || count != 65536 ||
	    strchr(buf, '\n') != buf + n - 1)
		fail("%s is '%s', want '0 %lu 65536'\n", which, buf, base);
}

static void check_ids(uid_t want)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;

	if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0)
		fail("getresuid: %s\n", strerror(errno));
	if (r != want || e != want || s != want || gr != want || ge != want || gs != want)
		fail("ids %u %u %u / %u %u %u, want %u\n", r, e, s, gr, ge, gs, want);
}

static _Noreturn void child(int ask_r, int answer_w)
{
	char c;

	if (setgroups(0, NULL) < 0 || setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		fail("child: becoming uid 1000: %s\n", strerror(errno));
	for (;;) {
		if (read(ask_r, &c, 1) != 1)
			_exit(0);
		check_ids(1000);
		if (write(answer_w, "y", 1) != 1)
			_exit(1);
	}
}

static void verify(void)
{
	struct utsname u;
	struct stat st;
	char c;
	int fd;

	check_ids(0);
	check_map("uid_map");
	check_map("gid_map");
	fd = open(hostfile, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES)
		fail("%s (root's, 0644): opened for writing: %s\n", hostfile, fd >= 0 ? "it worked" : strerror(errno));
	if (hostname && (uname(&u) < 0 || strcmp(u.nodename, hostname)))
		fail("hostname '%s', want '%s'\n", u.nodename, hostname);
	if (stat(ownfile, &st) < 0 || st.st_uid != 1000 || st.st_gid != 1000)
		fail("%s: owner %u:%u, want 1000:1000\n", ownfile, st.st_uid, st.st_gid);
	if (write(ask_w, "?", 1) != 1 || read(answer_r, &c, 1) != 1 || c != 'y')
		fail("the uid-1000 child did not answer\n");
	say("PASS userns base=%lu\n", base);
}

int main(int argc, char **argv)
{
	int ask[2], answer[2], fd, i;

	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "base=", 5))
			base = strtoul(argv[i] + 5, NULL, 10);
		else if (!strncmp(argv[i], "hostfile=", 9))
			hostfile = argv[i] + 9;
		else if (!strncmp(argv[i], "name=", 5))
			hostname = argv[i] + 5;
	}
	if (!base || !hostfile)
		fail("usage: userns base=N hostfile=PATH [name=HOST]\n");
	signal(SIGUSR2, on_usr2);
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		fail("sethostname: %s\n", strerror(errno));
	snprintf(ownfile, sizeof(ownfile), "userns-own.%lu.%d", base, (int)getpid());
	fd = open(ownfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fchown(fd, 1000, 1000) < 0)
		fail("%s: chown 1000:1000: %s\n", ownfile, strerror(errno));
	close(fd);
	if (pipe(ask) < 0 || pipe(answer) < 0)
		fail("pipe: %s\n", strerror(errno));
	switch (fork()) {
	case -1:
		fail("fork: %s\n", strerror(errno));
	case 0:
		close(ask[1]);
		close(answer[0]);
		child(ask[0], answer[1]);
	}
	close(ask[0]);
	close(answer[1]);
	ask_w = ask[1];
	answer_r = answer[0];
	verify();
	say("READY\n");
	for (;;) {
		pause();
		if (got_usr2) {
			got_usr2 = 0;
			verify();
		}
	}
}
