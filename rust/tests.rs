// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `emfs_kernel_ext`: what the abstractions refuse or get right where a safe caller
//! could otherwise reach undefined behaviour, one case for each such path. A module of
//! `emfs.ko` only (`emfs_main.rs`), not of the sample that also builds `rust/`.

use crate::kernel_ext::kthread::KThread;
use crate::kernel_ext::kunit::{kunit_assert, kunit_assert_eq, Test};
use crate::kernel_ext::reftree::{Node, NodeKind, NodeRef, Range, Tree};
use crate::kernel_ext::slab::KmemCache;
use kernel::{c_str, prelude::*};

/// A thread name is printed, not used as a format: `%` directives in it must not make
/// `vsnprintf` read arguments that were never passed (or warn about `%n`).
pub(crate) fn kthread_name_is_not_a_format(t: &mut Test) -> Result {
    let th = KThread::spawn(c_str!("emfs_%s%p%n"), || 7)?;
    kunit_assert_eq!(t, th.join(), 7);
    Ok(())
}

/// A cache of zero-sized objects is refused: SLUB would divide by the object size.
pub(crate) fn slab_refuses_empty_objects(t: &mut Test) -> Result {
    static EMPTY: KmemCache<()> = KmemCache::new();
    kunit_assert_eq!(t, EMPTY.create(c_str!("emfs_empty")), Err(EINVAL));
    kunit_assert_eq!(t, EMPTY.destroy(), Ok(()));
    Ok(())
}

/// `[start, end)`, the range of a test node.
#[derive(Clone, Copy)]
struct Span(u64, u64);

impl Range for Span {
    fn start(&self) -> u64 {
        self.0
    }

    fn end(&self) -> u64 {
        self.1
    }
}

struct SpanKind;

static SPANS: KmemCache<Node<SpanKind>> = KmemCache::new();

impl NodeKind for SpanKind {
    type Fields = Span;
    const CACHE: &'static KmemCache<Node<Self>> = &SPANS;
}

/// `NodeMut::replace` keeps the tree ordered whatever it is given: for a node that overlaps a
/// neighbour or an empty one nothing changes (a linked one cannot be given); one that fits
/// takes the old node's place, and the old one comes back unlinked.
pub(crate) fn replace_keeps_the_tree_ordered(t: &mut Test) -> Result {
    SPANS.create(c_str!("emfs_test_spans"))?;
    let r = replace_cases(t);
    kunit_assert_eq!(t, SPANS.destroy(), Ok(()));
    r
}

/// The starts of the first four nodes, in order.
fn starts(tree: &Tree<SpanKind>) -> [u64; 4] {
    let (mut v, mut cur) = ([0u64; 4], tree.first());
    for slot in v.iter_mut() {
        let Some(c) = cur else { break };
        *slot = c.fields().0;
        cur = c.next();
    }
    v
}

fn replace_cases(t: &mut Test) -> Result {
    let mut tree = KBox::pin_init(Tree::<SpanKind>::new(), GFP_KERNEL)?;
    for (a, b) in [(0, 10), (20, 30), (40, 50)] {
        let node = NodeRef::new(Span(a, b), 0, 0)?;
        tree.as_mut().insert(node, false).map_err(|_| EEXIST)?;
    }
    let linked = NodeRef::new(Span(60, 70), 0, 0)?;
    tree.as_mut()
        .insert(linked.clone(), false)
        .map_err(|_| EEXIST)?;
    // A linked node is never a replacement: it has no view for one.
    let mut other = linked.clone();
    kunit_assert!(t, other.get_mut().is_none(), "a linked node offered a view");
    for (mut bad, what) in [
        (
            NodeRef::new(Span(5, 25), 0, 0)?,
            "overlaps the previous node",
        ),
        (NodeRef::new(Span(25, 45), 0, 0)?, "overlaps the next node"),
        (NodeRef::new(Span(25, 25), 0, 0)?, "is empty"),
    ] {
        let m = tree.as_mut().find_mut(|tr| tr.search(25)).ok_or(ENOENT)?;
        let refused = m.replace(bad.get_mut().ok_or(EBUSY)?, false).is_err();
        kunit_assert!(t, refused, "a replacement that {} was taken", what);
        kunit_assert!(
            t,
            !bad.in_tree(),
            "a refused replacement that {} stayed claimed",
            what
        );
        kunit_assert_eq!(t, starts(&tree), [0, 20, 40, 60]);
    }
    let m = tree.as_mut().find_mut(|tr| tr.search(25)).ok_or(ENOENT)?;
    let mut new = NodeRef::new(Span(12, 38), 0, 0)?;
    let (old, _) = m
        .replace(new.get_mut().ok_or(EBUSY)?, true)
        .map_err(|_| EINVAL)?;
    kunit_assert!(t, !old.in_tree() && new.in_tree() && new.on_list());
    kunit_assert_eq!(t, (old.refcount(), new.refcount()), (1, 2));
    kunit_assert_eq!(t, (tree.len(), starts(&tree)), (4, [0, 12, 40, 60]));
    Ok(())
}

/// A tree tells its own nodes from another tree's, with a number of its own and without one
/// (the descent), through a node's moves between trees and after a tree's number is reused:
/// `view_of` is what lets a caller write a node through a `NodeMut`, so a wrong "yes" would let
/// it rewrite another tree's links.
pub(crate) fn trees_know_their_own_nodes(t: &mut Test) -> Result {
    SPANS.create(c_str!("emfs_test_spans"))?;
    let r = membership_cases(t);
    kunit_assert_eq!(t, SPANS.destroy(), Ok(()));
    r
}

fn membership_cases(t: &mut Test) -> Result {
    let mut a = KBox::pin_init(Tree::<SpanKind>::new(), GFP_KERNEL)?;
    let mut b = KBox::pin_init(Tree::<SpanKind>::new(), GFP_KERNEL)?;
    let mut c = KBox::pin_init(Tree::<SpanKind>::new_unnumbered(), GFP_KERNEL)?;
    // The same range in all three, so that a descent by key would find a node at that place.
    let mut nodes = KVec::new();
    for tree in [a.as_mut(), b.as_mut(), c.as_mut()] {
        let n = NodeRef::new(Span(10, 20), 0, 0)?;
        tree.insert(n.clone(), false).map_err(|_| EEXIST)?;
        nodes.push(n, GFP_KERNEL)?;
    }
    let owners =
        |a: &Tree<SpanKind>, b: &Tree<SpanKind>, c: &Tree<SpanKind>, n: &NodeRef<SpanKind>| {
            [
                a.view_of(n).is_some(),
                b.view_of(n).is_some(),
                c.view_of(n).is_some(),
            ]
        };
    for (i, n) in nodes.iter().enumerate() {
        let mut want = [false; 3];
        want[i] = true;
        kunit_assert_eq!(t, owners(&a, &b, &c, n), want);
    }
    // Node 0 leaves `a`; another node moves from `c`, the tree without a number, to `b`.
    let n0 = nodes[0].clone();
    kunit_assert!(t, a.as_mut().remove(&n0).is_some());
    kunit_assert_eq!(t, owners(&a, &b, &c, &n0), [false; 3]);
    kunit_assert!(t, a.as_mut().node_mut(&n0).is_none());
    let mut moved = NodeRef::new(Span(30, 40), 0, 0)?;
    c.as_mut()
        .insert_unshared(moved.get_mut().ok_or(EBUSY)?, false)
        .map_err(|()| EEXIST)?;
    kunit_assert_eq!(t, owners(&a, &b, &c, &moved), [false, false, true]);
    drop(c.as_mut().remove(&moved));
    b.as_mut()
        .insert(moved.clone(), false)
        .map_err(|_| EEXIST)?;
    kunit_assert_eq!(t, owners(&a, &b, &c, &moved), [false, true, false]);
    // A new tree may get `a`'s number once `a` is gone: it still has none of `b`'s nodes.
    drop(a);
    let d = KBox::pin_init(Tree::<SpanKind>::new(), GFP_KERNEL)?;
    kunit_assert!(
        t,
        d.view_of(&moved).is_none() && d.view_of(&nodes[1]).is_none()
    );
    kunit_assert!(
        t,
        b.view_of(&moved).is_some() && b.as_mut().node_mut(&moved).is_some()
    );
    drop(n0);
    drop(nodes);
    drop(moved);
    Ok(())
}

/// `sort::sort_unstable*` (the kernel's heapsort) order as a sort must: ascending, by a key,
/// by a comparison, with duplicates, and leave empty, one-element and zero-sized slices alone.
pub(crate) fn sort_orders_slices(t: &mut Test) -> Result {
    use crate::kernel_ext::sort::{sort_unstable, sort_unstable_by, sort_unstable_by_key};
    // A scrambled permutation with duplicates: i * 7919 mod 1000, twice.
    let mut v = KVec::with_capacity(2000, GFP_KERNEL)?;
    for i in 0..2000u64 {
        v.push((i * 7919) % 1000, GFP_KERNEL)?;
    }
    sort_unstable(&mut v);
    kunit_assert!(t, v.windows(2).all(|w| w[0] <= w[1]), "not ascending");
    kunit_assert_eq!(t, (v[0], v[1], v[1998], v[1999]), (0, 0, 999, 999));
    // Records larger than a machine word, by a key, then reversed by a comparison.
    let mut r = KVec::with_capacity(500, GFP_KERNEL)?;
    for i in 0..500u64 {
        r.push([(i * 31) % 500, i, 0, 0, 0, 0], GFP_KERNEL)?;
    }
    sort_unstable_by_key(&mut r, |x| x[0]);
    kunit_assert!(
        t,
        r.iter()
            .enumerate()
            .all(|(i, x)| x[0] == i as u64 && (x[1] * 31) % 500 == x[0])
    );
    sort_unstable_by(&mut r, |a, b| b[0].cmp(&a[0]));
    kunit_assert!(t, r.iter().enumerate().all(|(i, x)| x[0] == 499 - i as u64));
    let (mut empty, mut one, mut units): ([u64; 0], [u64; 1], [(); 3]) = ([], [5], [(); 3]);
    sort_unstable(&mut empty);
    sort_unstable(&mut one);
    sort_unstable(&mut units);
    kunit_assert_eq!(t, one, [5]);
    Ok(())
}
