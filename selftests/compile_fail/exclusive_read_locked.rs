// What must not build: an exclusive view (write access to the range fields) under the read
// lock, which other readers share.
// target: extmap/mod.rs
// expect: error[E0599]: no method named `exclusive` found for struct `ReadGuard<

fn exclusive_reading(tree: &ExtentMapTree, em: &mut ExtentMap) {
    let maps = tree.read();
    let _ = maps.tree.exclusive(em.node_mut());
}
