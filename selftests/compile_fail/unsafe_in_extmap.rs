// What must not build: `unsafe` code in extmap, which is safe Rust on `rust/`'s abstractions.
// target: extmap/mod.rs
// expect: error: usage of an `unsafe` block

fn peek(em: &ExtentMap) -> u64 {
    let p: *const ExtentMap = em;
    unsafe { (*p).start() }
}
