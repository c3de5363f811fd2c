// What must not build: linking a map into a tree under the read lock.
// target: extmap/mod.rs
// expect: error[E0599]: no method named `insert` found for struct `ReadGuard<

fn insert_reading(tree: &ExtentMapTree, em: &ExtentMap) {
    let maps = tree.read();
    let _ = maps.tree.insert(em.node().clone(), false);
}
