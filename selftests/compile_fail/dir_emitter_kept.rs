// What must not build: a readdir emitter kept past the `iterate_shared` call that lent it (its
// `dir_context` is the caller's stack).
// target: emfs/mod.rs
// expect: error: lifetime may not live long enough

fn keep_emitter(e: &mut DirEmitter<'_>, slot: &mut Option<&'static mut DirEmitter<'static>>) {
    *slot = Some(e);
}
