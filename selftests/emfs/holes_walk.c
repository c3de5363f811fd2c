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
 * walk_ms and mib_s (data read per second), hog_mb; and where the walk's time
 * went: user_ms and sys_ms (the walk's own CPU time; reclaim done in its
 * context, direct reclaim, counts as system time), kswapd_ms (the CPU time of
 * the kswapd threads, background reclaim), and vm_NAME, the change of each
 * /proc/vmstat counter in vmstat_names that the kernel has (event counters
 * need CONFIG_VM_EVENT_COUNTERS). Exit 0 if the walk saw
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
#include <sys/resource.h>
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

static const char *const vmstat_names[] = {
	"allocstall_normal", "allocstall_dma32", "pgscan_direct", "pgscan_kswapd",
	"pgsteal_direct", "pgsteal_kswapd", "slabs_scanned", "workingset_refault_file",
	"pgpgin", "pgmajfault",
};
#define NR_VMSTAT (sizeof(vmstat_names) / sizeof(vmstat_names[0]))

/* The counters of vmstat_names into v; -1 for one the kernel does not have. */
static void read_vmstat(long long *v)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char name[64];
	long long n;

	for (size_t i = 0; i < NR_VMSTAT; i++)
		v[i] = -1;
	while (f && fscanf(f, "%63s %lld", name, &n) == 2)
		for (size_t i = 0; i < NR_VMSTAT; i++)
			if (!strcmp(name, vmstat_names[i]))
				v[i] = n;
	if (f)
		fclose(f);
}

static double tv_ms(struct timeval tv)
{
	return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

/* User and system CPU time of this process, ms. */
static void self_cpu_ms(double *user, double *sys)
{
	struct rusage ru;

	*user = *sys = -1;
	if (!getrusage(RUSAGE_SELF, &ru)) {
		*user = tv_ms(ru.ru_utime);
		*sys = tv_ms(ru.ru_stime);
	}
}

/* CPU time (user + system) of the kswapd threads, ms; -1 if none is found. */
static double kswapd_ms(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	double ms = -1;

	for (int pid = 2; pid < 1000; pid++) {
		char path[64], buf[512];
		unsigned long ut, st;
		FILE *f;
		char *p;

		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strstr(buf, "(kswapd") : NULL;
		fclose(f);
		/* After the name: state and 10 more fields, then utime and stime. */
		p = p ? strchr(p, ')') : NULL;
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st) == 2)
			ms = (ms < 0 ? 0 : ms) + (ut + st) * 1e3 / hz;
	}
	return ms;
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
	long long vm0[NR_VMSTAT], vm1[NR_VMSTAT];
	double t0, ms, user0, sys0, user1, sys1, kswapd0;
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
	read_vmstat(vm0);
	kswapd0 = kswapd_ms();
	self_cpu_ms(&user0, &sys0);
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
	self_cpu_ms(&user1, &sys1);
	kswapd0 = kswapd0 < 0 ? -1 : kswapd_ms() - kswapd0;
	read_vmstat(vm1);
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
	printf("user_ms=%.0f\nsys_ms=%.0f\nkswapd_ms=%.0f\n", user1 - user0, sys1 - sys0,
	       kswapd0);
	for (size_t i = 0; i < NR_VMSTAT; i++)
		if (vm0[i] >= 0 && vm1[i] >= 0)
			printf("vm_%s=%lld\n", vmstat_names[i], vm1[i] - vm0[i]);
	close(fd);
	return bad || segments != count;
}
