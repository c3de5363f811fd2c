// SPDX-License-Identifier: GPL-2.0
/*
 * io_bench: the I/O workloads of `make bench`, run the same way on an emfs
 * file, a btrfs file and the raw disk (a block device path).
 *
 *   io_bench seq_write PATH MIB      write MIB MiB in 1 MiB writes, then fsync
 *   io_bench seq_read PATH MIB       read MIB MiB in 1 MiB reads
 *   io_bench rand_read PATH MIB OPS  OPS reads of 4 KiB at random block offsets
 *                                    in the first MIB MiB (readahead off)
 *   io_bench fsync PATH OPS          OPS times: write 4 KiB at the next block,
 *                                    fsync; the fsync latencies
 *
 * Prints "WORKLOAD VALUE UNIT" lines: MiB/s for the sequential ones (the write
 * timed through its fsync), IOPS for rand_read, and fsync_p50/fsync_p99 in
 * microseconds. Exit 1 on an I/O error, 2 on a usage error. Caches are the
 * caller's business (drop them before a cold read).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1 << 20)
#define BS 4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int usage(void)
{
	fprintf(stderr, "usage: io_bench seq_write|seq_read PATH MIB | rand_read PATH MIB OPS | fsync PATH OPS\n");
	return 2;
}

int main(int argc, char **argv)
{
	static char buf[MIB];
	const char *op, *path;
	double t0, t;
	int fd;

	if (argc < 4)
		return usage();
	op = argv[1];
	path = argv[2];
	for (int i = 0; i < MIB; i++)
		buf[i] = (char)(i * 31 + 7);

	if (!strcmp(op, "seq_write")) {
		long mib = atol(argv[3]);

		fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			return perror(path), 1;
		t0 = now_s();
		for (long i = 0; i < mib; i++)
			if (write(fd, buf, MIB) != MIB)
				return perror("write"), 1;
		if (fsync(fd))
			return perror("fsync"), 1;
		t = now_s() - t0;
		printf("seq_write %.1f MiB/s\n", mib / t);
	} else if (!strcmp(op, "seq_read")) {
		long mib = atol(argv[3]);

		fd = open(path, O_RDONLY);
		if (fd < 0)
			return perror(path), 1;
		t0 = now_s();
		for (long i = 0; i < mib; i++)
			if (read(fd, buf, MIB) != MIB)
				return perror("read"), 1;
		t = now_s() - t0;
		printf("seq_read %.1f MiB/s\n", mib / t);
	} else if (!strcmp(op, "rand_read")) {
		long blocks, ops;

		if (argc < 5)
			return usage();
		blocks = atol(argv[3]) * (MIB / BS);
		ops = atol(argv[4]);
		fd = open(path, O_RDONLY);
		if (fd < 0 || blocks <= 0)
			return perror(path), 1;
		posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
		srandom(1);
		t0 = now_s();
		for (long i = 0; i < ops; i++)
			if (pread(fd, buf, BS, (random() % blocks) * BS) != BS)
				return perror("pread"), 1;
		t = now_s() - t0;
		printf("rand_read %.0f IOPS\n", ops / t);
	} else if (!strcmp(op, "fsync")) {
		long ops = atol(argv[3]);
		double *lat = calloc(ops > 0 ? ops : 1, sizeof(*lat));

		fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd < 0 || !lat || ops <= 0)
			return perror(path), 1;
		for (long i = 0; i < ops; i++) {
			if (pwrite(fd, buf, BS, i * BS) != BS)
				return perror("pwrite"), 1;
			t0 = now_s();
			if (fsync(fd))
				return perror("fsync"), 1;
			lat[i] = (now_s() - t0) * 1e6;
		}
		qsort(lat, ops, sizeof(*lat), cmp_double);
		printf("fsync_p50 %.0f us\nfsync_p99 %.0f us\n", lat[ops / 2],
		       lat[(ops * 99) / 100 < ops ? (ops * 99) / 100 : ops - 1]);
	} else {
		return usage();
	}
	return close(fd) ? 1 : 0;
}
