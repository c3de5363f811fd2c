// What must not build: walking from the neighbour of an exclusively held map back to that map,
// to hand out a reference to it while the merge writes it.
// target: extmap/mod.rs
// expect: error[E0599]: no method named `prev` found for struct `
// expect: Neighbour<

fn back_to_held(x: &crate::kernel_ext::reftree::Exclusive<'_, ExtentMapKind>) -> Option<ExtentMap> {
    let next = x.next()?;
    next.prev().map(|v| ExtentMap(v.to_ref()))
}
