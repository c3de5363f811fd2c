// What must not build: a tree's lock guard moved to another kernel thread (a spinning rwlock is
// released by the task that took it).
// target: extmap/mod.rs
// expect: error[E0277]: `*mut ()` cannot be sent between threads safely

fn unlock_elsewhere(tree: &'static ExtentMapTree) {
    let maps = tree.write();
    let _ = crate::kernel_ext::kthread::KThread::spawn(c_str!("unlock"), move || {
        drop(maps);
        0
    });
}
