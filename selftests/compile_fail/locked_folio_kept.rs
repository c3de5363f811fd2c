// What must not build: a locked folio kept past the `read_folio` call that lent it (the page
// cache unlocks it once the call returns).
// target: emfs/mod.rs
// expect: error: lifetime may not live long enough

fn keep_folio(folio: &mut LockedFolio<'_>, slot: &mut Option<&'static mut LockedFolio<'static>>) {
    *slot = Some(folio);
}
