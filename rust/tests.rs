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

/// `NodeMut::replace` keeps the tree ordered whatever it is given: a node that overlaps a
/// neighbour, an empty one or one already linked is given back and nothing changes; one that
/// fits takes the old node's place, and the old one comes back unlinked.
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
    for (bad, what) in [
        (
            NodeRef::new(Span(5, 25), 0, 0)?,
            "overlaps the previous node",
        ),
        (NodeRef::new(Span(25, 45), 0, 0)?, "overlaps the next node"),
        (NodeRef::new(Span(25, 25), 0, 0)?, "is empty"),
        (linked.clone(), "is linked"),
    ] {
        let m = tree.as_mut().find_mut(|tr| tr.search(25)).ok_or(ENOENT)?;
        let refused = m.replace(bad, false).is_err();
        kunit_assert!(t, refused, "a replacement that {} was taken", what);
        kunit_assert_eq!(t, starts(&tree), [0, 20, 40, 60]);
    }
    let m = tree.as_mut().find_mut(|tr| tr.search(25)).ok_or(ENOENT)?;
    let new = NodeRef::new(Span(12, 38), 0, 0)?;
    let (old, _) = m.replace(new.clone(), true).map_err(|_| EINVAL)?;
    kunit_assert!(t, !old.in_tree() && new.in_tree() && new.on_list());
    kunit_assert_eq!(t, (old.refcount(), new.refcount()), (1, 2));
    kunit_assert_eq!(t, (tree.len(), starts(&tree)), (4, [0, 12, 40, 60]));
    Ok(())
}
