// SPDX-License-Identifier: GPL-2.0

//! An intrusive red-black tree of reference-counted nodes over `struct rb_node`, keyed by the
//! start of the byte range each node covers, with a `list_head` per node for a list the tree's
//! owner keeps (btrfs's list of modified extent maps).
//!
//! This is the layer that makes extmap's merge rule a type rule. A node's range fields
//! ([`NodeKind::Fields`]) are read by anyone holding a reference and may be rewritten in place
//! only through an [`Exclusive`] view, which [`Tree::exclusive`] hands out only while the caller
//! holds the tree mutably (under extmap's write lock) and the node's reference count shows no
//! holder besides the tree and the caller. New references are taken only under the tree lock or
//! by cloning a reference one already holds, so the view is truly exclusive. This is the Rust form
//! of btrfs's `refcount_read(&em->refs) > 2 => don't merge`, in the spirit of `Arc::get_mut`.
//!
//! C header: [`include/linux/rbtree.h`](srctree/include/linux/rbtree.h)

use super::{links, refcount::Refcount, slab::KmemCache};
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    mem::offset_of,
    ptr::{self, NonNull},
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};
use kernel::{bindings, prelude::*, types::Opaque};

/// A byte range `[start, end)`.
pub trait Range: Copy + Send + Sync {
    /// First byte.
    fn start(&self) -> u64;
    /// One past the last byte (saturating at `u64::MAX`).
    fn end(&self) -> u64;
}

/// What a kind of node carries.
pub trait NodeKind: Sized + 'static {
    /// The fields that only an [`Exclusive`] view may rewrite once the node is shared.
    type Fields: Range;
    /// The slab cache nodes of this kind are allocated from and freed into.
    ///
    /// A constant, not a function, so that every use is the same cache: a constant may point
    /// at interior-mutable data (a [`KmemCache`] is) only if that is a `static`, so it cannot
    /// name a different cache each time, and a node is always freed into the cache it came
    /// from.
    const CACHE: &'static KmemCache<Node<Self>>;
}

/// Node state bits the tree maintains (the top two bits of the flags word).
const LINKED: u32 = 1 << 31;
const ON_LIST: u32 = 1 << 30;
/// Where the number of the tree a node is linked in sits in its flags word (see [`Tree`]).
const TREE_SHIFT: u32 = 8;
const TREE_BITS: u32 = super::ffi::EMFS_TREE_ID_MAX << TREE_SHIFT;
/// The bits of the flags word that belong to the node's owner.
pub const OWNER_FLAGS: u32 = (1 << TREE_SHIFT) - 1;

// The three parts of the flags word do not overlap, and the tree numbers rust/tree_id.c hands
// out fit theirs.
const _: () = assert!(
    OWNER_FLAGS & TREE_BITS == 0
        && (OWNER_FLAGS | TREE_BITS) & (LINKED | ON_LIST) == 0
        && TREE_BITS >> TREE_SHIFT == super::ffi::EMFS_TREE_ID_MAX
);

/// A node: the tree linkage, the range fields, a generation, a flags word and the count.
///
/// # Invariants
///
/// - `refs` is the number of [`NodeRef`]s to the node, plus one while `LINKED` is set in `flags`
///   (the tree's reference).
/// - `LINKED` is set while `rb` is linked into a [`Tree`], and from the moment a tree claims the
///   node in [`Tree::insert`] (with an atomic test-and-set, so that only one tree can; with a
///   plain store in [`Tree::insert_unshared`] and [`NodeMut::replace`], whose caller holds the
///   only reference) until it links it or gives it back. `ON_LIST` is set iff `list` is on that tree's list (so `ON_LIST`
///   implies `LINKED`). `rb`, `list` and both bits change only through a mutable borrow of that
///   tree, and `rb`/`list` are read only through a borrow of it.
/// - The `TREE_BITS` of `flags` hold the number of the tree `rb` is linked into (0 if that tree
///   has none) and are 0 while the node is not linked (claimed or not); they change only
///   through a mutable borrow of that tree, as it links or unlinks the node.
/// - `fields` is written only through an [`Unshared`] view (one reference, not linked) or an
///   [`Exclusive`] view (the tree mutably borrowed, at most the tree's and the caller's
///   references).
/// - `generation` and the owner bits of `flags` are written only through an [`Unshared`] view,
///   a [`NodeMut`] (the node linked in a mutably borrowed tree: extmap's write lock, where btrfs
///   writes them) or an [`Exclusive`] view. They are atomics because holders read them without
///   the lock.
#[repr(C)]
pub struct Node<K: NodeKind> {
    rb: Opaque<bindings::rb_node>,
    fields: UnsafeCell<K::Fields>,
    generation: AtomicU64,
    flags: AtomicU32,
    refs: Refcount,
    list: Opaque<bindings::list_head>,
}

impl<K: NodeKind> Node<K> {
    fn fields(&self) -> K::Fields {
        // SAFETY: Callers reach a node only through a `NodeRef` (a counted reference) or a borrow
        // of the tree that links it. A writer needs either `Unshared` (one reference, unlinked:
        // not the case while another reference or a tree borrow exists) or an `Exclusive` view,
        // which needs the tree mutably borrowed (excluding every tree borrow) and at most two
        // references, the tree's and the writer's own, which it borrows mutably (excluding every
        // other `NodeRef`). So no write can run concurrently with this read.
        unsafe { *self.fields.get() }
    }

    fn state(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    // The three writers below are private: the views that may write (see the type invariant)
    // call them.
    fn set_generation(&self, generation: u64) {
        self.generation.store(generation, Ordering::Release)
    }

    // A load and a store, not a read-modify-write (btrfs writes its flags plainly under the
    // lock): the views that call these exclude every other writer of the flags (the tree's
    // write borrow, or the only reference), except the claim of `Tree::insert` by another
    // task holding a reference, which on a node that is linked (all but `Unshared`'s) sets
    // `LINKED` where it is already set: it stores the value that is there, and no update is
    // lost.
    fn set_flags(&self, bits: u32) {
        let f = self.flags.load(Ordering::Relaxed);
        self.flags
            .store(f | (bits & OWNER_FLAGS), Ordering::Release);
    }

    fn clear_flags(&self, bits: u32) {
        let f = self.flags.load(Ordering::Relaxed);
        self.flags
            .store(f & !(bits & OWNER_FLAGS), Ordering::Release);
    }

    /// Records, as a tree the caller has mutably borrowed links the node, that tree's number
    /// `tree` and, with `on_list`, `ON_LIST`. A load and a store, for the reason `set_flags`
    /// gives: the node is claimed (`LINKED`), so only another claim can write meanwhile, and
    /// it stores the `LINKED` already there.
    fn mark_linked(&self, tree: u32, on_list: bool) {
        let f = self.flags.load(Ordering::Relaxed);
        let listed = if on_list { ON_LIST } else { 0 };
        self.flags
            .store(f | (tree << TREE_SHIFT) | listed, Ordering::Release);
    }

    /// The number of the tree the node is linked in, if it is (0: a tree with no number).
    fn tree_number(&self) -> Option<u32> {
        let f = self.state();
        (f & LINKED != 0).then_some((f & TREE_BITS) >> TREE_SHIFT)
    }

    /// Clears `clear` (of `LINKED`, `ON_LIST` and `TREE_BITS`) of a node linked in a tree the
    /// caller has mutably borrowed, as it leaves the list or the tree. A load and a store: the
    /// node is linked until the store, and meanwhile the only other writer is a claim, which
    /// stores the `LINKED` already there (`update_flags_unlinked` writes nothing to a linked
    /// node).
    fn unmark(&self, clear: u32) {
        let f = self.flags.load(Ordering::Relaxed);
        self.flags.store(f & !clear, Ordering::Release);
    }

    /// # Safety
    ///
    /// `rb` must be the `rb_node` of a `Node<K>`.
    unsafe fn from_rb<'a>(rb: *mut bindings::rb_node) -> &'a Node<K> {
        // SAFETY: `rb` is the first field of the `#[repr(C)]` `Node<K>` (offset 0), so the cast
        // recovers the node; the caller guarantees it is one.
        unsafe { &*rb.cast::<Node<K>>() }
    }

    /// # Safety
    ///
    /// `list` must be the `list_head` of a `Node<K>`.
    unsafe fn from_list<'a>(list: *mut bindings::list_head) -> &'a Node<K> {
        // SAFETY: The caller guarantees `list` is the `list` field of a `Node<K>`, so stepping
        // back by its offset stays inside that node.
        unsafe {
            &*list
                .cast::<u8>()
                .sub(offset_of!(Node<K>, list))
                .cast::<Node<K>>()
        }
    }
}

/// A counted reference to a [`Node`].
///
/// # Invariants
///
/// `ptr` points to a live node allocated from `K::CACHE`, and this reference is counted in the
/// node's `refs`.
///
/// # Examples
///
/// ```ignore
/// let mut a = NodeRef::<K>::new(fields, 0, 0)?;
/// a.get_mut().ok_or(EBUSY)?.set_generation(3); // alone: everything may be written
/// let b = a.clone(); // shared now: only reads
/// assert!(a.get_mut().is_none());
/// assert_eq!((b.generation(), b.refcount()), (3, 2));
/// ```
pub struct NodeRef<K: NodeKind> {
    ptr: NonNull<Node<K>>,
}

// SAFETY: A `NodeRef` gives shared access to `Fields` (copied out, and `Fields: Send + Sync`)
// and to atomics; the node is freed by whichever thread drops the last reference, which the
// slab allocator allows from any thread.
unsafe impl<K: NodeKind> Send for NodeRef<K> {}
// SAFETY: `&NodeRef` only reads: `fields` (no writer can run while a second reference exists,
// see `Node::fields`), and atomics (`generation`, `flags`, `refs`); cloning increments the
// atomic count.
unsafe impl<K: NodeKind> Sync for NodeRef<K> {}

impl<K: NodeKind> NodeRef<K> {
    /// Allocates a node (`GFP_NOFS`, as file-system paths need) with one reference, unlinked.
    pub fn new(fields: K::Fields, generation: u64, flags: u32) -> Result<Self> {
        let ptr = K::CACHE.alloc_raw()?;
        // SAFETY: `ptr` is fresh memory sized and aligned for a `Node<K>`.
        unsafe {
            ptr::write(
                ptr.as_ptr(),
                Node {
                    rb: Opaque::uninit(),
                    fields: UnsafeCell::new(fields),
                    generation: AtomicU64::new(generation),
                    flags: AtomicU32::new(flags & OWNER_FLAGS),
                    refs: Refcount::new(1),
                    list: Opaque::uninit(),
                },
            )
        };
        // SAFETY: The node is initialised and at its final address, so the self-pointers that
        // `RB_CLEAR_NODE` and `INIT_LIST_HEAD` store stay valid.
        unsafe {
            links::rb_clear_node((*ptr.as_ptr()).rb.get());
            links::init_list_head((*ptr.as_ptr()).list.get());
        }
        // INVARIANT: One reference, not linked, from `K::CACHE`.
        Ok(Self { ptr })
    }

    fn node(&self) -> &Node<K> {
        // SAFETY: By the type invariant the node is alive while this reference exists.
        unsafe { self.ptr.as_ref() }
    }

    /// Takes over a reference already counted for the node (the tree's, when unlinking).
    ///
    /// # Safety
    ///
    /// `node` must be a live `Node<K>` from `K::CACHE` with one count the caller gives up.
    unsafe fn from_counted(node: &Node<K>) -> Self {
        // INVARIANT: The caller hands over one counted reference.
        Self {
            ptr: NonNull::from(node),
        }
    }

    /// A copy of the range fields.
    pub fn fields(&self) -> K::Fields {
        self.node().fields()
    }

    /// The generation.
    pub fn generation(&self) -> u64 {
        self.node().generation()
    }

    /// The owner's flag bits. Holders read them; only the views that prove the tree is
    /// mutably borrowed, or that nobody else can see the node, write them.
    pub fn flags(&self) -> u32 {
        self.node().state() & OWNER_FLAGS
    }

    /// Whether the node is linked in a tree. A holder of a stale reference uses this to learn
    /// that its node was merged away or dropped.
    pub fn in_tree(&self) -> bool {
        self.node().state() & LINKED != 0
    }

    /// Whether the node is on its tree's list.
    pub fn on_list(&self) -> bool {
        self.node().state() & ON_LIST != 0
    }

    /// The reference count (a snapshot).
    pub fn refcount(&self) -> u32 {
        self.node().refs.read()
    }

    /// Whether `self` and `other` refer to the same node.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }

    /// The node's identity (its address), to tell later whether another reference is to the
    /// same node without holding a second reference meanwhile.
    pub fn id(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Sets the owner flag bits `set` and clears `clear` of a node in no tree, in one atomic
    /// update that does nothing if a tree has claimed the node: a linked node's flags are
    /// written only under a [`NodeMut`]. Returns whether the update was made (`false` if the
    /// node is linked).
    pub fn update_flags_unlinked(&self, set: u32, clear: u32) -> bool {
        self.node()
            .flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
                (f & LINKED == 0).then_some((f | (set & OWNER_FLAGS)) & !(clear & OWNER_FLAGS))
            })
            .is_ok()
    }

    /// Write access to a node nobody else can see: one reference, not linked. `None` otherwise.
    pub fn get_mut(&mut self) -> Option<Unshared<'_, K>> {
        let node = self.node();
        // Acquire: a holder that dropped its reference is done with the fields before we write.
        if node.refs.read_acquire() != 1 || node.state() & LINKED != 0 {
            return None;
        }
        // INVARIANT: One reference, this one, borrowed mutably for the view's life; not linked.
        Some(Unshared { node: self })
    }
}

/// Write access to every field of a node nobody else can see (a new map being filled in).
///
/// # Invariants
///
/// `node` is the only reference to its node, which is in no tree. `node` is mutably borrowed
/// for `'a`, so no reference can be cloned from it and no tree can link it meanwhile.
pub struct Unshared<'a, K: NodeKind> {
    node: &'a mut NodeRef<K>,
}

impl<K: NodeKind> Unshared<'_, K> {
    /// The range fields, writable.
    pub fn fields_mut(&mut self) -> &mut K::Fields {
        // SAFETY: By the type invariant nobody else can reach the node; the returned borrow is
        // tied to `&mut self`, so it is unique.
        unsafe { &mut *self.node.node().fields.get() }
    }

    /// Sets owner flag bits (other bits are ignored).
    pub fn set_flags(&mut self, bits: u32) {
        self.node.node().set_flags(bits)
    }

    /// Clears owner flag bits (other bits are ignored).
    pub fn clear_flags(&mut self, bits: u32) {
        self.node.node().clear_flags(bits)
    }

    /// Sets the generation.
    pub fn set_generation(&mut self, generation: u64) {
        self.node.node().set_generation(generation)
    }
}

impl<K: NodeKind> Clone for NodeRef<K> {
    fn clone(&self) -> Self {
        self.node().refs.inc();
        // INVARIANT: The new reference was just counted.
        Self { ptr: self.ptr }
    }
}

impl<K: NodeKind> Drop for NodeRef<K> {
    fn drop(&mut self) {
        if !self.node().refs.dec_and_test() {
            return;
        }
        // A linked node holds the tree's count, so the count cannot reach zero while linked.
        // SAFETY: The count reached zero: this was the last reference and no tree links the
        // node, so nobody can reach it. It was allocated from `K::CACHE` and initialised.
        unsafe {
            ptr::drop_in_place(self.ptr.as_ptr());
            K::CACHE.free_raw(self.ptr);
        }
    }
}

/// A node seen through a borrow of the tree that links it.
///
/// # Invariants
///
/// `node` is linked in `tree`, which is borrowed for `'a`, so the node stays linked and alive,
/// and its links do not change, for `'a`.
pub struct NodeView<'a, K: NodeKind> {
    tree: &'a Tree<K>,
    node: &'a Node<K>,
}

impl<K: NodeKind> Clone for NodeView<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: NodeKind> Copy for NodeView<'_, K> {}

impl<'a, K: NodeKind> NodeView<'a, K> {
    /// A copy of the range fields.
    pub fn fields(&self) -> K::Fields {
        self.node.fields()
    }

    /// The generation.
    pub fn generation(&self) -> u64 {
        self.node.generation()
    }

    /// The owner's flag bits.
    pub fn flags(&self) -> u32 {
        self.node.state() & OWNER_FLAGS
    }

    /// Whether the node is on the tree's list.
    pub fn on_list(&self) -> bool {
        self.node.state() & ON_LIST != 0
    }

    /// The reference count (a snapshot: holders clone and drop references without the tree).
    pub fn refcount(&self) -> u32 {
        self.node.refs.read()
    }

    /// Whether this is the node `r` refers to.
    pub fn is(&self, r: &NodeRef<K>) -> bool {
        ptr::eq(self.node, r.ptr.as_ptr())
    }

    /// Takes a counted reference.
    pub fn to_ref(&self) -> NodeRef<K> {
        self.node.refs.inc();
        // INVARIANT: The node is linked (so alive) and the new reference was just counted.
        NodeRef {
            ptr: NonNull::from(self.node),
        }
    }

    /// The next node in key order.
    pub fn next(&self) -> Option<NodeView<'a, K>> {
        self.step(bindings::rb_next)
    }

    /// The previous node in key order.
    pub fn prev(&self) -> Option<NodeView<'a, K>> {
        self.step(bindings::rb_prev)
    }

    fn step(
        &self,
        walk: unsafe extern "C" fn(*const bindings::rb_node) -> *mut bindings::rb_node,
    ) -> Option<NodeView<'a, K>> {
        // SAFETY: By the type invariant the node is linked in `tree`, borrowed for `'a`, so its
        // links are valid and stable; `walk` is `rb_next` or `rb_prev`, which only read them.
        let rb = unsafe { walk(self.node.rb.get()) };
        // SAFETY: The in-order neighbour of a node of the tree is null or a node of the tree.
        unsafe { self.tree.view(rb) }
    }
}

/// The tree.
///
/// The tree must not move once initialised (the list's entries point at `list`), so every
/// method that changes it takes `Pin<&mut Self>`; shared methods take `&self`.
///
/// # Invariants
///
/// Every `rb_node` reachable from `root` is the `rb` of a `Node<K>` with `LINKED` set whose
/// count includes one reference owned by this tree; every entry of `list` is the `list` of such
/// a node with `ON_LIST` set. `count` is the number of linked nodes.
///
/// `id` is 0 or a number no other live tree has (rust/tree_id.c's IDA), held until the tree is
/// dropped, after its last node left it. So a node whose flags say it is linked in tree `id`
/// is this tree's: telling its own nodes from others' (`view_of`, `node_mut`) is one load, not
/// a descent. A tree without a number (the IDA could not give one) descends.
///
/// # Examples
///
/// ```ignore
/// // `tree: Pin<&mut Tree<K>>`, under the owner's write lock.
/// let a = NodeRef::<K>::new(fields, 0, 0)?;
/// let mut m = tree.as_mut().insert(a.clone(), true).map_err(|_| EEXIST)?;
/// m.set_flags(1); // written under the lock, as btrfs does
/// let mut a = a;
/// // Refused: besides the tree and `a`, nobody holds the node, but a second holder would be.
/// let b = a.clone();
/// assert!(tree.as_mut().exclusive(&mut a).is_none());
/// drop(b);
/// let mut x = tree.as_mut().exclusive(&mut a).ok_or(EBUSY)?;
/// x.fields_mut(); // the only holder besides the tree: the range may be rewritten
/// ```
#[pin_data(PinnedDrop)]
pub struct Tree<K: NodeKind> {
    root: bindings::rb_root,
    #[pin]
    list: Opaque<bindings::list_head>,
    count: usize,
    id: u32,
    _p: PhantomData<NodeRef<K>>,
}

// SAFETY: The tree owns references to its nodes, which are `Send` (see `NodeRef`).
unsafe impl<K: NodeKind> Send for Tree<K> {}
// SAFETY: `&Tree` only reads the links and hands out views and counted references, all of
// which are safe to share; every write needs `Pin<&mut Tree>`.
unsafe impl<K: NodeKind> Sync for Tree<K> {}

impl<K: NodeKind> Tree<K> {
    /// An empty tree, with a number of its own if one is left.
    pub fn new() -> impl PinInit<Self> {
        Self::init(true)
    }

    /// An empty tree without a number, which tells its own nodes by descending, as a tree does
    /// when no number was left for it (tests use it to reach that path).
    pub fn new_unnumbered() -> impl PinInit<Self> {
        Self::init(false)
    }

    fn init(numbered: bool) -> impl PinInit<Self> {
        // INVARIANT: Empty root, empty list, no nodes; the number is fresh from the IDA (or 0),
        // given back in `drop`.
        pin_init!(Self {
            root: bindings::rb_root {
                rb_node: ptr::null_mut(),
            },
            // SAFETY: `slot` is valid for writes and pinned, so the list may point to itself.
            list <- Opaque::ffi_init(|slot| unsafe { links::init_list_head(slot) }),
            count: 0,
            // SAFETY: `emfs_tree_id_alloc` takes no arguments and never sleeps.
            id: if numbered { unsafe { super::ffi::emfs_tree_id_alloc() } } else { 0 },
            _p: PhantomData,
        })
    }

    /// The tree itself, for the methods below that change it in place.
    ///
    /// # Safety
    ///
    /// The caller must not move the tree or replace it through the result: only rewrite
    /// `root`, `count` and the links of nodes and of `list` in place.
    unsafe fn inner(self: Pin<&mut Self>) -> &mut Self {
        // SAFETY: The caller keeps the tree in place, so the pinning guarantee holds.
        unsafe { self.get_unchecked_mut() }
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the tree has no node.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The node `rb`, seen through this tree; `None` for null.
    ///
    /// # Safety
    ///
    /// `rb` must be null or an `rb_node` reachable from `root`.
    unsafe fn view(&self, rb: *mut bindings::rb_node) -> Option<NodeView<'_, K>> {
        if rb.is_null() {
            return None;
        }
        // SAFETY: The caller passes a node reachable from `root`; by the type invariant every
        // such `rb_node` is a `Node<K>`'s.
        let node = unsafe { Node::from_rb(rb) };
        // INVARIANT: The node is linked in this tree, borrowed for the view's life.
        Some(NodeView { tree: self, node })
    }

    /// The first node in key order.
    pub fn first(&self) -> Option<NodeView<'_, K>> {
        // SAFETY: `root` is a valid tree, borrowed for the call; `rb_first` returns null or one
        // of its nodes.
        unsafe { self.view(bindings::rb_first(&self.root)) }
    }

    /// The node containing `pos`; else the first node after it; else the last before it.
    pub fn search(&self, pos: u64) -> Option<NodeView<'_, K>> {
        let mut n = self.root.rb_node;
        let mut last: Option<NodeView<'_, K>> = None;
        // SAFETY: `n` starts at the root and follows child links of nodes of this tree, so it
        // is null or one of its nodes.
        while let Some(v) = unsafe { self.view(n) } {
            let f = v.fields();
            // SAFETY: `view` returned `n`, so it is a node of this tree; its child links are
            // stable while the tree is borrowed.
            let (left, right) = unsafe { ((*n).rb_left, (*n).rb_right) };
            last = Some(v);
            if pos < f.start() {
                n = left;
            } else if pos >= f.end() {
                n = right;
            } else {
                return Some(v);
            }
        }
        // No node contains `pos`: like btrfs's `__tree_search`, return the first node after it
        // (walking forward from the last node visited), else the last node visited, which then
        // lies before it.
        let last = last?;
        let mut cur = Some(last);
        while let Some(c) = cur {
            if pos < c.fields().end() {
                return Some(c);
            }
            cur = c.next();
        }
        Some(last)
    }

    /// Whether `node` is linked in this tree (not merely in some tree).
    pub fn contains(&self, node: &NodeRef<K>) -> bool {
        self.view_of(node).is_some()
    }

    /// `node` seen through this tree, if this tree links it, after which its neighbours are one
    /// step away ([`NodeView::prev`], [`NodeView::next`]): the tree number in its flags says
    /// whose it is, or, in a tree without a number, one descent.
    pub fn view_of(&self, node: &NodeRef<K>) -> Option<NodeView<'_, K>> {
        let number = node.node().tree_number()?;
        if self.id != 0 {
            if number != self.id {
                return None;
            }
            let n: *const Node<K> = node.node();
            // SAFETY: The node is linked in the tree numbered `id`, which is this one: numbers
            // are unique among live trees and a node carries one only while linked in its tree
            // (`Node`'s invariant). This tree is borrowed, so the node stays linked, and alive
            // (the tree holds a reference), for the view's life.
            let node = unsafe { &*n };
            // INVARIANT: `node` is linked in this tree, borrowed for the view's life.
            return Some(NodeView { tree: self, node });
        }
        let key = node.fields().start();
        let mut n = self.root.rb_node;
        // SAFETY: `n` starts at the root and follows child links of nodes of this tree, so it
        // is null or one of its nodes.
        while let Some(v) = unsafe { self.view(n) } {
            if v.is(node) {
                return Some(v);
            }
            // SAFETY: `view` returned `n`, so it is a node of this tree; its child links are
            // stable while the tree is borrowed.
            let (left, right) = unsafe { ((*n).rb_left, (*n).rb_right) };
            n = if key < v.fields().start() {
                left
            } else {
                right
            };
        }
        None
    }

    /// The node `find` picks, with the tree still mutably borrowed: its flags and generation
    /// may then be written, and it may be removed or rewritten, with no second descent to find
    /// it. `None` if `find` finds nothing or picks a node of another tree.
    pub fn find_mut(
        self: Pin<&mut Self>,
        find: impl FnOnce(&Self) -> Option<NodeView<'_, K>>,
    ) -> Option<NodeMut<'_, K>> {
        let node: *const Node<K> = {
            let v = find(&self)?;
            if !ptr::eq(v.tree, &*self) {
                return None;
            }
            v.node
        };
        // SAFETY: `node` was linked in this tree when the view was made (the view's invariant,
        // and the view was of this tree), and the tree has been mutably borrowed since, so it
        // is still linked, and alive: the tree holds a reference.
        let node = unsafe { &*node };
        // INVARIANT: `node` is linked in this tree, borrowed mutably for the result's life.
        Some(NodeMut { tree: self, node })
    }

    /// [`Tree::find_mut`] of the node `node` refers to ([`Tree::view_of`]: no descent in a
    /// numbered tree).
    pub fn node_mut(self: Pin<&mut Self>, node: &NodeRef<K>) -> Option<NodeMut<'_, K>> {
        self.find_mut(|t| t.view_of(node))
    }

    /// Links `node`, taking over its reference as the tree's, and with `on_list` also puts it
    /// on the list (at the tail). Gives it back if it is already linked (here or in another
    /// tree), empty, or overlaps a node of the tree (the caller maps that to `EEXIST`). Returns
    /// the linked node, so that its neighbours are one step away without a second descent.
    pub fn insert(
        self: Pin<&mut Self>,
        node: NodeRef<K>,
        on_list: bool,
    ) -> core::result::Result<NodeMut<'_, K>, NodeRef<K>> {
        // Claim the node atomically: two trees may race to insert the same node (each caller
        // holding a reference), and only one may link it.
        if node.node().flags.fetch_or(LINKED, Ordering::AcqRel) & LINKED != 0 {
            return Err(node);
        }
        self.link_claimed(node, on_list)
    }

    /// [`Tree::insert`] of a node nobody else can see: the tree takes a reference of its own
    /// (the caller keeps `node`'s), and since no other task holds the node, no tree can race to
    /// claim it and the claim is a plain store. Fails (the node stays unlinked) if it is empty
    /// or overlaps a node of the tree.
    pub fn insert_unshared(
        self: Pin<&mut Self>,
        node: Unshared<'_, K>,
        on_list: bool,
    ) -> core::result::Result<NodeMut<'_, K>, ()> {
        let n = node.node.node();
        // By `Unshared`'s invariant this is the only reference and the node is unlinked: no
        // other task can reach its flags until the tree links it.
        n.flags.store(n.state() | LINKED, Ordering::Release);
        let tree_ref = node.node.clone();
        self.link_claimed(tree_ref, on_list).map_err(drop)
    }

    /// Links `node`, claimed (`LINKED` set) by the caller for this tree, taking over its
    /// reference as the tree's; gives it back unclaimed if it is empty or overlaps a node.
    fn link_claimed(
        self: Pin<&mut Self>,
        node: NodeRef<K>,
        on_list: bool,
    ) -> core::result::Result<NodeMut<'_, K>, NodeRef<K>> {
        let f = node.fields();
        let (start, end) = (f.start(), f.end());
        let unclaim = |node: NodeRef<K>| {
            node.node().flags.fetch_and(!LINKED, Ordering::AcqRel);
            Err(node)
        };
        if end <= start {
            return unclaim(node);
        }
        // SAFETY: Below, only `root`, `count`, the new node's links and the list are written in
        // place; the tree does not move.
        let this = unsafe { self.inner() };
        let mut link: *mut *mut bindings::rb_node = &mut this.root.rb_node;
        let mut parent: *mut bindings::rb_node = ptr::null_mut();
        // SAFETY: `link` points at the root pointer or a child pointer of a node of this tree,
        // all valid and exclusively ours while `this` is mutably borrowed; what it points to is
        // null or a node of this tree.
        while let Some(v) = unsafe { this.view(*link) } {
            let ef = v.fields();
            // SAFETY: `link` points at the root pointer or a child pointer of a node of this
            // tree, valid and exclusively ours while `this` is mutably borrowed.
            parent = unsafe { *link };
            if start < ef.start() {
                // SAFETY: `parent` is a node of this tree (`view` returned it).
                link = unsafe { ptr::addr_of_mut!((*parent).rb_left) };
            } else if start >= ef.end() {
                // SAFETY: `parent` is a node of this tree (`view` returned it).
                link = unsafe { ptr::addr_of_mut!((*parent).rb_right) };
            } else {
                return unclaim(node);
            }
        }
        // The descent only compared starts: check the in-order neighbours for overlap.
        // SAFETY: `parent` is null or the last node of this tree the descent visited.
        if let Some(p) = unsafe { this.view(parent) } {
            let (prev, next) = if start < p.fields().start() {
                (p.prev(), Some(p))
            } else {
                (Some(p), p.next())
            };
            let overlaps =
                |v: &NodeView<'_, K>| end > v.fields().start() && start < v.fields().end();
            if prev.as_ref().is_some_and(overlaps) || next.as_ref().is_some_and(overlaps) {
                return unclaim(node);
            }
        }
        let rb = node.node().rb.get();
        // SAFETY: `rb` is the unlinked node's `rb_node`; `parent`/`link` are the insertion
        // point found above, unchanged since; the tree is exclusively ours.
        unsafe {
            links::rb_link_node(rb, parent, link);
            bindings::rb_insert_color(rb, &mut this.root);
        }
        this.count += 1;
        if on_list {
            // SAFETY: The node was just linked here and was off every list (an unlinked node is
            // never on a list); the list head is initialised and pinned.
            unsafe { links::list_add_tail(node.node().list.get(), this.list.get()) };
        }
        node.node().mark_linked(this.id, on_list);
        let linked: *const Node<K> = node.node();
        // INVARIANT: The node is linked (and `LINKED` was claimed above), carries this tree's
        // number, is on the list with `ON_LIST` set if asked, and its reference now belongs to
        // the tree.
        core::mem::forget(node);
        // SAFETY: The node was just linked in this tree, whose reference keeps it alive.
        let node = unsafe { &*linked };
        // SAFETY: `this` came from `self` and is only used in place; see `Tree::inner`.
        let tree = unsafe { Pin::new_unchecked(this) };
        // INVARIANT: `node` is linked in `tree`, mutably borrowed for the result's life.
        Ok(NodeMut { tree, node })
    }

    /// Unlinks `node` (and takes it off the list) and returns the tree's reference; `None` if
    /// the node is not in this tree.
    pub fn remove(self: Pin<&mut Self>, node: &NodeRef<K>) -> Option<NodeRef<K>> {
        Some(self.node_mut(node)?.remove())
    }

    /// Unlinks `n` and returns the tree's reference to it.
    ///
    /// # Safety
    ///
    /// `n` is linked in this tree.
    unsafe fn unlink(&mut self, n: &Node<K>) -> NodeRef<K> {
        // SAFETY: `n` is linked in this tree (the caller guarantees it), which is exclusively
        // ours; a node is on the list only while linked, and then on this tree's list.
        unsafe {
            if n.state() & ON_LIST != 0 {
                links::list_del_init(n.list.get());
            }
            bindings::rb_erase(n.rb.get(), &mut self.root);
            links::rb_clear_node(n.rb.get());
        }
        n.unmark(LINKED | ON_LIST | TREE_BITS);
        self.count -= 1;
        // INVARIANT: The node left the tree; its tree reference goes to the caller.
        // SAFETY: The tree owned one counted reference to the node, handed over here.
        unsafe { NodeRef::from_counted(n) }
    }

    /// Unlinks every node, dropping the tree's references.
    pub fn clear(self: Pin<&mut Self>) {
        let mut cur = self.find_mut(|t| t.first());
        while let Some(m) = cur {
            let (old, next) = m.remove_and_next();
            drop(old);
            cur = next;
        }
    }

    /// An exclusive view of `node`'s fields: only if `node` is linked in this tree and nobody
    /// but the tree and the caller holds a reference. This is the only way to rewrite the range
    /// fields of a node in a tree. [`NodeMut::exclusive`] does the same without the descent.
    pub fn exclusive<'a>(
        self: Pin<&'a mut Self>,
        node: &'a mut NodeRef<K>,
    ) -> Option<Exclusive<'a, K>> {
        self.node_mut(node)?.exclusive(node).ok()
    }

    /// Takes the first node off the list; it stays in the tree.
    pub fn list_pop(self: Pin<&mut Self>) -> Option<NodeMut<'_, K>> {
        let head = self.list.get();
        // SAFETY: The list head is initialised and pinned.
        if unsafe { links::list_empty(head) } {
            return None;
        }
        // SAFETY: The list is not empty, so `next` is an entry, and by the type invariant every
        // entry is the `list` of a `Node<K>` linked in this tree, which keeps it alive.
        let node = unsafe { Node::<K>::from_list((*head).next) };
        // SAFETY: The node is on this tree's list, which is exclusively ours (`self` is a
        // mutable borrow).
        unsafe { links::list_del_init(node.list.get()) };
        node.unmark(ON_LIST);
        // INVARIANT: `node` is linked in this tree, mutably borrowed for the result's life.
        Some(NodeMut { tree: self, node })
    }

    /// Whether the list is empty.
    pub fn list_is_empty(&self) -> bool {
        // SAFETY: The list head is initialised and pinned.
        unsafe { links::list_empty(self.list.get()) }
    }
}

#[pinned_drop]
impl<K: NodeKind> PinnedDrop for Tree<K> {
    fn drop(mut self: Pin<&mut Self>) {
        self.as_mut().clear();
        // SAFETY: The number came from `emfs_tree_id_alloc` (or is 0, which is ignored) and is
        // given back once; no node carries it any more, the tree being empty.
        unsafe { super::ffi::emfs_tree_id_free(self.id) };
    }
}

/// A node linked in a tree that is mutably borrowed (its owner's write lock is held): it may be
/// removed, its flags and generation written (btrfs writes them under the tree's write lock),
/// and, through [`NodeMut::exclusive`], its range rewritten if nobody else holds it.
///
/// # Invariants
///
/// `node` is linked in `tree`, which is mutably borrowed for `'a`.
pub struct NodeMut<'a, K: NodeKind> {
    tree: Pin<&'a mut Tree<K>>,
    node: &'a Node<K>,
}

impl<'a, K: NodeKind> NodeMut<'a, K> {
    /// The node seen through the tree, to look at its neighbours.
    pub fn view(&self) -> NodeView<'_, K> {
        // INVARIANT: By the type invariant the node is linked in `tree`.
        NodeView {
            tree: &self.tree,
            node: self.node,
        }
    }

    /// A copy of the range fields.
    pub fn fields(&self) -> K::Fields {
        self.node.fields()
    }

    /// The owner's flag bits.
    pub fn flags(&self) -> u32 {
        self.node.state() & OWNER_FLAGS
    }

    /// The generation.
    pub fn generation(&self) -> u64 {
        self.node.generation()
    }

    /// Whether the node is on the tree's list.
    pub fn on_list(&self) -> bool {
        self.node.state() & ON_LIST != 0
    }

    /// Takes a counted reference.
    pub fn to_ref(&self) -> NodeRef<K> {
        self.view().to_ref()
    }

    /// Sets owner flag bits (other bits are ignored).
    pub fn set_flags(&mut self, bits: u32) {
        self.node.set_flags(bits)
    }

    /// Clears owner flag bits (other bits are ignored).
    pub fn clear_flags(&mut self, bits: u32) {
        self.node.clear_flags(bits)
    }

    /// Sets the generation.
    pub fn set_generation(&mut self, generation: u64) {
        self.node.set_generation(generation)
    }

    /// Unlinks the node (and takes it off the list) and returns the tree's reference.
    pub fn remove(self) -> NodeRef<K> {
        // SAFETY: By the type invariant the node is linked in this tree; `unlink` only rewrites
        // the tree in place (as `inner` requires).
        unsafe { self.tree.inner().unlink(self.node) }
    }

    /// The node that follows, in the same mutably borrowed tree: a walk carries on with no
    /// descent and no reference taken.
    pub fn into_next(self) -> Option<NodeMut<'a, K>> {
        let next: *const Node<K> = self.view().next()?.node;
        // SAFETY: `next` is the in-order successor of a node linked in `tree` (the type
        // invariant), so it is linked there too, and alive: the tree holds a reference.
        let next = unsafe { &*next };
        // INVARIANT: `next` is linked in `tree`, still mutably borrowed for `'a`.
        Some(NodeMut {
            tree: self.tree,
            node: next,
        })
    }

    /// [`NodeMut::remove`], also returning the node that followed, in the same mutably
    /// borrowed tree: a walk that removes nodes as it goes carries on with no descent and no
    /// reference taken.
    pub fn remove_and_next(mut self) -> (NodeRef<K>, Option<NodeMut<'a, K>>) {
        let next: Option<*const Node<K>> = self.view().next().map(|v| ptr::from_ref(v.node));
        // SAFETY: By the type invariant the node is linked in this tree; `unlink` only rewrites
        // the tree in place (as `inner` requires).
        let old = unsafe { self.tree.as_mut().inner().unlink(self.node) };
        let next = next.map(|n| {
            // SAFETY: `n` followed the removed node in `tree`; unlinking another node leaves it
            // linked, and alive: the tree holds a reference.
            let node = unsafe { &*n };
            // INVARIANT: `node` is linked in `tree`, still mutably borrowed for `'a`.
            NodeMut {
                tree: self.tree,
                node,
            }
        });
        (old, next)
    }

    /// Puts `new`, a node nobody else can see, in this node's place (`rb_replace_node`, as
    /// btrfs's `replace_extent_mapping` does): no descent. The tree takes a reference of its
    /// own to `new` (the caller keeps its one) and hands back its reference to the node
    /// replaced, which leaves the list; `new` goes on the list (at the tail) if `on_list`.
    /// Changes nothing if `new` is empty or does not fit between this node's neighbours.
    pub fn replace(mut self, new: Unshared<'_, K>, on_list: bool) -> Replaced<'a, K> {
        let f = new.node.fields();
        let (start, end) = (f.start(), f.end());
        let fits = {
            let v = self.view();
            end > start
                && v.prev().map_or(true, |p| p.fields().end() <= start)
                && v.next().map_or(true, |n| end <= n.fields().start())
        };
        if !fits {
            return Err(self);
        }
        // By `Unshared`'s invariant this is the only reference and the node is unlinked: no
        // other task can reach its flags until the tree links it, so the claim is a store.
        let n = new.node.node();
        n.flags.store(n.state() | LINKED, Ordering::Release);
        let new = new.node.clone();
        let old = self.node;
        // SAFETY: Only the links of `old`, `new` and the list, and `root`, are rewritten in
        // place; the tree does not move.
        let this = unsafe { self.tree.as_mut().inner() };
        // SAFETY: `old` is linked in this tree (the type invariant), which is exclusively ours,
        // and on its list iff `ON_LIST`; `new` was unlinked (`Unshared`'s invariant) and fits
        // between `old`'s neighbours, so the tree stays ordered.
        unsafe {
            if old.state() & ON_LIST != 0 {
                links::list_del_init(old.list.get());
            }
            bindings::rb_replace_node(old.rb.get(), new.node().rb.get(), &mut this.root);
            links::rb_clear_node(old.rb.get());
        }
        old.unmark(LINKED | ON_LIST | TREE_BITS);
        if on_list {
            // SAFETY: `new` was just linked here and was off every list (an unlinked node is
            // never on a list); the list head is initialised and pinned.
            unsafe { links::list_add_tail(new.node().list.get(), this.list.get()) };
        }
        new.node().mark_linked(this.id, on_list);
        let linked: *const Node<K> = new.node();
        // INVARIANT: `new` is linked (`LINKED` claimed above), carries this tree's number, and
        // its reference is the tree's; `old` left the tree and carries none.
        core::mem::forget(new);
        // SAFETY: The tree owned one counted reference to `old`, handed over here.
        let old = unsafe { NodeRef::from_counted(old) };
        // SAFETY: `linked` was just linked in this tree, whose reference keeps it alive.
        let node = unsafe { &*linked };
        // INVARIANT: `node` is linked in `tree`, mutably borrowed for `'a`.
        Ok((
            old,
            NodeMut {
                tree: self.tree,
                node,
            },
        ))
    }

    /// Write access to the range fields, only if `node` refers to this node and nobody but the
    /// tree and `node` holds a reference: another holder may be reading the fields right now
    /// (btrfs: "refs > 2 => don't merge"). Refused, the view comes back.
    pub fn exclusive(
        self,
        node: &'a mut NodeRef<K>,
    ) -> core::result::Result<Exclusive<'a, K>, Self> {
        // Acquire: holders that dropped their reference are done with the fields before the
        // view writes them (the release is in `refcount_dec_and_test`).
        if !ptr::eq(self.node, node.node()) || node.node().refs.read_acquire() > 2 {
            return Err(self);
        }
        // INVARIANT: The node is linked in `tree` (our invariant) and its count is the tree's
        // reference and `node`; both are mutably borrowed for `'a`.
        Ok(Exclusive {
            tree: self.tree,
            node: node.node(),
            _holder: PhantomData,
        })
    }

    /// [`NodeMut::exclusive`] for a caller that holds no reference of its own: only if the
    /// tree's reference is the only one (btrfs's unpin takes a reference to merge, and refuses
    /// at more than two; this is the same rule without the reference's two atomics). Refused,
    /// the view comes back.
    pub fn exclusive_unheld(self) -> core::result::Result<Exclusive<'a, K>, Self> {
        // Acquire: as in `exclusive`.
        if self.node.refs.read_acquire() > 1 {
            return Err(self);
        }
        // INVARIANT: The node is linked in `tree` and its only reference is the tree's, which
        // is mutably borrowed for `'a`.
        Ok(Exclusive {
            tree: self.tree,
            node: self.node,
            _holder: PhantomData,
        })
    }
}

/// What [`NodeMut::replace`] answers: the tree's reference to the node replaced and the new node
/// in its place; or, refused, the view of the node, given back.
pub type Replaced<'a, K> = core::result::Result<(NodeRef<K>, NodeMut<'a, K>), NodeMut<'a, K>>;

/// Write access to the range fields of a node in a tree.
///
/// # Invariants
///
/// `node` is linked in `tree`, and its count is the tree's reference and at most one more, the
/// caller's, which is mutably borrowed for `'a` (`_holder`) as the tree is: no other reference
/// exists and none can be taken, since new references come from a tree borrow or from cloning
/// an existing reference.
pub struct Exclusive<'a, K: NodeKind> {
    tree: Pin<&'a mut Tree<K>>,
    node: &'a Node<K>,
    _holder: PhantomData<&'a mut NodeRef<K>>,
}

impl<K: NodeKind> Exclusive<'_, K> {
    /// A copy of the fields.
    pub fn fields(&self) -> K::Fields {
        self.node.fields()
    }

    /// The fields, writable.
    pub fn fields_mut(&mut self) -> &mut K::Fields {
        // SAFETY: By the type invariant nobody else can reach the node's fields; the borrow is
        // tied to `&mut self`, so it is unique.
        unsafe { &mut *self.node.fields.get() }
    }

    /// The generation.
    pub fn generation(&self) -> u64 {
        self.node.generation()
    }

    /// Sets the generation.
    pub fn set_generation(&mut self, generation: u64) {
        self.node.set_generation(generation)
    }

    /// Sets owner flag bits.
    pub fn set_flags(&mut self, bits: u32) {
        self.node.set_flags(bits)
    }

    fn own_view(&self) -> NodeView<'_, K> {
        // INVARIANT: By the type invariant the node is linked in `tree`.
        NodeView {
            tree: &self.tree,
            node: self.node,
        }
    }

    /// The previous node of the tree (never this one).
    pub fn prev(&self) -> Option<Neighbour<'_, K>> {
        // INVARIANT: The in-order neighbour of a node is another node of the same tree.
        self.own_view().prev().map(|view| Neighbour { view })
    }

    /// The next node of the tree (never this one).
    pub fn next(&self) -> Option<Neighbour<'_, K>> {
        // INVARIANT: The in-order neighbour of a node is another node of the same tree.
        self.own_view().next().map(|view| Neighbour { view })
    }

    /// Shows `pick` the node just before (`prev`) or after the viewed one and, if it answers
    /// `Some`, unlinks that node and returns the tree's reference to it with the answer: a
    /// merge's neighbour, looked at and taken with one step and no descent.
    pub fn take_neighbour<T>(
        &mut self,
        prev: bool,
        pick: impl FnOnce(&Neighbour<'_, K>) -> Option<T>,
    ) -> Option<(NodeRef<K>, T)> {
        let (n, picked): (*const Node<K>, T) = {
            let own = self.own_view();
            let view = if prev { own.prev() } else { own.next() }?;
            // INVARIANT: The in-order neighbour of a node is another node of the same tree.
            let picked = pick(&Neighbour { view })?;
            (view.node, picked)
        };
        // SAFETY: `n` is the in-order neighbour of a node linked in `self.tree` (the type
        // invariant), found under the mutable borrow still held, so it is linked there too, and
        // alive: the tree holds a reference. `unlink` only rewrites the tree in place (as
        // `inner` requires).
        let old = unsafe { self.tree.as_mut().inner().unlink(&*n) };
        Some((old, picked))
    }
}

/// A neighbour seen from an [`Exclusive`] view. Unlike a [`NodeView`] it cannot walk the tree,
/// so it can never lead back to the exclusively held node and hand out a reference to it.
///
/// # Invariants
///
/// `view` shows a node of the tree the [`Exclusive`] view borrows, other than the node that
/// view holds exclusively.
pub struct Neighbour<'a, K: NodeKind> {
    view: NodeView<'a, K>,
}

impl<K: NodeKind> Neighbour<'_, K> {
    /// A copy of the range fields.
    pub fn fields(&self) -> K::Fields {
        self.view.fields()
    }

    /// The generation.
    pub fn generation(&self) -> u64 {
        self.view.generation()
    }

    /// The owner's flag bits.
    pub fn flags(&self) -> u32 {
        self.view.flags()
    }

    /// Whether the node is on the tree's list.
    pub fn on_list(&self) -> bool {
        self.view.on_list()
    }

    /// Takes a counted reference (to the neighbour, never to the exclusive node).
    pub fn to_ref(&self) -> NodeRef<K> {
        self.view.to_ref()
    }
}
