#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds emfs.ko and the samples against KSRC; fails on any compiler warning.
#
#   scripts/module.sh KSRC [extra make arguments, e.g. CLIPPY=1]

source "$(dirname "$0")/common.sh"

KSRC=$1
shift
mapfile -t KMAKE < <(kmake_args)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
make -C "$KSRC" "${KMAKE[@]}" M="$SRCTREE" -j"$JOBS" "$@" modules 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || die "module build failed"
if grep -qE '^(warning|error)(\[|:)|: warning:' "$out"; then
	die "the module build printed warnings"
fi
