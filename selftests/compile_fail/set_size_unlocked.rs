// What must not build: changing an inode's size without its lock (`i_size_write` needs it).
// target: emfs/mod.rs
// expect: error[E0599]: no method named `set_size` found for reference `&
// expect: Inode<

fn grow(inode: &Inode<Emfs>) -> Result {
    inode.set_size(1 << 20)
}
