/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A radix tree from page index (uint64_t) to pointer: the per-inode page
 * index. 64 slots a node, so a dense file costs about 8 bytes a page, and
 * lookups, inserts and ordered walks take at most 11 steps.
 *
 * Items can carry tags, as the kernel's page cache tags dirty and towrite
 * pages: each node keeps a bitmap per tag of the slots that hold a tagged
 * item below them, so a walk over tagged items skips untagged subtrees
 * (writeback finds a file's few dirty pages without visiting its clean
 * ones). An item loses its tags when it is deleted.
 *
 * Not thread-safe: the owner's lock (address_space.lock) protects it.
 */
#ifndef DIRTYFS_PAGETREE_H
#define DIRTYFS_PAGETREE_H

#include <stdint.h>

enum pagetree_tag {
	PAGETREE_TAG_DIRTY, /* the page is PG_DIRTY */
	PAGETREE_TAG_TOWRITE, /* the page is PG_TOWRITE */
	PAGETREE_NR_TAGS
};

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
/* Tag / untag the item at index; nothing happens if there is none. */
void pagetree_tag_set(struct pagetree *t, uint64_t index,
		      enum pagetree_tag tag);
void pagetree_tag_clear(struct pagetree *t, uint64_t index,
			enum pagetree_tag tag);
/* Is the item at index tagged? */
int pagetree_tagged(const struct pagetree *t, uint64_t index,
		    enum pagetree_tag tag);
/* pagetree_next, among the items with tag only. */
void *pagetree_next_tagged(const struct pagetree *t, uint64_t *index,
			   enum pagetree_tag tag);
/* Free the tree's nodes (not the items). */
void pagetree_destroy(struct pagetree *t);

#endif
