# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the emfs selftests. Sourced.

. "$(dirname "$0")/../kselftest/ktap_helpers.sh"

# Each test's start, timestamped in the console log: where a run's time goes.
echo "selftest-start $(basename "$0")" >/dev/kmsg

# The kernel log since the last call of log_mark. The mark is a line of its own
# in the log: counting lines stops working once the ring buffer has wrapped
# (a long differential run logs thousands of lines).
LOG_MARK_N=0
log_mark() {
	LOG_MARK_N=$((LOG_MARK_N + 1))
	LOG_MARK="selftest-log-mark-$$-$LOG_MARK_N"
	echo "$LOG_MARK" >/dev/kmsg
}
log_since_mark() {
	dmesg | sed -n "/$LOG_MARK\$/,\$p" | tail -n +2
}

# The kernel's own reports of a problem: never expected. (A bare "Call Trace" is
# also one within a test's own window, see log_problems; not in scripts/check.sh's
# scan of the whole boot, where a debug kernel under TCG on a loaded host can print
# an RCU stall report while it probes its devices, before any test runs.)
KERNEL_REPORTS='WARNING:|BUG:|Oops|KASAN|UBSAN|possible circular|possible recursive|inconsistent lock state|refcount_t:|list_add corruption|list_del corruption'
# The errors extmap and emfs print when the cache stops describing the file (an
# unpin that finds no map, a map refused as inconsistent). A test of those error
# paths provokes them on purpose between the two marker lines below, where they
# are not problems (the filters here and in scripts/check.sh skip them there;
# the KUnit suite prints the same markers).
FS_ERRORS='extmap: no extent map found|extmap: extent map at [0-9]+ has unexpected start|extmap: refusing inconsistent map|not unpinned'
KMSG_EXPECTED_BEGIN=selftest-expected-kmsg-begin
KMSG_EXPECTED_END=selftest-expected-kmsg-end
expected_kmsg_begin() { echo "$KMSG_EXPECTED_BEGIN" >/dev/kmsg; }
expected_kmsg_end() { echo "$KMSG_EXPECTED_END" >/dev/kmsg; }
without_expected_kmsg() {
	awk -v b="$KMSG_EXPECTED_BEGIN" -v e="$KMSG_EXPECTED_END" \
		'index($0, b) { skip = 1 } !skip { print } index($0, e) { skip = 0 }'
}

# Reports of a kernel problem in the log since the mark.
log_problems() {
	# One read of the log for both scans.
	since=$(log_since_mark)
	echo "$since" | grep -E "$KERNEL_REPORTS|Call Trace"
	echo "$since" | without_expected_kmsg | grep -E "$FS_ERRORS"
}

# The usual start of a test: directories, the module, a new file system on
# device $1 (mkfs.emfs with the rest of the arguments before the device), its
# report as TAP comments. Not mounted.
emfs_prepare() {
	local device=$1
	shift
	mkdir -p /mnt/emfs
	modprobe emfs || ktap_exit_fail_msg "modprobe emfs failed"
	# (POSIX sh: some tests run under busybox's.)
	out=$(mkfs.emfs "$@" "$device") || ktap_exit_fail_msg "mkfs.emfs failed: $out"
	echo "$out" | sed 's/^/# /'
}

# One test: no kernel problem was logged since the mark (printed if there was).
ktap_test_no_problems() {
	problems=$(log_problems)
	[ -z "$problems" ] || echo "$problems" | sed 's/^/# /'
	# ktap_test_result runs its command unquoted: test the length, one word.
	ktap_test_result "$1" [ "${#problems}" = 0 ]
}

# An extmap counter from debugfs.
extmap_counter() {
	cat /sys/kernel/debug/extmap/$1
}

# Whether every file of directory $1 has an identical copy in directory $2.
files_match() {
	for f in "$1"/*; do
		cmp "$f" "$2/$(basename "$f")" || return 1
	done
}

# fsck.emfs on device $1, its report as TAP comments; true if clean.
fsck_clean() {
	report=$(fsck.emfs "$1")
	rc=$?
	echo "$report" | sed 's/^/# /'
	[ $rc = 0 ]
}
