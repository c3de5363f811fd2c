// What must not build: a second holder of a new map appearing while its fields are written
// through the view that proved nobody else holds it.
// target: extmap/mod.rs
// expect: error[E0502]: cannot borrow `em.0` as immutable because it is also borrowed as mutable

fn clone_while_filling(em: &mut ExtentMap, fields: MapFields) {
    if let Some(mut u) = em.0.get_mut() {
        let other = em.0.clone();
        *u.fields_mut() = fields;
        drop(other);
    }
}
