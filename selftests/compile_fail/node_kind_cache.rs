// What must not build: a node kind whose cache is not one `static`. Nodes are freed into
// `K::CACHE`; a kind that named a different cache on each use would free a node into a cache
// it did not come from (and let that cache be destroyed under live objects). A constant can
// point at a cache, which has interior mutability, only if the cache is a `static`.
// target: extmap/mod.rs
// expect: error[E0492]

struct FreshCacheKind;

impl NodeKind for FreshCacheKind {
    type Fields = MapFields;
    const CACHE: &'static KmemCache<Node<Self>> = &KmemCache::new();
}
