#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of the harness itself, on the host: crafted guest results and kernel
# logs that must turn the check red (and controls that must not). Prints
# "pass NAME" or "fail NAME" per case, as compile_fail.sh does; check.sh counts
# them.
#
#   scripts/harness_test.sh

source "$(dirname "$0")/common.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

report() { # report NAME COMMAND...: pass if COMMAND succeeds
	local name=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		echo "pass harness: $name"
	else
		echo "fail harness: $name"
		sed 's/^/    /' "$T/out" >&2
	fi
}

summary() { # summary KERNEL: tap_summary.py on $T/results.tap and $T/expected
	"$SRCTREE/scripts/tap_summary.py" "$T/results.tap" "$T/expected" "$T/counts" "$1"
}
fails() { ! "$@"; }

tap() { # tap LINE...: a one-collection result file
	{
		echo "TAP version 13"
		echo "1..1"
		echo "# selftests: demo: t.sh"
		echo "# TAP version 13"
		echo "# 1..$#"
		for l in "$@"; do echo "# $l"; done
		echo "ok 1 selftests: demo: t.sh"
	} >"$T/results.tap"
}

printf '%s\n' "a" "[debug] b" >"$T/expected"

tap "ok 1 a" "ok 2 b"
report "every required test passed: green" summary default

tap "ok 1 a # SKIP no such feature" "ok 2 b"
report "a skipped required test is red" fails summary default

tap "ok 1 a" "not ok 2 b # TODO known broken"
report "a TODO is red, required or not" fails summary default

tap "ok 1 a"
report "a debug-only test need not run on default" summary default
report "a debug-only test that did not run is red on debug" fails summary debug

tap "ok 1 a" "ok 2 b # SKIP"
report "a debug-only test skipped on debug is red" fails summary debug

# A counts file left by an earlier run must not be read when the parser dies
# (here: the expected list is a directory).
echo "999 0 0" >"$T/counts"
tap "ok 1 a"
report "a crashed parser leaves no counts behind" \
	fails "$SRCTREE/scripts/guest_summary.sh" "$T/results.tap" "$T" "$T/counts" default
report "... and its counts file is gone" test ! -e "$T/counts"

# Upstream btrfs's per-case verdicts (patches/0002): an early failure must not
# leave the later cases reported as passing.
btrfs_log() { # btrfs_log LAST_CASE VERDICT_OF_LAST [RMAP]
	{
		echo "[    1.0] BTRFS: selftest: running extent_map tests"
		for n in $(seq 1 $(($1 - 1))); do
			echo "[    1.1] BTRFS: selftest: extent_map case $n: ok (0)"
		done
		if [ "$2" = ok ]; then
			echo "[    1.2] BTRFS: selftest: extent_map case $1: ok (0)"
		else
			echo "[    1.2] BTRFS: selftest: fs/btrfs/tests/extent-map-tests.c:99 unexpected"
			echo "[    1.2] BTRFS: selftest: extent_map case $1: fail (-22)"
		fi
		if [ -n "${3:-}" ]; then
			echo "[    1.3] BTRFS: selftest: running rmap tests"
			echo "[    1.3] BTRFS: selftest: rmap case 1: ok (0)"
			echo "[    1.3] BTRFS: selftest: rmap case 2: ok (0)"
		fi
	} >"$T/btrfs.log"
}
verdicts() { # verdicts PASSES FAILS NOTRUN
	"$SRCTREE/selftests/btrfs_upstream/verdicts.sh" "$T/btrfs.log" >"$T/verdicts" || return 1
	cat "$T/verdicts"
	[ "$(grep -c '^pass ' "$T/verdicts")" = "$1" ] &&
		[ "$(grep -c '^fail ' "$T/verdicts")" = "$2" ] &&
		[ "$(grep -c '^notrun ' "$T/verdicts")" = "$3" ]
}
btrfs_log 8 ok rmap
report "btrfs: all ten cases with their ok lines pass" verdicts 10 0 0
btrfs_log 2 fail
report "btrfs: case 2 failing: 1 passes, 1 fails, 8 did not run" verdicts 1 1 8
btrfs_log 8 ok
report "btrfs: the rmap cases without their lines did not run" verdicts 8 0 2
: >"$T/btrfs.log"
report "btrfs: a log without the runner: nothing passes" verdicts 0 0 10
