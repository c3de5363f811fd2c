// What must not build: writing a slab cache's count of live objects. `destroy` refuses while
// it is not 0; safe code that could reset it could destroy the cache under live maps.
// target: extmap/mod.rs
// expect: error[E0624]
// expect: live_counter

fn forget_the_maps() {
    EXTENT_MAP_CACHE
        .live_counter()
        .store(0, core::sync::atomic::Ordering::SeqCst);
}
