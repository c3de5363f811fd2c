// What must not build: reaching the reference-counted `Inode` inside an `UnheldInode`.
// target: emfs/mod.rs
// expect: error[E0616]: field `0` of struct `
// expect: UnheldInode` is private

fn keep(inode: &UnheldInode<Emfs>) -> kernel::types::ARef<Inode<Emfs>> {
    kernel::types::ARef::from(&inode.0)
}
