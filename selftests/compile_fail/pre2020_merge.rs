// What must not build: the pre-2020 merge. Under the write lock, with the map found in the
// tree, rewrite its range in place although other tasks may hold it (btrfs's try_merge_map
// before commit "btrfs: fix race between page release and a fast fsync", 2020).
// target: extmap/mod.rs
// expect: error[E0599]: no method named `fields_mut` found for struct `
// expect: NodeMut<

fn merge_in_place(maps: &mut MapsWrite<'_>, em: &ExtentMap, new: MapFields) {
    if let Some(mut m) = maps.tree().node_mut(em.node()) {
        *m.fields_mut() = new;
    }
}
