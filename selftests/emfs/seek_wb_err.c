// SPDX-License-Identifier: GPL-2.0
/*
 * seek_wb_err FILE MAKE_IT_FAIL
 *
 * Whether SEEK_DATA leaves a writeback error to fsync. Run while every write
 * to FILE's disk fails (fail_make_request): writes 64 KiB to FILE (dirty in
 * the page cache), seeks with SEEK_DATA, whose writeback of the dirty range
 * fails, then lets the disk work again (writes 0 to MAKE_IT_FAIL) and calls
 * fsync on the same open file. The writeback error was never reported through
 * this file's fsync, so fsync must return EIO (vfs.rst: each open file sees a
 * writeback error once, through fsync) however the seek answered.
 *
 * Prints what the seek and fsync returned. Exit 0 if fsync failed with EIO,
 * 1 if it did not, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[65536];
	int fd, ctl;
	off_t pos;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE MAKE_IT_FAIL\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	ctl = open(argv[2], O_WRONLY);
	if (fd < 0 || ctl < 0) {
		perror("open");
		return 2;
	}
	memset(buf, 0x5a, sizeof(buf));
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf)) {
		perror("pwrite");
		return 2;
	}
	pos = lseek(fd, 0, SEEK_DATA);
	printf("# SEEK_DATA: %lld (%s)\n", (long long)pos, pos < 0 ? strerror(errno) : "ok");
	if (write(ctl, "0", 1) != 1) {
		perror("make-it-fail");
		return 2;
	}
	if (fsync(fd) == 0) {
		printf("# fsync: 0, the writeback error was lost\n");
		return 1;
	}
	printf("# fsync: %s\n", strerror(errno));
	return errno != EIO;
}
