"""Hierarchical navigable small-world graphs (Malkov & Yashunin 2016/2018, arXiv:1603.09320).

Each vector gets a random top layer l = floor(-ln(U) * mL) with mL = 1 / ln(M), so layer j holds
about N / M^j nodes. A search walks greedily down the sparse upper layers to a good entry point,
then runs a best-first beam of width ef on layer 0 (Algorithm 2). Insertion (Algorithm 1) searches
with efConstruction and keeps M neighbours chosen by the diversity heuristic (Algorithm 4), or,
with heuristic=False, simply the M nearest (Algorithm 3); layer 0 allows 2M links.
Distances: 1 - dot (use unit vectors for cosine) or squared L2.
Shapes: N vectors, Q queries, C width, k results.
"""

# --8<-- [start:imports]
import heapq
import math

import numpy as np

from snippets.retrieval.exact import check_search
# --8<-- [end:imports]


# --8<-- [start:hnsw]
class HNSW:
    def __init__(self, dim: int, M: int = 16, ef_construction: int = 200, metric: str = "dot",
                 seed: int = 0, heuristic: bool = True):
        if metric not in ("dot", "l2"):
            raise ValueError(f"unknown metric {metric!r}; use 'dot' (unit vectors for cosine) or 'l2'")
        if M < 2:
            raise ValueError(f"M must be at least 2, got {M}")
        self.dim, self.M, self.M0, self.ef_construction = dim, M, 2 * M, ef_construction
        self.metric, self.mL, self.heuristic = metric, 1.0 / math.log(M), heuristic
        self.rng = np.random.default_rng(seed)
        self.x = np.empty((0, dim), dtype=np.float32)
        self.links: list[list[list[int]]] = []   # links[node][layer] -> neighbour ids
        self.entry, self.max_level = -1, -1
        self.distance_count = 0                  # distances computed: the cost that matters
        self._frozen: dict = {}                  # adjacency arrays for search, by layer

    def _dist(self, q: np.ndarray, ids: list[int]) -> np.ndarray:
        self.distance_count += len(ids)
        v = self.x[ids]
        return 1.0 - v @ q if self.metric == "dot" else ((v - q) ** 2).sum(1)

    def search_layer(self, q: np.ndarray, entry: list[int], ef: int, layer: int) -> list[tuple[float, int]]:
        """Algorithm 2: best-first search keeping the ef nearest found; (distance, id), nearest first."""
        visited = set(entry)
        d0 = self._dist(q, entry)
        candidates = [(float(d), e) for d, e in zip(d0, entry)]        # min-heap: nearest next
        heapq.heapify(candidates)
        found = [(-float(d), e) for d, e in zip(d0, entry)]            # max-heap: farthest on top
        heapq.heapify(found)
        while len(found) > ef:
            heapq.heappop(found)
        while candidates:
            dc, c = heapq.heappop(candidates)
            if dc > -found[0][0]:
                break   # the nearest unexpanded candidate is farther than every kept result
            new = [n for n in self.links[c][layer] if n not in visited]
            if not new:
                continue
            visited.update(new)
            d = self._dist(q, new)                                     # one product per expanded node
            if len(found) >= ef:   # the bound only tightens: drop in one numpy step what cannot enter
                near = np.flatnonzero(d < -found[0][0])
                if not len(near):
                    continue
                d, new = d[near], [new[i] for i in near]
            for dn, n in zip(d.tolist(), new):
                if len(found) < ef or dn < -found[0][0]:
                    heapq.heappush(candidates, (dn, n))
                    heapq.heappush(found, (-dn, n))
                    if len(found) > ef:
                        heapq.heappop(found)
        return sorted((-d, n) for d, n in found)

    def select_neighbours(self, candidates: list[tuple[float, int]], m: int) -> list[int]:
        """Algorithm 4: keep a candidate only if it is nearer to the base than to every kept one.

        This spreads the links over directions, so that a cluster does not take all m slots.
        With fewer than m candidates all are kept, as hnswlib does: pruning would only leave a
        node with fewer links than it has room for (the paper's keepPrunedConnections refills
        them). With heuristic=False: Algorithm 3, the m nearest. candidates: (distance to the
        base, id), nearest first.
        """
        if len(candidates) < m or not self.heuristic:   # all fit, or Algorithm 3: the m nearest
            return [e for _, e in candidates][:m]
        ids = [e for _, e in candidates]
        d = np.array([dist for dist, _ in candidates])
        v = self.x[ids]
        self.distance_count += len(ids) ** 2
        # all candidate-to-candidate distances in one product instead of one call per candidate
        pair = 1.0 - v @ v.T if self.metric == "dot" else ((v[:, None, :] - v[None, :, :]) ** 2).sum(-1)
        # pruned[a, b]: candidate a is at least as near to b as to the base, so keeping b discards a
        pruned = pair <= d[:, None]
        alive = np.ones(len(ids), dtype=bool)
        kept: list[int] = []
        a = 0
        while len(kept) < m:   # nearest first: the next survivor is kept, then prunes what it covers
            rest = np.flatnonzero(alive[a:])
            if not len(rest):
                break
            a += int(rest[0])
            kept.append(a)
            alive &= ~pruned[:, a]
            a += 1
        return [ids[a] for a in kept]

    def add(self, x: np.ndarray) -> "HNSW":
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {x.shape}")
        start = len(self.x)
        self.x = np.concatenate([self.x, x.astype(np.float32)])
        for i in range(start, len(self.x)):
            self._insert(i)
        return self

    def _insert(self, i: int) -> None:
        """Algorithm 1."""
        q = self.x[i]
        level = int(-math.log(1.0 - self.rng.random()) * self.mL)
        self.links.append([[] for _ in range(level + 1)])
        if self.entry < 0:
            self.entry, self.max_level = i, level
            return
        entry = [self.entry]
        for layer in range(self.max_level, level, -1):      # greedy descent, beam of 1
            entry = [self.search_layer(q, entry, 1, layer)[0][1]]
        for layer in range(min(level, self.max_level), -1, -1):
            found = self.search_layer(q, entry, self.ef_construction, layer)
            neighbours = self.select_neighbours(found, self.M)
            self.links[i][layer] = neighbours
            m_max = self.M0 if layer == 0 else self.M
            for n in neighbours:                              # links go both ways
                mine = self.links[n][layer]
                mine.append(i)
                if len(mine) > m_max:                         # shrink with the same rule
                    d = self._dist(self.x[n], mine)
                    self.links[n][layer] = self.select_neighbours(sorted(zip(d.tolist(), mine)), m_max)
            entry = [n for _, n in found]
        if level > self.max_level:
            self.entry, self.max_level = i, level

    def search(self, queries: np.ndarray, k: int, ef: int = 64,
               block: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(Q, k) distances and ids, nearest first; ef >= k is the beam width on layer 0.

        Queries go through the graph together, `block` at a time, each one expanding exactly the
        nodes that Algorithm 2 would for it alone (search_layer_batch), so every step is a few
        array operations over the whole block instead of interpreter work per query and node.
        """
        check_search(self.x, queries, k)
        queries = queries.astype(np.float32)
        dist = np.empty((len(queries), k))
        ids = np.empty((len(queries), k), dtype=np.int64)
        for s in range(0, len(queries), block):
            q = queries[s:s + block]
            entry = np.full(len(q), self.entry)
            for layer in range(self.max_level, 0, -1):          # greedy descent, beam of 1
                entry = self.search_layer_batch(q, entry, 1, layer)[1][:, 0]
            d, n = self.search_layer_batch(q, entry, max(ef, k), 0)
            dist[s:s + block], ids[s:s + block] = d[:, :k], n[:, :k]
        return dist, ids

    def search_layer_batch(self, queries: np.ndarray, entry: np.ndarray, ef: int,
                           layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Algorithm 2 for Q queries at once: (Q, ef) distances and ids, nearest first.

        The beam W of each query is a row of ef slots with a flag "expanded". Algorithm 2's next
        candidate is always the nearest unexpanded member of W (a candidate that fell out of W
        is farther than all of W, so reaching it ends the search), and the search ends when every
        member of W has been expanded: the same expansions, with the candidate heap gone.
        """
        rows = np.arange(len(queries))
        adjacency = self._adjacency(layer)
        seen = np.zeros((len(queries), len(self.x)), dtype=bool)
        seen[rows, entry] = True
        dist = np.full((len(queries), ef), np.inf, dtype=np.float32)
        ids = np.full((len(queries), ef), -1)
        expanded = np.ones((len(queries), ef), dtype=bool)        # empty slots never expand
        self.distance_count += len(queries)
        dist[:, 0], ids[:, 0], expanded[:, 0] = self._dist_pairs(queries, entry), entry, False
        active = rows
        while len(active):
            waiting = np.where(expanded[active], np.inf, dist[active])
            pick = waiting.argmin(1)
            go = np.isfinite(waiting[np.arange(len(active)), pick])   # has an unexpanded member
            active, pick = active[go], pick[go]
            expanded[active, pick] = True
            near = adjacency[ids[active, pick]]                           # (A, width) neighbour ids
            fresh = ~seen[active[:, None], near]
            seen[active[:, None], near] = True
            rows, cols = np.nonzero(fresh)                                # only unseen nodes cost
            self.distance_count += len(rows)
            d = np.full(near.shape, np.inf, dtype=np.float32)
            d[rows, cols] = self._dist_pairs(np.take(queries, active[rows], axis=0), near[rows, cols])
            # W keeps the ef nearest of itself and the new nodes (the bound test of Algorithm 2)
            all_d = np.concatenate([dist[active], d], 1)
            all_ids = np.concatenate([ids[active], near], 1)
            all_done = np.concatenate([expanded[active], ~fresh], 1)
            keep = np.argpartition(all_d, ef - 1, axis=1)[:, :ef]
            dist[active] = np.take_along_axis(all_d, keep, 1)
            ids[active] = np.where(np.isfinite(dist[active]), np.take_along_axis(all_ids, keep, 1), -1)
            expanded[active] = np.take_along_axis(all_done, keep, 1) | ~np.isfinite(dist[active])
        order = np.lexsort((ids, dist), axis=1)                       # nearest first, ties by id
        return np.take_along_axis(dist, order, 1).astype(np.float64), np.take_along_axis(ids, order, 1)

    def _dist_pairs(self, queries: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Distance from queries[i] to node nodes[i], for every i: (P,) from (P, C) and (P,)."""
        v = np.take(self.x, nodes, axis=0)                            # take: a faster gather than x[nodes]
        if self.metric == "dot":
            return 1.0 - np.einsum("pc,pc->p", v, queries)
        return np.einsum("pc,pc->p", v - queries, v - queries)

    def _adjacency(self, layer: int) -> np.ndarray:
        """(N, width) neighbour ids on a layer, each row padded with the node's own id (always seen,
        so padding costs no distance). Rebuilt after add()."""
        if self._frozen.get("n") != len(self.x):
            self._frozen = {"n": len(self.x)}
        if layer not in self._frozen:
            width = self.M0 if layer == 0 else self.M
            table = np.repeat(np.arange(len(self.x))[:, None], width, axis=1)
            for node, links in enumerate(self.links):
                if len(links) > layer and links[layer]:
                    table[node, :len(links[layer])] = links[layer]
            self._frozen[layer] = table
        return self._frozen[layer]
# --8<-- [end:hnsw]
