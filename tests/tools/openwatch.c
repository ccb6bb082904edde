// SPDX-License-Identifier: GPL-2.0-or-later
/* openwatch REPORT PATH... -- CMD [ARGS]: run CMD while inotify watches
 * each PATH (a file, or a directory and what is in it) for being opened,
 * created, written or having its attributes changed, by anyone; then
 * write one line per event to REPORT ("PATH[/NAME] OPEN|CREATE|MODIFY|
 * ATTRIB"; empty: nothing touched them) and exit with CMD's status. For
 * the e2e tests that check a refused restart had no effect on the host. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#define MASK (IN_OPEN | IN_CREATE | IN_MODIFY | IN_ATTRIB)

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const char *paths[64];
	int wds[64], n = 0, i, fd, status;
	FILE *report;
	ssize_t len;
	pid_t pid;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (argc < 5 || fd < 0)
		return 125;
	for (i = 2; i < argc && strcmp(argv[i], "--") && n < 64; i++, n++) {
		paths[n] = argv[i];
		wds[n] = inotify_add_watch(fd, argv[i], MASK);
		if (wds[n] < 0) {
			fprintf(stderr, "openwatch: %s: %s\n", argv[i], strerror(errno));
			return 125;
		}
	}
	if (i >= argc - 1 || !(report = fopen(argv[1], "w")))
		return 125;
	pid = fork();
	if (pid == 0) {
		execvp(argv[i + 1], argv + i + 1);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 125;
	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			const char *what = e->mask & IN_OPEN ? "OPEN" : e->mask & IN_CREATE ? "CREATE" :
					   e->mask & IN_MODIFY ? "MODIFY" : "ATTRIB";

			for (int k = 0; k < n; k++)
				if (wds[k] == e->wd)
					fprintf(report, "%s%s%s %s\n", paths[k], e->len ? "/" : "", e->len ? e->name : "", what);
			p += sizeof(*e) + e->len;
		}
	}
	if (fclose(report) != 0)
		return 125;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
