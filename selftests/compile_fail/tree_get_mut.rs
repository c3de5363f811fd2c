// What must not build: unpinning a tree to get `&mut` to it (from which it could be moved).
// target: extmap/mod.rs
// expect: error[E0277]: `
// expect: PhantomPinned` cannot be unpinned

fn unpin_tree(a: &ExtentMapTree, b: &mut Tree<ExtentMapKind>) {
    let mut x = a.lock.write();
    core::mem::swap(x.as_mut().get_mut(), b);
}
