// SPDX-License-Identifier: GPL-2.0
/*
 * holes_walk FILE EXTENTS [HOG_MB]
 *
 * Reads the file of `emfs-fuzz holes --extents EXTENTS` from end to end the
 * way a sparse-aware copy does: SEEK_DATA, SEEK_HOLE, then pread of the data.
 * Each data block must be where the image put it (file block 2k) and hold its
 * own offset in its first 8 bytes, then zeros. The seeks cache an extent map
 * for every data extent and every hole, and no folio stands behind the holes'
 * maps, so only the shrinker (or eviction) can reclaim them while the file
 * stays open. Readahead is off (POSIX_FADV_RANDOM): it would read the holes
 * into the page cache too, and reclaiming those folios drops the holes' maps
 * (release_folio), which would hide what the shrinker does.
 *
 * With HOG_MB, a child process first takes and touches that much anonymous
 * memory (there is no swap) and keeps it until the walk is done: the walk
 * then runs under memory pressure.
 *
 * Prints key=value lines: segments, bad (blocks that read wrong), peak_maps
 * and end_maps (extmap's maps_alive, sampled during the walk and at its end),
 * walk_ms and mib_s (data read per second). Exit 0 if the walk saw every
 * extent right, 1 otherwise, 2 on a usage or setup error.
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
	long extents, hog_mb = 0, peak = 0, bad = 0, segments = 0;
	off_t pos = 0, size;
	static char buf[BS];
	struct stat st;
	double t0, ms;
	pid_t hog_pid = 0;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s FILE EXTENTS [HOG_MB]\n", argv[0]);
		return 2;
	}
	extents = atol(argv[2]);
	if (argc > 3)
		hog_mb = atol(argv[3]);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
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
	if (hog_mb > 0) {
		hog_pid = hog(hog_mb);
		if (hog_pid < 0) {
			printf("# cannot hold %ld MiB\n", hog_mb);
			return 2;
		}
	}
	t0 = now_ms();
	for (;;) {
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
	printf("segments=%ld\nbad=%ld\npeak_maps=%ld\nend_maps=%ld\nwalk_ms=%.0f\nmib_s=%.1f\n",
	       segments, bad, peak, maps_alive(), ms,
	       segments * (double)BS / (1 << 20) / (ms / 1e3));
	close(fd);
	return bad || segments != extents;
}
