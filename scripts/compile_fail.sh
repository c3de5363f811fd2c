#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Compile-fail proofs: each snippet in selftests/compile_fail/ is appended to the file its
# `// target:` line names, in a scratch copy of the crate, and type-checked with the exact
# rustc command Kbuild used for emfs_main.o (metadata only: no code generation). A snippet
# passes if the first error rustc reports contains its `// expect:` text, or, for
# `// expect: builds` (the control), if it builds. One line per snippet on stdout:
# "pass NAME" or "fail NAME"; the reason on stderr.
#
#   scripts/compile_fail.sh KSRC OUT      (after scripts/module.sh KSRC)

source "$(dirname "$0")/common.sh"

KSRC=$1
OUT=$2/compile-fail
cmdfile=$SRCTREE/.emfs_main.o.cmd
[ -f "$cmdfile" ] || die "$cmdfile is missing: build the module first"
# Kbuild lets the stable compiler take the kernel's unstable options; so must we.
export RUSTC_BOOTSTRAP=1
cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile")
[ -n "$cmd" ] || die "no command in $cmdfile"
# The object and dependency outputs become one metadata output in the scratch directory.
cmd=$(printf '%s' "$cmd" | sed -E 's/ --emit=[^ ]+//g; s/ --out-dir [^ ]+//')
rm -rf "$OUT"
mkdir -p "$OUT"

# Whether $1 contains every line of $2.
contains_all() {
	local part
	while IFS= read -r part; do
		[[ "$1" == *"$part"* ]] || return 1
	done <<<"$2"
}

check() {
	local snippet=$1 name target expect scratch c rc first
	name=compile-fail:$(basename "$snippet" .rs)
	target=$(sed -n 's|^// target: ||p' "$snippet")
	# Several `// expect:` lines: each must be part of the first error (the parts of a
	# message that do not depend on how rustc qualifies paths in that context).
	expect=$(sed -n 's|^// expect: ||p' "$snippet")
	if [ -z "$target" ] || [ -z "$expect" ] || [ ! -f "$SRCTREE/$target" ]; then
		echo "$name: no valid '// target:' and '// expect:' lines" >&2
		echo "fail $name"
		return
	fi
	scratch=$OUT/$(basename "$snippet" .rs)
	mkdir -p "$scratch"
	# The crate: its root and the three directories of its modules.
	cp "$SRCTREE/emfs_main.rs" "$scratch/"
	(cd "$SRCTREE" && rsync -a --include='*/' --include='*.rs' --exclude='*' \
		rust extmap emfs "$scratch/")
	{ echo; cat "$snippet"; } >>"$scratch/$target"
	c=${cmd//"$SRCTREE/emfs_main.rs"/"$scratch/emfs_main.rs"}
	c="$c --out-dir $scratch --emit=metadata=$scratch/emfs_main.rmeta"
	if (cd "$KSRC" && eval "$c") >"$scratch/rustc.log" 2>&1; then
		rc=0
	else
		rc=1
	fi
	first=$(grep -m1 -E '^error' "$scratch/rustc.log" || true)
	if [ "$expect" = builds ]; then
		if [ $rc = 0 ]; then
			echo "pass $name"
		else
			echo "$name: the control does not build: $first (see $scratch/rustc.log)" >&2
			echo "fail $name"
		fi
	elif [ $rc = 0 ]; then
		echo "$name: builds, but must not ($expect)" >&2
		echo "fail $name"
	elif contains_all "$first" "$expect"; then
		echo "pass $name"
	else
		echo "$name: fails for another reason: $first (expected: ${expect//$'\n'/ ... })" >&2
		echo "fail $name"
	fi
}

# Two at a time (rustc's type check of the crate is single-threaded): the verdicts and
# reasons in the snippets' order. CF_ONLY="NAME ..." checks only those (by hand).
i=0
for snippet in "$SRCTREE"/selftests/compile_fail/*.rs; do
	n=$(basename "$snippet" .rs)
	if [ -n "${CF_ONLY:-}" ] && [[ " $CF_ONLY " != *" $n "* ]]; then
		continue
	fi
	check "$snippet" >"$OUT/$n.verdict" 2>"$OUT/$n.reason" &
	i=$((i + 1))
	if [ $((i % ${CF_JOBS:-2})) = 0 ]; then
		wait
	fi
done
wait
for verdict in "$OUT"/*.verdict; do
	[ -e "$verdict" ] || continue
	cat "${verdict%.verdict}.reason" >&2
	cat "$verdict"
done
