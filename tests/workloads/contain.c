// SPDX-License-Identifier: GPL-2.0-or-later
/* contain: what a container's process can reach, checked from inside.
 *
 *   contain KEY=VALUE...
 *     sock=PATH      ckptd's socket: connect() and stat() must fail
 *     state=DIR      ckptd's state dir: must hold nothing (masked)
 *     other=NAME     another container: no cgroup "ckptd-NAME" below the
 *                    cgroup2 mount, no cgroup v1 mount at all, and its own
 *                    cgroup is the root of its cgroup namespace
 *     uid=N          every uid of the process is N (and so is every gid: gid=N)
 *     gid=N
 *     capeff=HEX     CapEff, CapPrm and CapBnd as expected (capbnd=HEX)
 *     capbnd=HEX
 *     file=PATH      a file it writes at start, whose bytes must stay
 *     noproc=1       umount("/proc") must fail, /proc is the only procfs,
 *                    and its pid 1 is the container's init
 * At start and on SIGUSR2 it checks all it was given: "PASS contain n=N",
 * or "FAIL ..." naming the first breach. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "wl.h"

static const char *sock_path, *state_dir, *other, *file_path;
static long want_uid = -1, want_gid = -1;
static long long want_capeff = -1, want_capbnd = -1;
static int check_proc;
static char file_bytes[64];

static const char *status_line(const char *key, char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/status", "re");
	size_t n = strlen(key);
	const char *r = NULL;

	if (!f)
		fail("open /proc/self/status: %d\n", errno);
	while (fgets(buf, len, f))
		if (!strncmp(buf, key, n) && buf[n] == ':') {
			r = buf + n + 1;
			while (*r == ' ' || *r == '\t')
				r++;
			break;
		}
	fclose(f);
	if (!r)
		fail("no %s in /proc/self/status\n", key);
	return r;
}

static void check_ids(const char *key, long want)
{
	char buf[256];
	unsigned long a, b, c, d;

	if (want < 0)
		return;
	if (sscanf(status_line(key, buf, sizeof(buf)), "%lu %lu %lu %lu", &a, &b, &c, &d) != 4)
		fail("bad %s line\n", key);
	if ((long)a != want || (long)b != want || (long)c != want || (long)d != want)
		fail("%s %lu %lu %lu %lu, want all %ld\n", key, a, b, c, d, want);
}

static void check_cap(const char *key, long long want)
{
	char buf[256];
	unsigned long long v;

	if (want < 0)
		return;
	v = strtoull(status_line(key, buf, sizeof(buf)), NULL, 16);
	if (v != (unsigned long long)want)
		fail("%s %016llx, want %016llx\n", key, v, (unsigned long long)want);
}

static void check_sock(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (!sock_path)
		return;
	if (stat(sock_path, &st) == 0)
		fail("ckptd's socket %s is visible\n", sock_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket: %d\n", errno);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		fail("connected to ckptd's socket %s\n", sock_path);
	close(fd);
}

static void check_state(void)
{
	struct dirent *de;
	DIR *d;

	if (!state_dir)
		return;
	d = opendir(state_dir);
	if (!d)
		return;    /* not there at all: as good */
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fail("ckptd's state dir shows %s\n", de->d_name);
	closedir(d);
}

/* Depth-first under dir for a directory named name. */
static int find_dir(const char *dir, const char *name, int depth)
{
	struct dirent *de;
	char p[1024];
	int found = 0;
	DIR *d;

	if (depth > 6 || !(d = opendir(dir)))
		return 0;
	while (!found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(de->d_name, name))
			found = 1;
		else {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			found = find_dir(p, name, depth + 1);
		}
	}
	closedir(d);
	return found;
}

static void check_cgroups(void)
{
	char line[1024], mp[512], fstype[64], name[128];
	int n2 = 0;
	FILE *f;

	if (!other)
		return;
	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3) && strcmp(line, "0::/\n"))
			fail("its cgroup is %s (not the root of its cgroup namespace)", line + 3);
	if (f)
		fclose(f);
	snprintf(name, sizeof(name), "ckptd-%s", other);
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		fail("mountinfo: %d\n", errno);
	while (fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", mp) != 1 || sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (!strcmp(fstype, "cgroup"))
			fail("a cgroup v1 hierarchy is mounted at %s\n", mp);
		if (!strcmp(fstype, "cgroup2")) {
			n2++;
			if (find_dir(mp, name, 0))
				fail("another container's cgroup %s is reachable under %s\n", name, mp);
		}
	}
	fclose(f);
	if (!n2)
		fail("no cgroup2 mount to look in\n");
}

static void check_proc_fs(void)
{
	char line[1024], fstype[64], comm[32] = "";
	int nproc = 0, fd;
	FILE *f;

	if (!check_proc)
		return;
	if (umount2("/proc", MNT_DETACH) == 0)
		fail("umount /proc succeeded\n");
	f = fopen("/proc/self/mountinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (dash && sscanf(dash + 3, "%63s", fstype) == 1 && !strcmp(fstype, "proc"))
			nproc++;
	}
	if (f)
		fclose(f);
	if (nproc != 1)
		fail("%d procfs mounts (the host's is not gone)\n", nproc);
	fd = open("/proc/1/comm", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, comm, sizeof(comm) - 1) <= 0)
		fail("read /proc/1/comm: %d\n", errno);
	close(fd);
	if (strcmp(comm, "ckptd-init\n"))
		fail("its pid 1 is %s, not the container's init\n", comm);
}

static void check_file(void)
{
	char buf[64] = "";
	int fd;

	if (!file_path)
		return;
	fd = open(file_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		fail("read %s: %d\n", file_path, errno);
	close(fd);
	if (strcmp(buf, file_bytes))
		fail("%s holds '%s', want '%s'\n", file_path, buf, file_bytes);
}

static void check_all(void)
{
	check_ids("Uid", want_uid);
	check_ids("Gid", want_gid);
	check_cap("CapEff", want_capeff);
	check_cap("CapPrm", want_capeff);
	check_cap("CapBnd", want_capbnd);
	check_sock();
	check_state();
	check_cgroups();
	check_proc_fs();
	check_file();
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	unsigned long n = 0;
	int i, fd;

	for (i = 1; i < argc; i++) {
		char *v = strchr(argv[i], '=');

		if (!v)
			fail("argument %s is not KEY=VALUE\n", argv[i]);
		*v++ = '\0';
		if (!strcmp(argv[i], "sock"))
			sock_path = v;
		else if (!strcmp(argv[i], "state"))
			state_dir = v;
		else if (!strcmp(argv[i], "other"))
			other = v;
		else if (!strcmp(argv[i], "uid"))
			want_uid = atol(v);
		else if (!strcmp(argv[i], "gid"))
			want_gid = atol(v);
		else if (!strcmp(argv[i], "capeff"))
			want_capeff = strtoll(v, NULL, 16);
		else if (!strcmp(argv[i], "capbnd"))
			want_capbnd = strtoll(v, NULL, 16);
		else if (!strcmp(argv[i], "file"))
			file_path = v;
		else if (!strcmp(argv[i], "noproc"))
			check_proc = atoi(v);
		else
			fail("unknown key %s\n", argv[i]);
	}
	if (file_path) {
		snprintf(file_bytes, sizeof(file_bytes), "contain %d", (int)getpid());
		fd = open(file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, file_bytes, strlen(file_bytes)) < 0)
			fail("write %s: %d\n", file_path, errno);
		close(fd);
	}
	sigaction(SIGUSR2, &sa, NULL);
	check_all();
	say("READY\n");
	for (;;) {
		pause();
		if (got_usr2) {
			got_usr2 = 0;
			check_all();
			say("PASS contain n=%lu\n", ++n);
		}
	}
}
