// SPDX-License-Identifier: GPL-2.0
/*
 * Description: cache/pagetree.c, the page index radix tree: lookups, inserts,
 * deletes and ordered walks at the edges of the index space (node borders,
 * 2^64 - 1), the freeing of emptied nodes (under ASan, a leak fails the run),
 * a seeded random sequence checked against a sorted array, and tags (set,
 * clear, lost on delete, kept when the tree grows, tagged walks) checked
 * against a model the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cache/pagetree.h"

/* What the tree stores: an item that knows its own index. */
struct rec {
	uint64_t index;
};

static struct rec *rec_new(uint64_t index)
{
	struct rec *r = malloc(sizeof(*r));

	assert_non_null(r);
	r->index = index;
	return r;
}

static void insert(struct pagetree *t, uint64_t index)
{
	assert_int_equal(pagetree_insert(t, index, rec_new(index)), 0);
}

static void delete_and_free(struct pagetree *t, uint64_t index)
{
	struct rec *r = pagetree_delete(t, index);

	assert_non_null(r);
	assert_true(r->index == index);
	free(r);
}

static void assert_at(const struct pagetree *t, uint64_t index)
{
	const struct rec *r = pagetree_lookup(t, index);

	assert_non_null(r);
	assert_true(r->index == index);
}

/* pagetree_next(from) must find the item at want. */
static void assert_next(const struct pagetree *t, uint64_t from, uint64_t want)
{
	uint64_t i = from;
	const struct rec *r = pagetree_next(t, &i);

	assert_non_null(r);
	assert_true(i == want);
	assert_true(r->index == want);
}

static void assert_no_next(const struct pagetree *t, uint64_t from)
{
	uint64_t i = from;

	assert_null(pagetree_next(t, &i));
}

/* Node borders of a 64-slot radix tree, and the ends of the index space. */
static const uint64_t edges[] = {
	0,	    1,
	63,	    64,
	65,	    4095,
	4096,	    262143,
	262144,	    (1ULL << 32) - 1,
	1ULL << 32, (1ULL << 60) - 1,
	1ULL << 60, UINT64_MAX - 1,
	UINT64_MAX,
};
#define NR_EDGES (sizeof(edges) / sizeof(edges[0]))

static void empty_tree_finds_nothing(void **state)
{
	struct pagetree t = PAGETREE_INIT;

	(void)state;
	assert_null(pagetree_lookup(&t, 0));
	assert_null(pagetree_lookup(&t, UINT64_MAX));
	assert_null(pagetree_delete(&t, 7));
	assert_no_next(&t, 0);
	pagetree_destroy(&t);
	assert_null(t.root);
}

static void edge_indices_are_stored_and_found(void **state)
{
	struct pagetree t = PAGETREE_INIT;

	(void)state;
	for (size_t i = 0; i < NR_EDGES; i++)
		insert(&t, edges[i]);
	for (size_t i = 0; i < NR_EDGES; i++)
		assert_at(&t, edges[i]);
	assert_null(pagetree_lookup(&t, 2));
	assert_null(pagetree_lookup(&t, 1ULL << 33));
	assert_null(pagetree_lookup(&t, UINT64_MAX - 2));
	for (size_t i = 0; i < NR_EDGES; i++)
		delete_and_free(&t, edges[i]);
	assert_null(t.root);
	assert_int_equal(t.height, 0);
}

static void next_walks_in_index_order(void **state)
{
	struct pagetree t = PAGETREE_INIT;

	(void)state;
	/* Insert backwards so the walk cannot follow insertion order. */
	for (size_t i = NR_EDGES; i-- > 0;)
		insert(&t, edges[i]);
	for (size_t i = 0; i < NR_EDGES; i++) {
		assert_next(&t, edges[i], edges[i]);
		if (i + 1 < NR_EDGES && edges[i] + 1 < edges[i + 1])
			assert_next(&t, edges[i] + 1, edges[i + 1]);
	}
	delete_and_free(&t, UINT64_MAX);
	assert_no_next(&t, UINT64_MAX);
	assert_next(&t, UINT64_MAX - 1, UINT64_MAX - 1);
	for (size_t i = 0; i + 1 < NR_EDGES; i++)
		delete_and_free(&t, edges[i]);
	assert_no_next(&t, 0);
	assert_null(t.root);
}

static void delete_of_absent_index_changes_nothing(void **state)
{
	struct pagetree t = PAGETREE_INIT;

	(void)state;
	insert(&t, 100);
	assert_null(pagetree_delete(&t, 101));
	assert_null(pagetree_delete(&t, 100 + 64));
	assert_null(pagetree_delete(&t, 1ULL << 40));
	assert_at(&t, 100);
	delete_and_free(&t, 100);
	assert_null(pagetree_delete(&t, 100));
	assert_null(t.root);
}

/* An index past the first node grows the tree from empty: every node made on
 * the way must go when the only item does. */
static void first_insert_far_out_leaves_no_nodes_behind(void **state)
{
	static const uint64_t far[] = { 64, 4096, 1ULL << 40, UINT64_MAX };

	(void)state;
	for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		struct pagetree t = PAGETREE_INIT;

		insert(&t, far[i]);
		delete_and_free(&t, far[i]);
		assert_null(t.root);
		assert_int_equal(t.height, 0);
	}
}

static void reinsert_after_emptying_works(void **state)
{
	struct pagetree t = PAGETREE_INIT;

	(void)state;
	insert(&t, 1ULL << 50);
	delete_and_free(&t, 1ULL << 50);
	insert(&t, 3);
	assert_at(&t, 3);
	assert_next(&t, 0, 3);
	delete_and_free(&t, 3);
	assert_null(t.root);
}

static void destroy_frees_nodes_not_items(void **state)
{
	struct pagetree t = PAGETREE_INIT;
	struct rec *recs[256];

	(void)state;
	for (uint64_t i = 0; i < 256; i++) {
		recs[i] = rec_new(i * 1000003);
		assert_int_equal(pagetree_insert(&t, recs[i]->index, recs[i]),
				 0);
	}
	pagetree_destroy(&t);
	assert_null(t.root);
	assert_int_equal(t.height, 0);
	assert_null(pagetree_lookup(&t, 0));
	/* The items still belong to us: reading them must be valid. */
	for (uint64_t i = 0; i < 256; i++) {
		assert_true(recs[i]->index == i * 1000003);
		free(recs[i]);
	}
}

/* --- random sequence against a sorted array ----------------------------- */

#define MODEL_MAX 4096

struct model {
	uint64_t keys[MODEL_MAX];
	size_t n;
};

/* Position of the first key >= index. */
static size_t model_lower_bound(const struct model *m, uint64_t index)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->keys[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool model_has(const struct model *m, uint64_t index)
{
	size_t p = model_lower_bound(m, index);

	return p < m->n && m->keys[p] == index;
}

static void model_insert(struct model *m, uint64_t index)
{
	size_t p = model_lower_bound(m, index);

	memmove(&m->keys[p + 1], &m->keys[p], (m->n - p) * sizeof(uint64_t));
	m->keys[p] = index;
	m->n++;
}

static void model_delete(struct model *m, uint64_t index)
{
	size_t p = model_lower_bound(m, index);

	memmove(&m->keys[p], &m->keys[p + 1],
		(m->n - p - 1) * sizeof(uint64_t));
	m->n--;
}

static uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Mostly a dense file's indices, sometimes anywhere in 64 bits. */
static uint64_t random_index(uint64_t *seed)
{
	uint64_t r = xorshift64(seed);

	if (r % 8 == 0)
		return xorshift64(seed);
	return xorshift64(seed) % 3000;
}

/* One random step: lookup, next, then insert or delete at a random index. */
static void random_step(struct pagetree *t, struct model *m, uint64_t *seed)
{
	uint64_t index = random_index(seed);
	size_t p = model_lower_bound(m, index);

	if (p < m->n)
		assert_next(t, index, m->keys[p]);
	else
		assert_no_next(t, index);
	if (model_has(m, index)) {
		assert_at(t, index);
		delete_and_free(t, index);
		model_delete(m, index);
	} else if (m->n < MODEL_MAX) {
		assert_null(pagetree_lookup(t, index));
		insert(t, index);
		model_insert(m, index);
	}
}

static void random_operations_match_a_sorted_array(void **state)
{
	static struct model m;
	struct pagetree t = PAGETREE_INIT;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint64_t walked = 0;

	(void)state;
	for (int step = 0; step < 200000; step++)
		random_step(&t, &m, &seed);
	/* A full ordered walk visits exactly the model's keys. */
	for (uint64_t i = 0; pagetree_next(&t, &i); i++) {
		assert_true(walked < m.n);
		assert_true(i == m.keys[walked]);
		walked++;
		if (i == UINT64_MAX)
			break;
	}
	assert_true(walked == m.n);
	while (m.n > 0) {
		delete_and_free(&t, m.keys[m.n - 1]);
		m.n--;
	}
	assert_null(t.root);
}

/* --- tags ------------------------------------------------------------------ */

static void tags_survive_growth_and_go_with_delete(void **state)
{
	struct pagetree t = PAGETREE_INIT;
	uint64_t i = 0;

	(void)state;
	insert(&t, 5);
	pagetree_tag_set(&t, 5, PAGETREE_TAG_DIRTY);
	pagetree_tag_set(&t, 6, PAGETREE_TAG_DIRTY); /* absent: no effect */
	insert(&t, 1ULL << 40); /* three more levels on top of the root */
	assert_true(pagetree_tagged(&t, 5, PAGETREE_TAG_DIRTY));
	assert_false(pagetree_tagged(&t, 5, PAGETREE_TAG_TOWRITE));
	assert_false(pagetree_tagged(&t, 6, PAGETREE_TAG_DIRTY));
	assert_true(pagetree_next_tagged(&t, &i, PAGETREE_TAG_DIRTY) != NULL);
	assert_true(i == 5);
	i = 6;
	assert_null(pagetree_next_tagged(&t, &i, PAGETREE_TAG_DIRTY));
	delete_and_free(&t, 5);
	insert(&t, 5); /* a new item at the index starts untagged */
	assert_false(pagetree_tagged(&t, 5, PAGETREE_TAG_DIRTY));
	i = 0;
	assert_null(pagetree_next_tagged(&t, &i, PAGETREE_TAG_DIRTY));
	delete_and_free(&t, 5);
	delete_and_free(&t, 1ULL << 40);
	assert_null(t.root);
}

#define CAND_DENSE 3000
#define CAND_FAR 64
#define CAND_MAX (CAND_DENSE + CAND_FAR)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The indices a tag test uses, sorted: a dense file and far ones. */
static size_t candidates(uint64_t *cand, uint64_t *seed)
{
	size_t n = 0;

	for (uint64_t i = 0; i < CAND_DENSE; i++)
		cand[n++] = i;
	for (int i = 0; i < CAND_FAR; i++)
		cand[n++] = CAND_DENSE + xorshift64(seed) % (UINT64_MAX - 8192);
	qsort(cand, n, sizeof(*cand), cmp_u64);
	return n;
}

static void random_tags_match_a_model(void **state)
{
	static uint64_t cand[CAND_MAX];
	static bool present[CAND_MAX], tagged[CAND_MAX][PAGETREE_NR_TAGS];
	struct pagetree t = PAGETREE_INIT;
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	size_t n = candidates(cand, &seed);

	(void)state;
	for (int step = 0; step < 30000; step++) {
		size_t c = xorshift64(&seed) % n, want = c;
		enum pagetree_tag tag = xorshift64(&seed) % PAGETREE_NR_TAGS;
		uint64_t at = cand[c];
		void *item;

		switch (xorshift64(&seed) % 4) {
		case 0: /* insert or delete */
			if (present[c]) {
				delete_and_free(&t, at);
				memset(tagged[c], 0, sizeof(tagged[c]));
			} else {
				insert(&t, at);
			}
			present[c] = !present[c];
			break;
		case 1:
			pagetree_tag_set(&t, at, tag);
			tagged[c][tag] = present[c];
			break;
		case 2:
			pagetree_tag_clear(&t, at, tag);
			tagged[c][tag] = false;
			break;
		default: /* the first tagged item at or after at */
			while (want < n && !tagged[want][tag])
				want++;
			item = pagetree_next_tagged(&t, &at, tag);
			if (want == n) {
				assert_null(item);
			} else {
				assert_non_null(item);
				assert_true(at == cand[want]);
				assert_true(((struct rec *)item)->index == at);
			}
		}
		assert_true(!!pagetree_tagged(&t, cand[c], tag) ==
			    tagged[c][tag]);
	}
	for (size_t c = 0; c < n; c++)
		if (present[c])
			delete_and_free(&t, cand[c]);
	assert_null(t.root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_tree_finds_nothing),
		cmocka_unit_test(edge_indices_are_stored_and_found),
		cmocka_unit_test(next_walks_in_index_order),
		cmocka_unit_test(delete_of_absent_index_changes_nothing),
		cmocka_unit_test(first_insert_far_out_leaves_no_nodes_behind),
		cmocka_unit_test(reinsert_after_emptying_works),
		cmocka_unit_test(destroy_frees_nodes_not_items),
		cmocka_unit_test(random_operations_match_a_sorted_array),
		cmocka_unit_test(tags_survive_growth_and_go_with_delete),
		cmocka_unit_test(random_tags_match_a_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
