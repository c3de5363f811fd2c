// SPDX-License-Identifier: GPL-2.0
/*
 * Tree identities (rust/reftree.rs): every live tree gets a number no other
 * live tree has, from an IDA, so that a node can carry its tree's number in
 * the spare bits of its flags word and a tree can tell its own nodes from
 * another tree's with one load instead of a descent.
 */

#include <linux/gfp.h>
#include <linux/idr.h>
#include "helpers.h"

static DEFINE_IDA(emfs_tree_ids);

/*
 * Never sleeps and never warns: a tree is made in any context its owner is
 * in, and one without a number (0) still works, by descending.
 */
unsigned int emfs_tree_id_alloc(void)
{
	int id = ida_alloc_range(&emfs_tree_ids, 1, EMFS_TREE_ID_MAX,
				 GFP_NOWAIT | __GFP_NOWARN);

	return id < 0 ? 0 : id;
}

void emfs_tree_id_free(unsigned int id)
{
	if (id)
		ida_free(&emfs_tree_ids, id);
}
