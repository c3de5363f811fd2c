// What must not build: a holder of a map that left its tree (other tasks may hold it too)
// setting an owner flag other than LOGGING: readers compute disk addresses from the flags.
// `ExtentMap` offers no way to the node's flags.
// target: emfs/mod.rs
// expect: error[E0599]: no method named `update_flags_unlinked` found for reference `&
// expect: ExtentMap`

fn pin_unlinked(em: &ExtentMap) -> bool {
    em.update_flags_unlinked(rules::PINNED, 0)
}
