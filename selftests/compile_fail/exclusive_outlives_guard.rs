// What must not build: an exclusive view of a map kept after the write lock is dropped (the
// merge would then write a map other tasks can reach again).
// target: extmap/mod.rs
// expect: error[E0515]: cannot return value referencing local variable `maps`

fn keep_exclusive<'a>(
    tree: &'a ExtentMapTree,
    em: &'a mut ExtentMap,
) -> Option<crate::kernel_ext::reftree::Exclusive<'a, ExtentMapKind>> {
    let mut maps = tree.write();
    maps.tree().exclusive(em.node_mut())
}
