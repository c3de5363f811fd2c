// SPDX-License-Identifier: GPL-2.0
/*
 * holes_walk [-n COUNT] [-s STRIDE] [-l LEAVE_MB] FILE EXTENTS
 *
 * Reads the file of `emfs-fuzz holes --extents EXTENTS` from end to end (or
 * its first COUNT data extents) the way a sparse-aware copy does: SEEK_DATA,
 * SEEK_HOLE, then pread of the data (with -s, of every STRIDE-th data extent
 * only: the seeks, which cache the maps, still visit every extent, and a
 * walk of a million extents reads 4 GiB less through the emulated disk).
 * Each data block must be where the image put it (file block 2k) and hold its
 * own offset in its first 8 bytes, then zeros. The seeks cache an extent map
 * for every data extent and every hole, and no folio stands behind the holes'
 * maps, so only the shrinker (or eviction) can reclaim them while the file
 * stays open. Readahead is off (POSIX_FADV_RANDOM): it would read the holes
 * into the page cache too, and reclaiming those folios drops the holes' maps
 * (release_folio), which would hide what the shrinker does.
 *
 * With -l, a child process first takes and touches all available memory
 * (MemAvailable) but LEAVE_MB MiB of anonymous memory (there is no swap) and
 * keeps it until the walk is done: the walk then runs under memory pressure.
 *
 * Prints key=value lines: segments, reads, bad (blocks that read wrong), peak_maps
 * and end_maps (extmap's maps_alive, sampled during the walk and at its end),
 * walk_ms and mib_s (data read per second), hog_mb. Exit 0 if the walk saw
 * every extent it was to see right, 1 otherwise, 2 on a usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BS 4096

static long maps_alive(void)
{
	char buf[32] = "";
	int fd = open("/sys/kernel/debug/extmap/maps_alive", O_RDONLY);
	long n = -1;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			n = atol(buf);
		close(fd);
	}
	return n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* MemAvailable in MiB, or -1. */
static long mem_available_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

/* A child holding `mb` MiB of touched anonymous memory until killed. */
static pid_t hog(long mb)
{
	int ready[2];
	char c;
	pid_t pid;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		size_t len = (size_t)mb << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			_exit(1);
		for (size_t i = 0; i < len; i += BS)
			p[i] = 1;
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		if (pid > 0)
			kill(pid, SIGKILL);
		return -1;
	}
	close(ready[0]);
	return pid;
}

int main(int argc, char **argv)
{
	long extents, count, stride = 1, leave_mb = -1, hog_mb = 0, peak = 0, bad = 0;
	long segments = 0, reads = 0;
	off_t pos = 0, size;
	static char buf[BS];
	struct stat st;
	double t0, ms;
	pid_t hog_pid = 0;
	int fd, opt;

	count = -1;
	while ((opt = getopt(argc, argv, "n:s:l:")) != -1) {
		if (opt == 'n')
			count = atol(optarg);
		else if (opt == 's')
			stride = atol(optarg);
		else if (opt == 'l')
			leave_mb = atol(optarg);
		else
			optind = argc + 1;
	}
	if (optind + 2 != argc || stride < 1) {
		fprintf(stderr, "usage: %s [-n COUNT] [-s STRIDE] [-l LEAVE_MB] FILE EXTENTS\n",
			argv[0]);
		return 2;
	}
	extents = atol(argv[optind + 1]);
	if (count < 0 || count > extents)
		count = extents;
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[optind]);
		return 2;
	}
	size = st.st_size;
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM)) {
		perror("posix_fadvise");
		return 2;
	}
	if (size != (off_t)extents * 2 * BS) {
		printf("# size %lld, expected %lld\n", (long long)size,
		       (long long)extents * 2 * BS);
		return 1;
	}
	if (leave_mb >= 0) {
		hog_mb = mem_available_mb() - leave_mb;
		hog_pid = hog_mb > 0 ? hog(hog_mb) : -1;
		if (hog_pid < 0) {
			printf("# cannot hold all memory but %ld MiB\n", leave_mb);
			return 2;
		}
	}
	t0 = now_ms();
	while (segments < count) {
		off_t d = lseek(fd, pos, SEEK_DATA), h, want = (off_t)segments * 2 * BS;
		uint64_t tag;

		if (d < 0) {
			if (errno != ENXIO) {
				perror("SEEK_DATA");
				bad++;
			}
			break;
		}
		h = lseek(fd, d, SEEK_HOLE);
		if (d != want || h != d + BS) {
			if (bad++ < 5)
				printf("# extent %ld: data at %lld, hole at %lld; expected %lld, %lld\n",
				       segments, (long long)d, (long long)h,
				       (long long)want, (long long)want + BS);
			if (h <= d)
				break;
		}
		if (segments % stride == 0) {
			if (pread(fd, buf, BS, d) != BS) {
				perror("pread");
				bad++;
				break;
			}
			memcpy(&tag, buf, 8);
			for (int i = 8; i < BS && tag == (uint64_t)d; i++)
				if (buf[i])
					tag = ~tag;
			if (tag != (uint64_t)d && bad++ < 5)
				printf("# block at %lld holds the wrong data\n", (long long)d);
			reads++;
		}
		segments++;
		pos = h;
		if (segments % 4096 == 0) {
			long n = maps_alive();

			if (n > peak)
				peak = n;
		}
	}
	ms = now_ms() - t0;
	if (maps_alive() > peak)
		peak = maps_alive();
	/* The hole after the last extent ends at the size. */
	if (lseek(fd, size - BS, SEEK_HOLE) != size - BS ||
	    lseek(fd, size - BS, SEEK_DATA) != -1 || errno != ENXIO) {
		printf("# the last hole is wrong\n");
		bad++;
	}
	if (hog_pid > 0) {
		kill(hog_pid, SIGKILL);
		waitpid(hog_pid, NULL, 0);
	}
	printf("segments=%ld\nreads=%ld\nbad=%ld\npeak_maps=%ld\nend_maps=%ld\nwalk_ms=%.0f\nmib_s=%.1f\nhog_mb=%ld\n",
	       segments, reads, bad, peak, maps_alive(), ms,
	       reads * (double)BS / (1 << 20) / (ms / 1e3), hog_mb);
	close(fd);
	return bad || segments != count;
}
