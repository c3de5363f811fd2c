// What must not build: taking a reference to an inode whose count may be zero (eviction,
// writeback completion), which would `ihold` a dying inode.
// target: emfs/mod.rs
// expect: error[E0277]: the trait bound `
// expect: UnheldInode<
// expect: AlwaysRefCounted` is not satisfied

fn keep(inode: &UnheldInode<Emfs>) -> kernel::types::ARef<UnheldInode<Emfs>> {
    kernel::types::ARef::from(inode)
}
