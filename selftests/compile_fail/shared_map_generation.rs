// What must not build: a holder of a shared map writing its generation (a new map's creator
// may, through `&mut`, and is refused at run time if the map is shared or in a tree).
// target: emfs/mod.rs
// expect: error[E0596]: cannot borrow `*em` as mutable, as it is behind a `&` reference

fn set_generation(em: &ExtentMap) -> Result {
    em.set_generation(7)
}
