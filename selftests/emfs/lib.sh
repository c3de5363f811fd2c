# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the emfs selftests. Sourced.

. "$(dirname "$0")/../kselftest/ktap_helpers.sh"

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

# Reports of a kernel problem in the log since the mark.
log_problems() {
	log_since_mark | grep -E 'WARNING:|BUG:|Oops|KASAN|UBSAN|possible circular|possible recursive|inconsistent lock state|Call Trace|refcount_t:|list_add corruption|list_del corruption|kfence'
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
