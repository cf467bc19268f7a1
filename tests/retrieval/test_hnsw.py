import hnswlib
import numpy as np
import pytest

from snippets.retrieval.exact import exact_search, normalize
from snippets.retrieval.hnsw import HNSW


def unit_data(n=1000, q=100, c=24, seed=0):
    rng = np.random.default_rng(seed)
    return normalize(rng.normal(size=(n, c))).astype(np.float32), normalize(rng.normal(size=(q, c))).astype(np.float32)


def recall(found, truth):
    return np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)])


@pytest.fixture(scope="module")
def built():
    x, q = unit_data()
    return x, q, HNSW(24, M=8, ef_construction=64, seed=0).add(x)


def test_recall_at_10_is_above_0_9_and_close_to_hnswlib(built):
    x, q, index = built
    truth = exact_search(x, q, 10, "dot")[1]
    ours = recall(index.search(q, 10, ef=64)[1], truth)
    ref = hnswlib.Index(space="ip", dim=24)
    ref.init_index(max_elements=len(x), M=8, ef_construction=64, random_seed=0)
    ref.add_items(x, num_threads=1)
    ref.set_ef(64)
    theirs = recall(ref.knn_query(q, k=10, num_threads=1)[0], truth)
    assert ours >= 0.9
    assert ours >= theirs - 0.05


def test_larger_ef_does_not_lower_recall_and_costs_more_distances(built):
    x, q, index = built
    truth = exact_search(x, q, 10, "dot")[1]
    index.distance_count = 0
    low = recall(index.search(q, 10, ef=10)[1], truth)
    cost_low, index.distance_count = index.distance_count, 0
    high = recall(index.search(q, 10, ef=100)[1], truth)
    assert high >= low and index.distance_count > cost_low


def test_layers_thin_out_geometrically(built):
    _, _, index = built
    levels = np.array([len(links) - 1 for links in index.links])
    share_up = (levels >= 1).mean()
    assert 0.07 < share_up < 0.19    # expected 1/M = 0.125
    assert max(len(links[0]) for links in index.links) <= 2 * index.M


def test_l2_metric_finds_the_point_itself():
    x, _ = unit_data(300, 1, 8)
    index = HNSW(8, M=6, ef_construction=32, metric="l2").add(x)
    assert (index.search(x[:20], 1, ef=32)[1][:, 0] == np.arange(20)).all()


def test_bad_input(built):
    x, q, index = built
    with pytest.raises(ValueError, match="width mismatch"):
        index.search(q[:, :5], 3)
    with pytest.raises(ValueError, match=f"k={len(x) + 1}"):
        index.search(q, len(x) + 1)
    with pytest.raises(ValueError, match="expected vectors of shape"):
        HNSW(4).add(np.ones((2, 5)))
    with pytest.raises(ValueError, match="unknown metric"):
        HNSW(4, metric="cosine")


def naive_heuristic(x, base, ids, m, metric):
    """Algorithm 4 of the paper, one candidate at a time: keep e if it is nearer to the base than to every kept r."""
    def dist(a, b):
        return 1.0 - float(a @ b) if metric == "dot" else float(((a - b) ** 2).sum())
    order = sorted(ids, key=lambda e: dist(x[e], base))
    kept = []
    for e in order:
        if len(kept) == m:
            break
        if all(dist(x[e], x[r]) > dist(x[e], base) for r in kept):
            kept.append(e)
    return kept


@pytest.mark.parametrize("metric", ["dot", "l2"])
def test_vectorised_neighbour_selection_equals_the_papers_loop(metric):
    x, bases = unit_data(200, 20, 8, seed=3)
    # float64, and bases that are not candidates: exact ties (a duplicate of the base) would be decided
    # by rounding, which differs between a matrix product and a loop of dot products
    x = x.astype(np.float64)
    index = HNSW(8, M=6, metric=metric)
    index.x = x
    rng = np.random.default_rng(1)
    for base in bases.astype(np.float64):
        ids = [int(i) for i in rng.choice(len(x), 40, replace=False)]
        d = index._dist(base, ids)
        candidates = sorted(zip(d.tolist(), ids))
        for m in (3, 6, 40):
            assert index.select_neighbours(candidates, m) == naive_heuristic(x, base, ids, m, metric)


def test_simple_selection_keeps_the_m_nearest():
    x, q = unit_data(100, 1, 8, seed=4)
    index = HNSW(8, M=4, heuristic=False)
    index.x = x
    d = index._dist(q[0], list(range(100)))
    candidates = sorted(zip(d.tolist(), range(100)))
    assert index.select_neighbours(candidates, 5) == [e for _, e in candidates[:5]]


def test_fewer_candidates_than_m_are_all_kept_as_hnswlib_does():
    # base at 0, candidates at 1 and 2 on a line (squared L2): the far one is nearer the near one (1)
    # than the base (4), so the heuristic prunes it when the list is full, but not when there is room
    index = HNSW(1, M=2, metric="l2")
    index.x = np.array([[0.0], [1.0], [2.0]])
    candidates = [(1.0, 1), (4.0, 2)]
    assert index.select_neighbours(candidates, 2) == [1]
    assert index.select_neighbours(candidates, 3) == [1, 2]


def one_at_a_time(index, q, k, ef):
    """Algorithm 2 per query with its candidate heap (search_layer, the build's search)."""
    out = []
    for query in q:
        entry = [index.entry]
        for layer in range(index.max_level, 0, -1):
            entry = [index.search_layer(query, entry, 1, layer)[0][1]]
        out.append([n for _, n in index.search_layer(query, entry, max(ef, k), 0)[:k]])
    return np.array(out)


@pytest.mark.parametrize("ef", [10, 40])
def test_batched_search_expands_what_the_heap_search_expands(built, ef):
    _, q, index = built
    index.distance_count = 0
    batched = index.search(q, 10, ef=ef, block=32)[1]
    cost_batched, index.distance_count = index.distance_count, 0
    np.testing.assert_array_equal(batched, one_at_a_time(index, q, 10, ef))
    assert cost_batched == index.distance_count   # the same distances computed, not just the same answer
