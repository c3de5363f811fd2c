// What must not build: a holder of a map writing its flags without the tree's write lock
// (only a `NodeMut`, from the write lock, or a map nobody else can see may be written).
// target: emfs/mod.rs
// expect: error[E0599]: no method named `set_flags` found for reference `&
// expect: ExtentMap`

fn mark_logging(em: &ExtentMap) {
    em.set_flags(rules::LOGGING);
}
