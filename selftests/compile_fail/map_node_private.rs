// What must not build: reaching the node underneath an `ExtentMap` from outside extmap, to
// use what the node type offers (flags of an unlinked node, `get_mut`).
// target: emfs/mod.rs
// expect: error[E0616]: field `0` of struct `
// expect: ExtentMap` is private

fn clear_prealloc(em: &ExtentMap) -> bool {
    em.0.update_flags_unlinked(0, rules::PREALLOC)
}
