# SPDX-License-Identifier: GPL-2.0
# Shared settings for the build and VM scripts. Sourced, not executed.

set -euo pipefail

SRCTREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Everything large lives outside the clone, so a fresh clone reuses it.
CACHE_DIR=${EXTMAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/extmap-emfs}
TOOLS_DIR=$CACHE_DIR/tools

# Versions we pin. Changing one of them changes the kernel cache key.
KERNEL_PKG=linux-source-6.12
BINDGEN_VERSION=0.73.2

# Debian's Rust toolchain (rustc-web). rustup's rustc has no rust-src and
# must never build kernel code.
RUSTC=/usr/bin/rustc
RUSTDOC=/usr/bin/rustdoc
RUSTFMT=/usr/bin/rustfmt
CLIPPY_DRIVER=/usr/bin/clippy-driver
BINDGEN=$TOOLS_DIR/bin/bindgen

JOBS=${JOBS:-$(( $(nproc) + 1 ))}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Kernel make with the project's toolchain.
kmake_args() {
	printf '%s\n' LLVM=1 "RUSTC=$RUSTC" "RUSTDOC=$RUSTDOC" "RUSTFMT=$RUSTFMT" \
		"CLIPPY_DRIVER=$CLIPPY_DRIVER" "BINDGEN=$BINDGEN"
}
