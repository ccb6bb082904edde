// SPDX-License-Identifier: GPL-2.0-or-later
/* listprobe SOCKET SECONDS: send `list` requests to ckptd on one
 * connection, back to back, for SECONDS, and print each round trip in
 * microseconds, one a line; "error" lines for answers that are errors.
 * It speaks the wire format by hand (Request{list = {}} is two bytes) so
 * that what it measures is ckptd, not a client starting up. At the end a
 * "sched CPU_NS WAIT_NS SLICES" line: its own time on a CPU and runnable
 * without one (/proc/self/schedstat), which every round trip includes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void print_schedstat(void)
{
	unsigned long long cpu, wait, slices;
	FILE *f = fopen("/proc/self/schedstat", "re");

	if (!f)
		return;
	if (fscanf(f, "%llu %llu %llu", &cpu, &wait, &slices) == 3)
		printf("sched %llu %llu %llu\n", cpu, wait, slices);
	fclose(f);
}

int main(int argc, char **argv)
{
	static const unsigned char req[] = { 0x12, 0x00 };   /* field 2 (list), empty */
	static unsigned char buf[1 << 20];
	uint64_t end, t;
	int fd = -1;

	if (argc != 3) {
		fprintf(stderr, "usage: listprobe SOCKET SECONDS\n");
		return 2;
	}
	end = now_us() + (uint64_t)atoi(argv[2]) * 1000000;
	while ((t = now_us()) < end) {
		ssize_t n;

		if (fd < 0 && (fd = dial(argv[1])) < 0) {
			printf("error connect %s\n", strerror(errno));
			usleep(100000);
			continue;
		}
		if (send(fd, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)) {
			close(fd);
			fd = -1;
			continue;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			printf("error recv %s\n", n < 0 ? strerror(errno) : "closed");
			close(fd);
			fd = -1;
			continue;
		}
		/* final = true (08 01), then an Error (field 2) would come first */
		if (n < 2 || buf[0] != 0x08 || (n > 2 && buf[2] == 0x12))
			printf("error answer\n");
		else
			printf("%llu\n", (unsigned long long)(now_us() - t));
		/* a pause the length of a client's think time keeps it one of many */
		usleep(2000);
	}
	print_schedstat();
	return 0;
}
