// What must not build: swapping two extent-map trees through their write guards. The trees
// are pinned (their list's entries point into them); the write guard hands out `&mut` only
// for `Unpin` data.
// target: extmap/mod.rs
// expect: error[E0596]: cannot borrow data in dereference of `
// expect: WriteGuard<

fn swap_two_trees(a: &ExtentMapTree, b: &ExtentMapTree) {
    let mut x = a.lock.write();
    let mut y = b.lock.write();
    core::mem::swap(&mut *x, &mut *y);
}
