// SPDX-License-Identifier: GPL-2.0
/*
 * Stress for the extent-map merge rule through a file system: a file whose
 * every byte is a known function of its offset is read and verified by
 * several readers while writers rewrite ranges of it with the same bytes
 * (new extents, new maps, merges on fsync), fsync and fdatasync run in a
 * loop, and its pages are dropped all the time (fadvise DONTNEED,
 * drop_caches, and memory pressure from a process that fills memory), so
 * that release_folio, map reloads and fsync merges race with the readers.
 *
 *   race_stress [-t SECONDS] [-r READERS] [-m] FILE
 *
 * -m adds the memory hog. Exits 0 if every read matched and the file is
 * intact at the end; prints what each worker did.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE (4 << 20)
#define CHUNK (64 * 1024)
#define MAX_WORKERS 16

static const char *path;
static unsigned long long rng;
/* Shared by all workers: where the sequential writer last wrote. */
static volatile size_t *recent;

static unsigned char pattern(size_t off)
{
	return (off * 2654435761u) >> 11;
}

static unsigned long long next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(unsigned char *buf, size_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(off + i);
}

static int open_file(int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		printf("# race_stress: open: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* Reads random ranges, and the chunk just written, and checks them. */
static int reader(double end)
{
	static unsigned char buf[256 * 1024], want[256 * 1024];
	int fd = open_file(O_RDONLY);
	unsigned long n = 0;

	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	while (now() < end) {
		size_t off = next_rand() % FILE_SIZE;
		size_t len = 1 + next_rand() % sizeof(buf);
		ssize_t got;

		if (next_rand() % 4 == 0)
			off &= ~4095UL;
		if (off + len > FILE_SIZE)
			len = FILE_SIZE - off;
		if (next_rand() % 2) {
			/*
			 * The chunk the writer just wrote back and released:
			 * its map is the one the next fsync logs and merges.
			 * Read through a MADV_RANDOM mapping, whose faults
			 * take read_folio (no readahead), which holds the map
			 * for the whole synchronous read.
			 */
			size_t at = *recent;
			unsigned char *map = mmap(NULL, CHUNK, PROT_READ, MAP_SHARED,
						  fd, at);

			if (map == MAP_FAILED) {
				printf("# reader: mmap: %s\n", strerror(errno));
				return 1;
			}
			madvise(map, CHUNK, MADV_RANDOM);
			fill(want, at, CHUNK);
			if (memcmp(map, want, CHUNK)) {
				printf("# reader: MISMATCH in mapped [%zu, %zu)\n", at,
				       at + CHUNK);
				return 1;
			}
			munmap(map, CHUNK);
			n++;
			continue;
		}
		got = pread(fd, buf, len, off);
		if (got != (ssize_t)len) {
			printf("# reader: pread %zu+%zu returned %zd: %s\n", off, len,
			       got, strerror(errno));
			return 1;
		}
		fill(want, off, len);
		if (memcmp(buf, want, len)) {
			size_t i = 0;

			while (buf[i] == want[i])
				i++;
			printf("# reader: MISMATCH at byte %zu: 0x%02x, expected 0x%02x\n",
			       off + i, buf[i], want[i]);
			return 1;
		}
		n++;
	}
	printf("# reader: %lu reads verified\n", n);
	return 0;
}

/*
 * Rewrites the file with the same bytes: chunk after chunk (consecutive
 * extents, contiguous on disk, so their maps can merge), each written back
 * at once; or random ranges.
 */
static int writer(double end, int sequential)
{
	static unsigned char buf[CHUNK];
	int fd = open_file(O_WRONLY);
	size_t off = 0;
	unsigned long n = 0;

	while (now() < end) {
		size_t len = CHUNK;

		if (!sequential) {
			off = (next_rand() % FILE_SIZE) & ~4095UL;
			len = 4096 * (1 + next_rand() % 16);
		}
		if (off + len > FILE_SIZE)
			len = FILE_SIZE - off;
		fill(buf, off, len);
		if (pwrite(fd, buf, len, off) != (ssize_t)len) {
			printf("# writer: pwrite: %s\n", strerror(errno));
			return 1;
		}
		if (sequential) {
			/*
			 * Written back and unpinned, then its pages released:
			 * the seed's steps 1 and 2. Readers go for it next.
			 */
			sync_file_range(fd, off, len, SYNC_FILE_RANGE_WAIT_BEFORE |
					SYNC_FILE_RANGE_WRITE |
					SYNC_FILE_RANGE_WAIT_AFTER);
			posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED);
			*recent = off;
			/* Readers and the syncer go for this chunk now. */
			usleep(2000 + next_rand() % 3000);
		} else {
			sync_file_range(fd, off, len, SYNC_FILE_RANGE_WRITE);
			/*
			 * Now and then only: its allocations would come
			 * between the sequential writer's, whose extents must
			 * stay contiguous on disk to be mergeable.
			 */
			usleep(5000 + next_rand() % 20000);
		}
		off = (off + len) % FILE_SIZE;
		n++;
	}
	printf("# writer (%s): %lu rewrites\n", sequential ? "sequential" : "random", n);
	return 0;
}

static int syncer(double end)
{
	int fd = open_file(O_RDWR);
	unsigned long n = 0;
	size_t last = *recent;

	while (now() < end) {
		/*
		 * Mostly right after the writer released a new chunk, while
		 * the readers read it: the seed's step 4.
		 */
		if (n % 4) {
			while (*recent == last && now() < end)
				usleep(200);
			last = *recent;
			usleep(next_rand() % 1000);
		}
		if ((n % 3 ? fdatasync(fd) : fsync(fd))) {
			printf("# syncer: fsync: %s\n", strerror(errno));
			return 1;
		}
		n++;
	}
	printf("# syncer: %lu fsyncs\n", n);
	return 0;
}

static int dropper(double end)
{
	int fd = open_file(O_RDONLY);
	unsigned long n = 0;

	while (now() < end) {
		off_t off = (next_rand() % FILE_SIZE) & ~4095UL;

		posix_fadvise(fd, off, CHUNK * (1 + next_rand() % 8),
			      POSIX_FADV_DONTNEED);
		if (n % 50 == 49) {
			int d = open("/proc/sys/vm/drop_caches", O_WRONLY);

			if (d >= 0) {
				if (write(d, "3", 1) != 1)
					printf("# dropper: drop_caches failed\n");
				close(d);
			}
		}
		n++;
		usleep(next_rand() % 5000);
	}
	printf("# dropper: %lu drops\n", n);
	return 0;
}

/* Fills 40% of the available memory again and again: reclaim. */
static int hog(double end)
{
	long avail_kb = 0;
	char line[128];
	FILE *m = fopen("/proc/meminfo", "r");
	unsigned long rounds = 0;

	while (m && fgets(line, sizeof(line), m))
		if (sscanf(line, "MemAvailable: %ld kB", &avail_kb) == 1)
			break;
	if (m)
		fclose(m);
	while (now() < end && avail_kb > 0) {
		size_t len = (size_t)avail_kb * 1024 * 4 / 10, i;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		for (i = 0; i < len; i += 4096)
			p[i] = i;
		munmap(p, len);
		rounds++;
	}
	printf("# hog: %lu rounds of %ld MiB\n", rounds, avail_kb * 4 / 10 / 1024);
	return 0;
}

static int verify_file(void)
{
	static unsigned char buf[CHUNK], want[CHUNK];
	int fd = open_file(O_RDONLY);
	size_t off;

	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (off = 0; off < FILE_SIZE; off += CHUNK) {
		if (pread(fd, buf, CHUNK, off) != CHUNK)
			return 1;
		fill(want, off, CHUNK);
		if (memcmp(buf, want, CHUNK)) {
			printf("# final check: MISMATCH in [%zu, %zu)\n", off, off + CHUNK);
			return 1;
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int seconds = 20, readers = 3, use_hog = 0, c, fd, i, n = 0, bad = 0;
	pid_t pids[MAX_WORKERS];
	double end;

	while ((c = getopt(argc, argv, "t:r:m")) != -1) {
		switch (c) {
		case 't':
			seconds = atoi(optarg);
			break;
		case 'r':
			readers = atoi(optarg);
			break;
		case 'm':
			use_hog = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || readers < 1 || readers > 8)
		return 2;
	path = argv[optind];

	/* The file, written once and made durable. */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	for (i = 0; i < FILE_SIZE / CHUNK; i++) {
		static unsigned char buf[CHUNK];

		fill(buf, (size_t)i * CHUNK, CHUNK);
		if (pwrite(fd, buf, CHUNK, (off_t)i * CHUNK) != CHUNK)
			return 1;
	}
	if (fsync(fd))
		return 1;
	close(fd);

	recent = mmap(NULL, sizeof(*recent), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (recent == MAP_FAILED)
		return 1;
	*recent = 0;
	end = now() + seconds;
	fflush(stdout);
	for (i = 0; i < readers + 4 + use_hog; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			rng = 0x9e3779b97f4a7c15ULL * (i + 1) + getpid();
			/* exit(), not _exit(): the report is buffered. */
			if (i < readers)
				exit(reader(end));
			switch (i - readers) {
			case 0:
				exit(writer(end, 1));
			case 1:
				exit(writer(end, 0));
			case 2:
				exit(syncer(end));
			case 3:
				exit(dropper(end));
			default:
				exit(hog(end));
			}
		}
		pids[n++] = pid;
	}
	for (i = 0; i < n; i++) {
		int status;

		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad = 1;
	}
	if (verify_file())
		bad = 1;
	printf("# race_stress: %d s, %d readers: %s\n", seconds, readers,
	       bad ? "FAILED" : "ok");
	return bad;
}
