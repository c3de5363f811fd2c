// What must not build: a new holder of a map appearing while a merge has exclusive access to
// it (the exclusive view borrows the caller's reference mutably, so it cannot be cloned).
// target: extmap/mod.rs
// expect: error[E0502]: cannot borrow `*em` as immutable because it is also borrowed as mutable

fn clone_during_merge(maps: &mut MapsWrite<'_>, em: &mut ExtentMap, new: MapFields) {
    if let Some(mut x) = maps.tree().exclusive(em.node_mut()) {
        let reader = em.clone();
        *x.fields_mut() = new;
        drop(reader);
    }
}
