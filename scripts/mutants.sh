#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Proof that the differential test (extmap-diff, Documentation/extmap-script.rst)
# can fail: each mutant is a copy of the sources with one rule of the merge
# broken, built into its own emfs.ko and run against btrfs's interpreter in a
# VM of its own. The differential must find a difference in each. Likewise the
# fuzzer (emfs:fuzz.sh) must catch the mount sizing an allocation from an
# unchecked on-disk count, and the crash replay (emfs:crash_replay.sh) must catch
# a commit that does not flush before its superblock or writes it without FUA.
#
#   scripts/mutants.sh KSRC OUT
#
# MUTANTS_ONLY="NAME ..." (or NAME,NAME,...) runs only those (by hand, or a part
# of make check-extended).
#
# Prints "pass NAME" or "fail NAME" per mutant (for check.sh), details on stderr.

source "$(dirname "$0")/common.sh"

KSRC=$1
OUT=$2
# The mutants' VMs use the host tools check.sh built (vm.sh writes an image with
# emfs-fuzz); they are not rebuilt per mutant.
export HOST_STATIC_DIR=$OUT/host-static
# A mutant's VM runs one test, in minutes even on the debug kernel; a boot that
# hangs (seen once on the debug kernel under TCG: the console stopped at the
# virtio disks' probe, 143 s in) is cut off after 20 minutes, not the whole
# check's VM_TIMEOUT.
export VM_TIMEOUT=${MUTANT_VM_TIMEOUT:-1200}

# build NAME FILES SED-EXPRESSION LABEL: the mutant's sources and VM image in
# $OUT/mutants/NAME, the expression applied to each of FILES (space-separated;
# each must change); false (with "fail LABEL" printed) if it cannot be made.
build() {
	local name=$1 files=$2 expr=$3 label=$4 file
	if [ -n "${MUTANTS_ONLY:-}" ] && [[ " ${MUTANTS_ONLY//,/ } " != *" $name "* ]]; then
		return 1
	fi
	dir=$OUT/mutants/$name
	rm -rf "$dir"
	mkdir -p "$dir/src"
	(cd "$SRCTREE" && git ls-files -z | rsync -a --from0 --files-from=- ./ "$dir/src/")
	for file in $files; do
		sed -i -e "$expr" "$dir/src/$file"
		if cmp -s "$SRCTREE/$file" "$dir/src/$file"; then
			log "mutant $name: the mutation no longer applies to $file"
			echo "fail $label"
			return 1
		fi
		diff -u "$SRCTREE/$file" "$dir/src/$file" | sed 's/^/    /' >&2 || true
	done
	if ! "$dir/src/scripts/module.sh" "$KSRC" >"$dir/build.log" 2>&1 ||
		! "$dir/src/scripts/initramfs.sh" "$KSRC" "$dir" >>"$dir/build.log" 2>&1; then
		tail -n 20 "$dir/build.log" >&2
		log "mutant $name: build failed"
		echo "fail $label"
		return 1
	fi
}

# mutant NAME FILE SED-EXPRESSION WHAT-IT-BREAKS: extmap-diff must find a difference.
mutant() {
	local name=$1 label="mutants: $1 ($4) is caught by extmap-diff"
	build "$name" "$2" "$3" "$label" || return 0
	HARNESS_MUTANT=$name "$dir/src/scripts/vm.sh" check "$KSRC" "$dir" emfs:extmap_diff.sh >&2 || true
	grep -E 'caught|difference|btrfs: |extmap: ' "$dir/results.tap" 2>/dev/null | head -n 8 >&2 || true
	if grep -qE '^# ok [0-9]+ extmap_diff: the mutant is caught' "$dir/results.tap" 2>/dev/null; then
		echo "pass $label"
	else
		echo "fail $label"
	fi
}

# fuzz_mutant NAME FILE SED-EXPRESSION WHAT-IT-BREAKS: emfs:fuzz.sh must fail
# (the first 80 images of seed 1 hold one whose extent count is past 2^31, image
# 1/72; host/emfs-fuzz/tests/fsck.rs fails if a change to the generator loses it).
fuzz_mutant() {
	local name=$1 label="mutants: $1 ($4) is caught by emfs:fuzz.sh"
	build "$name" "$2" "$3" "$label" || return 0
	FUZZ_SEEDS=1 FUZZ_IMAGES=80 "$dir/src/scripts/vm.sh" check "$KSRC" "$dir" emfs:fuzz.sh >&2 || true
	# A guest that crashed (the mutant's WARN with panic_on_warn) leaves little to show.
	grep -E 'image 1/|ok ' "$dir/results.tap" 2>/dev/null | head -n 8 >&2 || true
	grep -m 3 -E 'WARNING:|BUG:|Oops' "$dir/console.log" >&2 || true
	# Caught: the test ran and failed, or the guest died of the mutant's warning. A
	# VM that never ran (no console, no TAP) catches nothing.
	if grep -qE '^not ok [0-9]+ selftests: emfs: fuzz.sh' "$dir/results.tap" 2>/dev/null ||
		grep -qE 'WARNING:|BUG:|Oops' "$dir/console.log" 2>/dev/null; then
		echo "pass $label"
	else
		echo "fail $label"
	fi
}

# crash_mutant NAME FILES SED-EXPRESSION WHAT-IT-BREAKS: emfs:crash_replay.sh's
# workload must run and its replay must find a point that does not check out.
crash_mutant() {
	local name=$1 label="mutants: $1 ($4) is caught by emfs:crash_replay.sh"
	build "$name" "$2" "$3" "$label" || return 0
	CRASH_SEEDS=1 CRASH_OPS=150 "$dir/src/scripts/vm.sh" check "$KSRC" "$dir" emfs:crash_replay.sh >&2 || true
	grep -E 'FAIL point|replay:|crash replay' "$dir/results.tap" 2>/dev/null | head -n 8 >&2 || true
	if grep -qE '^# ok [0-9]+ crash replay: seed 1: the workload ran' "$dir/results.tap" 2>/dev/null &&
		grep -qE '^# not ok [0-9]+ crash replay: seed 1: every flush point' "$dir/results.tap"; then
		echo "pass $label"
	else
		echo "fail $label"
	fi
}

# test_mutant NAME FILES SED-EXPRESSION WHAT-IT-BREAKS TEST LEAF: guest test
# TEST (coll:script) must run and report LEAF (a test of it) as failed.
test_mutant() {
	local name=$1 test=$5 leaf=$6 label="mutants: $1 ($4) is caught by $5"
	build "$name" "$2" "$3" "$label" || return 0
	"$dir/src/scripts/vm.sh" check "$KSRC" "$dir" "$test" >&2 || true
	grep -E "^# (not )?ok " "$dir/results.tap" 2>/dev/null | head -n 20 >&2 || true
	if grep -qF "# not ok" "$dir/results.tap" 2>/dev/null &&
		grep -E '^# not ok [0-9]+ ' "$dir/results.tap" | grep -qF "$leaf"; then
		echo "pass $label"
	else
		echo "fail $label"
	fi
}

mutant refcount rust/reftree.rs 's/ || node.node().refs.read_acquire() > 2//' \
	"the 2020 rule: a map another holder can see is merged"
# The same mutation through the file system: emfs's merge under the reader of
# race_repro is no longer refused (Documentation/race.rst).
test_mutant refcount-race rust/reftree.rs 's/ || node.node().refs.read_acquire() > 2//' \
	"the 2020 rule: a map another holder can see is merged" \
	emfs:race.sh "race: fsync's merge of B was refused while the reader held it"
mutant modified-list extmap/rules.rs 's/ \&\& !on_modified_list$/ \&\& (!on_modified_list || true)/' \
	"a map on the modified list may merge"
fuzz_mutant extent-count emfs/meta.rs \
	's/KVVec::with_capacity(count.min(EXTENTS_PER_BLOCK), GFP_KERNEL)/KVVec::with_capacity(count, GFP_KERNEL)/; s/> chain_max {/> chain_max.saturating_mul(usize::MAX) {/' \
	"an inode's extent count sizes an allocation before it is checked"
crash_mutant no-flush "emfs/state.rs rust/helpers.c" \
	's/^        dev.flush()?;$//; s/ | (fua ? REQ_PREFLUSH | REQ_FUA : 0)/ | (fua ? REQ_FUA : 0)/' \
	"no cache flush before the superblock: neither the explicit one nor the FUA write's preflush"
crash_mutant no-fua emfs/state.rs \
	's/dev.write(SB_SLOTS\[slot\], buf, true)?;/dev.write(SB_SLOTS[slot], buf, false)?;/' \
	"the superblock written as a plain write: no FUA, no preflush"
crash_mutant fsync-no-commit emfs/file.rs \
	's/        let r = Self::commit(sb);/        let r = Ok(());/' \
	"fsync returns without committing"
test_mutant short-copy rust/vfs/write.rs \
	's/^            copied = 0;$/            copied += 0; unsafe { ffi::emfs_folio_zero_range(folio, (pos as usize) % ffi::emfs_folio_size(folio) + copied, len - copied); ffi::emfs_folio_mark_uptodate(folio) };/' \
	"a short copy zeroes the rest of a folio that was not read: simple_write_end" \
	emfs:short_copy.sh "short copy: emfs: write(2) says what it took, every other byte is old"
test_mutant metadata-bound emfs/namespace.rs \
	's/ + 2 \* self.dirty_blocks + self.punches;$/ + self.punches;/' \
	"a dirty block's reservation leaves out the records it may add" \
	emfs:enospc.sh "enospc: emfs: filled by scattered writes until ENOSPC, every fsync returned 0"
test_mutant punch-no-room emfs/state.rs \
	's/^                if space.available(meta) < grown {$/                if space.available(meta) < grown \&\& false {/' \
	"a hole punched inside an extent adds a record without room promised for it" \
	emfs:enospc.sh "enospc: emfs: holes punched on a full disk until refused, then fsync returned 0"
