// What must build (the control: if this fails, the harness itself is broken and every
// "does not build" above proves nothing). The same operations done the allowed way.
// target: extmap/mod.rs
// expect: builds

fn allowed(tree: &ExtentMapTree, fields: MapFields) -> Result {
    let mut em = ExtentMap::alloc(fields, PINNED)?;
    em.set_generation(7)?;
    let mut maps = tree.write();
    maps.insert(&mut em, true)?;
    if let Some(mut m) = maps.tree().node_mut(em.node()) {
        m.set_flags(LOGGING);
        m.set_generation(8);
    }
    if let Some(mut x) = maps.tree().exclusive(em.node_mut()) {
        x.fields_mut().len += 0;
    }
    Ok(())
}
