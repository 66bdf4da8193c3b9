// SPDX-License-Identifier: GPL-2.0
/* Radix tree page index; see pagetree.h. */
#include "pagetree.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#define PT_BITS 6
#define PT_SLOTS (1U << PT_BITS)
#define PT_MASK (PT_SLOTS - 1)
#define PT_MAX_HEIGHT ((64 + PT_BITS - 1) / PT_BITS)

struct pt_node {
	void *slots[PT_SLOTS]; /* child nodes, or items at the last level */
	uint64_t
		tags[PAGETREE_NR_TAGS]; /* bit i: a tagged item at or under i */
	unsigned int count; /* non-NULL slots */
};

/* Largest index a tree of this height can hold. */
static uint64_t pt_max_index(unsigned int height)
{
	if (height >= PT_MAX_HEIGHT)
		return UINT64_MAX;
	return (1ULL << (height * PT_BITS)) - 1;
}

static unsigned int pt_slot(uint64_t index, unsigned int level)
{
	return (index >> (level * PT_BITS)) & PT_MASK;
}

void *pagetree_lookup(const struct pagetree *t, uint64_t index)
{
	struct pt_node *node = t->root;

	if (!node || index > pt_max_index(t->height))
		return NULL;
	for (unsigned int level = t->height - 1; level > 0; level--) {
		node = node->slots[pt_slot(index, level)];
		if (!node)
			return NULL;
	}
	return node->slots[pt_slot(index, 0)];
}

/* Make the tree tall enough for index: an empty tree starts at the height
 * it needs, a tree with items gets levels on top of its root. */
static int pt_grow(struct pagetree *t, uint64_t index)
{
	if (!t->root) {
		t->height = 1;
		while (index > pt_max_index(t->height))
			t->height++;
		t->root = calloc(1, sizeof(struct pt_node));
		if (!t->root)
			t->height = 0;
		return t->root ? 0 : -ENOMEM;
	}
	while (index > pt_max_index(t->height)) {
		struct pt_node *n = calloc(1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		n->slots[0] = t->root;
		n->count = 1;
		for (int tag = 0; tag < PAGETREE_NR_TAGS; tag++)
			n->tags[tag] = t->root->tags[tag] ? 1 : 0;
		t->root = n;
		t->height++;
	}
	return 0;
}

int pagetree_insert(struct pagetree *t, uint64_t index, void *item)
{
	struct pt_node *node;
	int ret = pt_grow(t, index);

	if (ret)
		return ret;
	node = t->root;
	for (unsigned int level = t->height - 1; level > 0; level--) {
		void **slot = &node->slots[pt_slot(index, level)];

		if (!*slot) {
			*slot = calloc(1, sizeof(struct pt_node));
			if (!*slot)
				return -ENOMEM;
			node->count++;
		}
		node = *slot;
	}
	node->slots[pt_slot(index, 0)] = item;
	node->count++;
	return 0;
}

/* The nodes from the root down to the leaf holding index, into path
 * (path[level]); false if index has no leaf. */
static bool pt_path(const struct pagetree *t, uint64_t index,
		    struct pt_node *path[PT_MAX_HEIGHT])
{
	struct pt_node *node = t->root;

	if (!node || index > pt_max_index(t->height))
		return false;
	for (unsigned int level = t->height - 1; level > 0; level--) {
		path[level] = node;
		node = node->slots[pt_slot(index, level)];
		if (!node)
			return false;
	}
	path[0] = node;
	return true;
}

/* Clear tag of the slot of index in path[0], and upwards while a node is
 * left with no tagged slot. */
static void pt_untag(struct pagetree *t, struct pt_node *path[], uint64_t index,
		     enum pagetree_tag tag)
{
	for (unsigned int level = 0; level < t->height; level++) {
		path[level]->tags[tag] &= ~(1ULL << pt_slot(index, level));
		if (path[level]->tags[tag])
			break;
	}
}

void *pagetree_delete(struct pagetree *t, uint64_t index)
{
	struct pt_node *path[PT_MAX_HEIGHT];
	struct pt_node *node;
	unsigned int level;
	void *item;

	if (!pt_path(t, index, path))
		return NULL;
	node = path[0];
	item = node->slots[pt_slot(index, 0)];
	if (!item)
		return NULL;
	for (int tag = 0; tag < PAGETREE_NR_TAGS; tag++)
		if (node->tags[tag] & (1ULL << pt_slot(index, 0)))
			pt_untag(t, path, index, (enum pagetree_tag)tag);
	node->slots[pt_slot(index, 0)] = NULL;
	/* Free nodes that became empty, bottom up. */
	for (level = 0; --node->count == 0; level++) {
		free(node);
		if (level + 1 == t->height) {
			t->root = NULL;
			t->height = 0;
			break;
		}
		node = path[level + 1];
		node->slots[pt_slot(index, level + 1)] = NULL;
	}
	return item;
}

void pagetree_tag_set(struct pagetree *t, uint64_t index, enum pagetree_tag tag)
{
	struct pt_node *path[PT_MAX_HEIGHT];

	if (!pt_path(t, index, path) || !path[0]->slots[pt_slot(index, 0)])
		return;
	for (unsigned int level = 0; level < t->height; level++)
		path[level]->tags[tag] |= 1ULL << pt_slot(index, level);
}

void pagetree_tag_clear(struct pagetree *t, uint64_t index,
			enum pagetree_tag tag)
{
	struct pt_node *path[PT_MAX_HEIGHT];

	if (pt_path(t, index, path) &&
	    path[0]->tags[tag] & (1ULL << pt_slot(index, 0)))
		pt_untag(t, path, index, tag);
}

int pagetree_tagged(const struct pagetree *t, uint64_t index,
		    enum pagetree_tag tag)
{
	struct pt_node *path[PT_MAX_HEIGHT];

	return pt_path(t, index, path) &&
	       (path[0]->tags[tag] >> pt_slot(index, 0) & 1);
}

/* First item at an index >= start under node, whose first index is base. */
static void *pt_next(const struct pt_node *node, unsigned int level,
		     uint64_t base, uint64_t start, uint64_t *found)
{
	unsigned int first = start > base ? pt_slot(start, level) : 0;

	for (unsigned int i = first; i < PT_SLOTS; i++) {
		uint64_t child = base + ((uint64_t)i << (level * PT_BITS));
		void *item;

		if (!node->slots[i])
			continue;
		if (level == 0) {
			*found = child;
			return node->slots[i];
		}
		item = pt_next(node->slots[i], level - 1, child,
			       i == first ? start : child, found);
		if (item)
			return item;
	}
	return NULL;
}

void *pagetree_next(const struct pagetree *t, uint64_t *index)
{
	if (!t->root || *index > pt_max_index(t->height))
		return NULL;
	return pt_next(t->root, t->height - 1, 0, *index, index);
}

/* pt_next over the slots whose tag bit is set: untagged subtrees are not
 * entered. */
static void *pt_next_tagged(const struct pt_node *node, unsigned int level,
			    uint64_t base, uint64_t start,
			    enum pagetree_tag tag, uint64_t *found)
{
	unsigned int first = start > base ? pt_slot(start, level) : 0;
	uint64_t bits = node->tags[tag] & (~0ULL << first);

	while (bits) {
		unsigned int i = (unsigned int)__builtin_ctzll(bits);
		uint64_t child = base + ((uint64_t)i << (level * PT_BITS));
		void *item;

		bits &= bits - 1;
		if (level == 0) {
			*found = child;
			return node->slots[i];
		}
		item = pt_next_tagged(node->slots[i], level - 1, child,
				      i == first ? start : child, tag, found);
		if (item)
			return item;
	}
	return NULL;
}

void *pagetree_next_tagged(const struct pagetree *t, uint64_t *index,
			   enum pagetree_tag tag)
{
	if (!t->root || *index > pt_max_index(t->height))
		return NULL;
	return pt_next_tagged(t->root, t->height - 1, 0, *index, tag, index);
}

static void pt_free(struct pt_node *node, unsigned int level)
{
	if (level > 0)
		for (unsigned int i = 0; i < PT_SLOTS; i++)
			if (node->slots[i])
				pt_free(node->slots[i], level - 1);
	free(node);
}

void pagetree_destroy(struct pagetree *t)
{
	if (t->root)
		pt_free(t->root, t->height - 1);
	t->root = NULL;
	t->height = 0;
}
