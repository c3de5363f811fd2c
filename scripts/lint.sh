#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rustfmt check of every Rust file, then the modules built with clippy and the
# kernel's lints (CLIPPY=1); any warning fails.
#
#   scripts/lint.sh KSRC

source "$(dirname "$0")/common.sh"

KSRC=$1
cd "$SRCTREE"
mapfile -t files < <(git ls-files '*.rs' 2>/dev/null || find . -name '*.rs' -not -path './build/*')
rc=0
if [ ${#files[@]} -gt 0 ]; then
	"$RUSTFMT" --edition 2021 --config-path "$KSRC/.rustfmt.toml" --check "${files[@]}" || {
		echo "rustfmt: run 'make fmt'" >&2
		rc=1
	}
fi
# No `make clean` first (it would also delete every *.o below the tree, host/target
# included): Kbuild rebuilds the Rust objects anyway, because the compiler command
# (clippy-driver instead of rustc) changed.
mkdir -p "$SRCTREE/build"
"$SRCTREE/scripts/module.sh" "$KSRC" CLIPPY=1 >"$SRCTREE/build/clippy.log" 2>&1 || {
	cat "$SRCTREE/build/clippy.log" >&2
	rc=1
}
exit $rc
