// What must not build: a folio of a readahead batch (locked, to be ended by this readahead)
// handed to another kernel thread that may end it after the batch is gone.
// target: emfs/mod.rs
// expect: error[E0277]: `*mut
// expect: folio` cannot be sent between threads safely

fn read_elsewhere(folio: crate::kernel_ext::vfs::ReadaheadFolio) {
    let _ = crate::kernel_ext::kthread::KThread::spawn(c_str!("reader"), move || {
        folio.zero_and_finish();
        0
    });
}
