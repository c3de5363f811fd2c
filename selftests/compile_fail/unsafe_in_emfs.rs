// What must not build: `unsafe` code in emfs.
// target: emfs/mod.rs
// expect: error: declaration of an `unsafe` function

unsafe fn trust_me() {}
