// What must not build: write access to a map in a tree (its flags, its generation) kept after
// the write lock is dropped.
// target: extmap/mod.rs
// expect: error[E0515]: cannot return value referencing local variable `maps`

fn keep_node_mut<'a>(
    tree: &'a ExtentMapTree,
    em: &ExtentMap,
) -> Option<NodeMut<'a, ExtentMapKind>> {
    let mut maps = tree.write();
    maps.tree().node_mut(em.node())
}
