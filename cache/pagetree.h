/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A radix tree from page index (uint64_t) to pointer: the per-inode page
 * index. 64 slots a node, so a dense file costs about 8 bytes a page, and
 * lookups, inserts and ordered walks take at most 11 steps.
 *
 * Not thread-safe: the owner's lock (address_space.lock) protects it.
 */
#ifndef DIRTYFS_PAGETREE_H
#define DIRTYFS_PAGETREE_H

#include <stdint.h>

struct pt_node;

struct pagetree {
	struct pt_node *root;
	unsigned int height; /* levels; 0 when empty */
};

#define PAGETREE_INIT \
	{ \
		NULL, 0 \
	}

/* The item at index, or NULL. */
void *pagetree_lookup(const struct pagetree *t, uint64_t index);
/* Store item (non-NULL) at a free index. 0 or -ENOMEM. */
int pagetree_insert(struct pagetree *t, uint64_t index, void *item);
/* Remove and return the item at index (NULL if none). */
void *pagetree_delete(struct pagetree *t, uint64_t index);
/* The first item at an index >= *index; *index is set to its index.
 * NULL if there is none. */
void *pagetree_next(const struct pagetree *t, uint64_t *index);
/* Free the tree's nodes (not the items). */
void pagetree_destroy(struct pagetree *t);

#endif
