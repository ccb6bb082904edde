// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: the /proc parsers, on text the kernel would never
 * write. The first byte picks the parser, the rest is the file. */
#include "proc.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_vma *vmas = NULL;
	struct proc_status st;
	struct proc_stat ps;
	struct proc_fdinfo fi;
	struct proc_limit lim[16];
	size_t n = 0;
	int fd;

	if (size < 1 || size > (1u << 20))
		return 0;
	fd = memfd_create("fuzz-proc", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	switch (data[0] % 5) {
	case 0:
		if (proc_parse_vmas(fd, &vmas, &n) >= 0)
			proc_vmas_free(vmas, n);
		break;
	case 1: (void)proc_parse_status(fd, &st); break;
	case 2: (void)proc_parse_stat(fd, &ps); break;
	case 3: (void)proc_parse_fdinfo(fd, &fi); break;
	case 4: (void)proc_parse_limits(fd, lim); break;
	}
	close(fd);
	return 0;
}
