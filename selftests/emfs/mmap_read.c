// SPDX-License-Identifier: GPL-2.0
/*
 * Reads a file through mmap and compares it with read(2) of the same file.
 * emfs maps files read-only (generic_file_readonly_mmap): page faults go
 * through read_folio and readahead like read(2) does.
 *
 * Usage: mmap_read FILE...; prints TAP.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int check(const char *path)
{
	struct stat st;
	char *map, *buf;
	ssize_t n, done = 0;
	int fd, ok;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	if (st.st_size == 0) {
		close(fd);
		return 1;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	buf = malloc(st.st_size);
	if (map == MAP_FAILED || !buf)
		return 0;
	while (done < st.st_size) {
		n = pread(fd, buf + done, st.st_size - done, done);
		if (n <= 0)
			return 0;
		done += n;
	}
	ok = memcmp(map, buf, st.st_size) == 0;
	/* Writing through a read-only mapping must not be possible. */
	ok = ok && mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED;
	munmap(map, st.st_size);
	free(buf);
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	int i, failed = 0;

	printf("TAP version 13\n1..%d\n", argc - 1);
	for (i = 1; i < argc; i++) {
		int ok = check(argv[i]);

		printf("%sok %d emfs mmap: %s\n", ok ? "" : "not ", i, strrchr(argv[i], '/') + 1);
		failed += !ok;
	}
	return failed ? 1 : 0;
}
