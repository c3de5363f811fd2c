// SPDX-License-Identifier: GPL-2.0

//! emfs: the file system whose paths run on extmap the way btrfs's do.
//!
//! - Reads: `read_folio`/`readahead` look a file's extent maps up in its extmap tree under the
//!   read lock and hold a reference while they use one; on a miss they load the record covering
//!   the range (or synthesise a hole map for a gap) and insert it with the `-EEXIST` resolution
//!   of `btrfs_add_extent_mapping`.
//! - Writeback: `writepages` allocates contiguous blocks and inserts a PINNED, modified map with
//!   `replace_range`; the bio's completion (on a workqueue) records the file-extent record and
//!   calls `unpin` with the transaction's generation, btrfs's ordered-extent completion.
//! - fsync: the modified maps newer than the last commit are marked LOGGING and held, the
//!   records are made durable with a commit, then `clear_logging` tries each merge.
//! - `release_folio` drops the folio's maps with btrfs's `try_release_extent_mapping` rules;
//!   eviction drops all of a file's maps; under memory pressure the shrinker ([`shrink`]) drops
//!   maps nobody needs, those with no folio (`SEEK_DATA`/`SEEK_HOLE`'s) included.
//!
//! Metadata lives in memory ([`state::State`]: the namespace, every file's records, the free
//! space) and reaches the disk by copy-on-write commits. The format is
//! `Documentation/filesystems/emfs.rst`.

#![forbid(unsafe_code)]

mod aops;
pub(crate) mod checksum_tests;
pub mod crc32c_vectors;
pub mod debug;
pub mod dinode;
pub mod dir;
pub(crate) mod dir_tests;
pub mod dirent;
mod file;
pub mod format;
mod inode;
pub mod meta;
pub(crate) mod meta_tests;
pub mod namespace;
pub(crate) mod namespace_tests;
pub mod ns_check;
pub mod ownership;
pub(crate) mod records;
pub(crate) mod records_tests;
pub mod shrink;
pub(crate) mod space;
pub(crate) mod state;
pub(crate) mod state_tests;
pub mod superblock;

use crate::extmap::{rules, ExtentMap, ExtentMapTree};
/// The format's checksum (see [`format`]): the kernel's `crc32c()`.
pub use crate::kernel_ext::crc32c::crc32c;
use crate::kernel_ext::nofs::NoFsScope;
use crate::kernel_ext::vfs::{
    self, falloc, AddressSpaceOperations, BlockReader, DirEmitter, FileOperations, FileSystem,
    FileType, Inode, InodeOperations, InodeParams, LockedFolio, LockedInode, NewInode, ReadBatch,
    Readahead, RenameFlags, Reserved, StatFs, SuperBlock, UnheldInode,
};
use core::sync::atomic::{AtomicU64, Ordering};
use dinode::S_IFLNK;
use format::*;
use kernel::{
    c_str,
    prelude::*,
    str::CStr,
    sync::{
        lock::{mutex::MutexBackend, Guard},
        new_condvar, new_mutex, Arc, CondVar, Mutex,
    },
};
use state::{ino32, NsOp, State};

/// The state, locked (the mutex's guard) in a scope where allocations do not recurse into the file
/// system (`NoFsScope`). The guard goes before the allocation scope (field order): it is
/// released first.
struct StateGuard<'a> {
    st: Guard<'a, State, MutexBackend>,
    _nofs: NoFsScope,
}

impl core::ops::Deref for StateGuard<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.st
    }
}

impl core::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.st
    }
}

/// The per-mount state.
pub struct Emfs {
    /// Everything the next commit writes, and the allocator.
    state: Pin<KBox<Mutex<State>>>,
    /// Signalled when the last write in flight was recorded (a commit waits for that).
    idle: Pin<KBox<CondVar>>,
    /// The running transaction, readable without the mutex (`release_folio` runs in reclaim,
    /// where the mutex may be held by the allocating task).
    transid: AtomicU64,
    /// Metadata errors were found at mount: nothing may be written.
    read_only: bool,
    /// The cached inodes' extent-map trees, for the shrinker.
    trees: shrink::TreeRegistry,
}

/// The per-inode state.
pub struct EmfsInode {
    /// The file's extent maps; the mount's shrinker ([`shrink::TreeRegistry`]) holds the tree too.
    pub maps: Arc<ExtentMapTree>,
}

/// A write in flight: file range `[pos, pos + len)` goes to blocks from `blk`.
pub struct WriteCtx {
    pos: u64,
    len: u64,
    blk: u64,
    /// How many of the folios written held a space reservation.
    reserved: u64,
}

fn euclean() -> Error {
    crate::kernel_ext::errno::euclean()
}

const BS: u64 = BLOCK_SIZE as u64;

fn round_up(x: u64) -> u64 {
    x.div_ceil(BS).saturating_mul(BS)
}

fn round_down(x: u64) -> u64 {
    x - x % BS
}

impl Emfs {
    /// Waits for the writes in flight to be recorded, then commits.
    fn commit(sb: &SuperBlock<Self>) -> Result {
        let fs = sb.data();
        let mut st = fs.lock();
        while st.inflight > 0 {
            fs.idle.wait(&mut st.st);
        }
        let r = st.st.commit(&mut &*sb);
        fs.transid.store(st.transid, Ordering::Release);
        r
    }

    /// Runs `take`, which takes room for something (`-ENOSPC` when there is none); when it finds
    /// none but a commit would give back blocks, commits and runs it again: deleted or
    /// overwritten blocks come back when a commit no longer uses them.
    fn with_room(sb: &SuperBlock<Self>, take: impl Fn(&mut State) -> Result) -> Result {
        {
            let mut st = sb.data().lock();
            match take(&mut st) {
                Err(e) if e == ENOSPC && st.commit_frees_space() => {}
                r => return r,
            }
        }
        Self::commit(sb)?;
        take(&mut sb.data().lock())
    }

    /// The state lock, for a namespace operation `op`: when there is no room for it but a commit
    /// would give back blocks, commits first, as a write's reservation does.
    fn lock_for(sb: &SuperBlock<Self>, op: NsOp) -> Result<StateGuard<'_>> {
        {
            let mut st = sb.data().lock();
            if st.ns_room(op) || !st.commit_frees_space() {
                return Ok(st);
            }
        }
        Self::commit(sb)?;
        Ok(sb.data().lock())
    }

    /// Takes the state lock, in a scope where allocations do not recurse into the file system.
    fn lock(&self) -> StateGuard<'_> {
        let nofs = NoFsScope::enter();
        StateGuard {
            st: self.state.lock(),
            _nofs: nofs,
        }
    }

    fn write_done(&self, st: &mut State) {
        st.inflight -= 1;
        if st.inflight == 0 {
            self.idle.notify_all();
        }
    }
}

#[vtable]
impl FileSystem for Emfs {
    const NAME: &'static CStr = c_str!("emfs");
    const MAGIC: u64 = SB_MAGIC;
    const ROOT_INO: u64 = ROOT_INO as u64;
    const MAX_LINKS: u32 = dinode::MAX_LINKS;
    const BLOCK_SIZE: usize = format::BLOCK_SIZE;
    type InodeData = EmfsInode;
    type WriteCtx = WriteCtx;

    fn fill_super(dev: &BlockReader) -> Result<Self> {
        let mut st = State::load(&mut &*dev, dev.blocks())?;
        let read_only = st.read_only();
        if read_only {
            pr_err!("metadata errors: mounting read-only\n");
        } else if !dev.is_read_only() {
            st.delete_orphans()?;
        }
        let transid = AtomicU64::new(st.transid);
        let trees = shrink::TreeRegistry::new(st.ns().len() as usize)?;
        Ok(Emfs {
            state: KBox::pin_init(new_mutex!(st, "emfs_state"), GFP_KERNEL)?,
            idle: KBox::pin_init(new_condvar!("emfs_idle"), GFP_KERNEL)?,
            transid,
            read_only,
            trees,
        })
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<EmfsInode>> {
        let i = sb.data().lock().inode(ino)?.disk;
        if !i.in_use() {
            return Err(ENOENT);
        }
        // The mount's checks accepted the slot: its type is one of the seven.
        let ty = FileType::from_mode(i.mode).ok_or_else(euclean)?;
        let rdev = match ty {
            FileType::CharDev | FileType::BlockDev => dinode::decode_kdev(i.rdev),
            _ => 0,
        };
        let maps = Arc::pin_init(ExtentMapTree::new(), GFP_KERNEL)?;
        let params = InodeParams {
            ty,
            perm: i.mode & 0o7777,
            rdev,
            size: i64::try_from(i.size).map_err(|_| euclean())?,
            nlink: i.nlink,
            uid: i.uid,
            gid: i.gid,
            atime: i.atime,
            mtime: i.mtime,
            ctime: i.ctime,
            data: KBox::pin(EmfsInode { maps: maps.clone() }, GFP_KERNEL)?,
        };
        // Last: if this function fails, no inode gets `maps` and no eviction unregisters it.
        sb.data().trees.register(ino, &maps);
        Ok(params)
    }

    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs> {
        let mut st = sb.data().lock();
        let free_files = (ROOT_INO + 1..st.ns().len())
            .filter_map(|ino| st.ns().inode(ino).ok())
            .filter(|n| !n.bad && !n.disk.in_use())
            .count() as u64;
        Ok(StatFs {
            blocks: st.sb.total_blocks,
            free_blocks: st.statfs_free(),
            avail_blocks: st.statfs_avail(),
            files: u64::from(st.ns().len() - ROOT_INO),
            free_files,
            name_max: dirent::DIR_NAME_MAX as u64,
        })
    }

    fn dirty_inode(inode: &UnheldInode<Self>) {
        let a = inode.attrs();
        let mut st = inode.super_block().data().lock();
        let Ok(i) = st.attrs_mut(inode.ino()) else {
            return;
        };
        // The type never changes; the link count and a directory's or symlink's size are the
        // namespace's, which the VFS's follow.
        i.mode = (i.mode & S_IFMT) | (a.mode & 0o7777);
        if i.kind() == S_IFREG {
            i.size = a.size.max(0) as u64;
        }
        i.uid = a.uid;
        i.gid = a.gid;
        i.atime = a.atime;
        i.mtime = a.mtime;
        i.ctime = a.ctime;
    }

    fn evict(inode: &UnheldInode<Self>) {
        let fs = inode.super_block().data();
        if inode.attrs().nlink == 0 && !fs.read_only {
            let freed = ino32(inode.ino()).and_then(|ino| fs.lock().delete_inode(ino));
            if let Err(e) = freed {
                pr_err!("inode {}: cannot free it: {:?}\n", inode.ino(), e);
            }
        }
        let maps = &inode.data().maps;
        maps.drop_all();
        fs.trees.unregister(inode.ino(), maps);
    }

    fn sync_fs(sb: &SuperBlock<Self>, wait: bool) -> Result {
        if !wait || sb.is_read_only() || sb.data().read_only {
            return Ok(());
        }
        Self::commit(sb)
    }

    fn nr_cached_objects(sb: &SuperBlock<Self>) -> usize {
        sb.data().trees.count()
    }

    fn free_cached_objects(sb: &SuperBlock<Self>, nr_to_scan: usize) -> usize {
        let fs = sb.data();
        fs.trees
            .shrink(nr_to_scan, fs.transid.load(Ordering::Acquire))
    }

    fn put_super(sb: &SuperBlock<Self>) {
        if sb.is_read_only() || sb.data().read_only {
            return;
        }
        if let Err(e) = Self::commit(sb) {
            pr_err!("final commit failed: {:?}\n", e);
        }
    }
}
