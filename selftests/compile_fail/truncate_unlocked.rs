// What must not build: dropping an inode's page cache without its lock.
// target: emfs/mod.rs
// expect: error[E0599]: no method named `truncate_setsize` found for reference `&
// expect: Inode<

fn shrink(inode: &Inode<Emfs>) -> Result {
    inode.truncate_setsize(0)
}
