// What must not build: an inode's data holding a reference to its own inode (`InodeData` is
// `Send + Sync`, `ARef<Inode>` neither): the inode could never be evicted, and its data would
// outlive the superblock.
// target: emfs/mod.rs
// expect: error[E0277]: `
// expect: bindings::inode>>` cannot be shared between threads safely

struct SelfHeld {
    maps: EmfsInode,
    me: kernel::types::ARef<Inode<Emfs>>,
}

fn as_inode_data() {
    fn inode_data<D: Send + Sync>() {}
    inode_data::<SelfHeld>();
}
