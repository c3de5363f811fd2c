// What must not build: a view of a node of the tree (which walks to its neighbours without
// holding a reference) kept after the read lock is dropped.
// target: extmap/mod.rs
// expect: error[E0515]: cannot return value referencing local data `maps.tree`

fn keep_view(tree: &ExtentMapTree) -> Option<NodeView<'_, ExtentMapKind>> {
    let maps = tree.read();
    maps.tree.first()
}
