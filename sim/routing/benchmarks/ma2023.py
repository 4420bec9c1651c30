"""Multi-item online fulfilment instances of Jasin & Sinha (2015) as set up by Ma (2023), and their bounds.

**Source.** Ma, W. (2023), "Order-optimal correlated rounding for fulfilling multi-item e-commerce
orders", M&SOM (arXiv 2207.04774), whose public code (github.com/Willmasaur/multi_item_e_commerce_fulfillment,
``corr_rounding.jl`` and the ``*_warmup.csv`` files, commit e482a35) fixes the generator; this module is
our own implementation of that description, drawing from Shangou's named streams (``sim.rng``):

- network: the 10 most populous US metro areas (coordinates, population) and 5 Amazon fulfilment
  centres (``WARMUP_CITIES``, ``WARMUP_FCS``, the values of the ``*_warmup.csv`` files); distances are
  great-circle miles (haversine, R = 6371 km, / 1.61 km per mile, as the code).
- order types: type 0 is the empty order; for each size 1..n_max, n_per distinct random item subsets
  of that size (Q = 1 + n_max * n_per = 26 types over I = 20 items).
- demand: P(size 0) ∝ U0, P(size s) ∝ Us (U ~ Uniform(0, 1)), and within a size P(subset) ∝ Uniform(0, 1);
  an arrival's region is drawn with probability ∝ population: λ[q, j] = P(q) · pop_j / Σ pop.
- stocking: item i is carried at FC k iff an independent Uniform(0, 1) < p_carry (0.75); the demand
  rate of item i that FC k serves myopically is d[k, i] = Σ_{q ∋ i} Σ_{j: k nearest carrying FC} λ[q, j],
  and its starting stock is round(T·d + z·sqrt(T·d(1 − d))) with z = 0.5 (so a carrying FC that is no
  region's nearest gets 0 units).
- costs, per order from region j: each box from FC k costs 8.759 and each unit 0.423 + 0.000541 × miles;
  an unfilled item goes to a virtual FC K "at 2× the worst centre": a box of 2 × 8.759 and
  2 × (0.423 + 0.000541 × max_k miles[k, j]) per unit.
- arrivals: T = 10,000 i.i.d. draws of (type, region) with probability λ (empty orders cost nothing).

**Assumption where the code is silent:** the uniforms come from our streams, not Julia's global RNG,
so instance *k* here is a different draw of the same distribution than Ma's instance *k*; statistics
over 30 instances are what compare.

**Bounds.** ``lp_bound(inst, counts)`` is the fluid LP of Jasin & Sinha (their DLP, as in Ma's code)
with the demand counts N[q, j] of each (type, region) as right-hand side, in flow form: x[q,j,i,k]
orders of (q, j) shipping item i from FC k, y[q,j,k] boxes::

    min  Σ c_unit[k,j] x[q,j,i,k] + c_fixed[k,j] y[q,j,k]
    s.t. Σ_k x[q,j,i,k] = N[q,j]            every item of every order is routed (k = K: unfilled)
         x[q,j,i,k] ≤ y[q,j,k]               a box from k for every order that ships an item from k
         Σ_{q∋i, j} x[q,j,i,k] ≤ b[k,i]      stock, k < K

With N = T·λ it is the DLP (a lower bound on the expected cost of every policy, online or offline:
its value is convex in N, so E[LP(N)] ≥ LP(E N) by Jensen); with the realised counts of one arrival
sequence it is the *hindsight* LP, a lower bound on that sequence's offline optimum and so on every
policy's cost on it. ``offline_optimum`` solves the per-order integer problem by brute force (tiny
instances only, for the tests).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix

from sim.rng import RandomStreams

# name, state, lat, lon, population (Ma 2023 code, cities_warmup.csv)
WARMUP_CITIES: tuple[tuple[str, str, float, float, int], ...] = (
    ("New York", "New York", 40.6943, -73.9249, 18680025),
    ("Los Angeles", "California", 34.1141, -118.4068, 12531334),
    ("Chicago", "Illinois", 41.8375, -87.6866, 8586888),
    ("Miami", "Florida", 25.784, -80.2101, 6076316),
    ("Dallas", "Texas", 32.7935, -96.7667, 5910669),
    ("Houston", "Texas", 29.786, -95.3885, 5724418),
    ("Philadelphia", "Pennsylvania", 40.0077, -75.1339, 5540199),
    ("Atlanta", "Georgia", 33.7628, -84.422, 5151496),
    ("Washington", "District of Columbia", 38.9047, -77.0163, 5066973),
    ("Boston", "Massachusetts", 42.3188, -71.0852, 4465966),
)
# code, state, lat, lon (fulfillment_centers_warmup.csv)
WARMUP_FCS: tuple[tuple[str, str, float, float], ...] = (
    ("OAK4", "CA", 37.7448, -121.3985),
    ("IND1", "IN", 39.9797, -86.3833),
    ("AVP3", "PA", 41.2776, -75.4973),
    ("CAE1", "SC", 33.9114, -81.0501),
    ("DFW7", "TX", 32.9709, -97.3348),
)
BOX_CNY = 8.759  # cost per box (Jasin & Sinha 2015; Ma 2023); the benchmark's money unit is the papers' $
UNIT_BASE = 0.423
UNIT_PER_MILE = 0.000541
KM_PER_MILE = 1.61
R_KM = 6371.0


@dataclass(frozen=True)
class Instance:
    """One generated instance. FC index K (= n_fcs) is the virtual 'unfilled' centre."""

    n_items: int
    n_fcs: int
    n_regions: int
    T: int
    types: tuple[tuple[int, ...], ...]  # items of each order type; types[0] = () (empty order)
    lam: np.ndarray  # (Q, J) probability of an arrival of type q from region j (sums to 1)
    miles: np.ndarray  # (K, J)
    c_fixed: np.ndarray  # (K + 1, J) per box
    c_unit: np.ndarray  # (K + 1, J) per unit
    carries: np.ndarray  # (K, I) bool: item i is stocked at FC k
    closest: np.ndarray  # (I, J) nearest FC carrying item i for region j (K: none)
    stock: np.ndarray  # (K, I) int starting units

    @property
    def n_types(self) -> int:
        return len(self.types)


def _miles(
    cities: tuple[tuple[str, str, float, float, int], ...], fcs: tuple[tuple[str, str, float, float], ...]
) -> np.ndarray:
    la = np.radians([c[2] for c in cities])[None, :]
    lo = np.radians([c[3] for c in cities])[None, :]
    fa = np.radians([f[2] for f in fcs])[:, None]
    fo = np.radians([f[3] for f in fcs])[:, None]
    h = np.sin((la - fa) / 2) ** 2 + np.cos(fa) * np.cos(la) * np.sin((lo - fo) / 2) ** 2
    return np.asarray(2 * R_KM * np.arcsin(np.sqrt(h)) / KM_PER_MILE)


def generate(
    instance: int = 0,
    *,
    seed: int = 0,
    n_items: int = 20,
    n_max: int = 5,
    n_per: int = 5,
    T: int = 10_000,
    p_carry: float = 0.75,
    z_safety: float = 0.5,
    cities: tuple[tuple[str, str, float, float, int], ...] = WARMUP_CITIES,
    fcs: tuple[tuple[str, str, float, float], ...] = WARMUP_FCS,
) -> Instance:
    """Instance number `instance` of the set-up (module docstring); deterministic in (seed, instance)."""
    if n_max > n_items:
        raise ValueError(f"n_max ({n_max}) must not exceed n_items ({n_items})")
    rs = RandomStreams(seed, instance)
    K, J = len(fcs), len(cities)
    miles = _miles(cities, fcs)
    c_fixed = np.full((K + 1, J), BOX_CNY)
    c_fixed[K] = 2 * BOX_CNY
    c_unit = np.empty((K + 1, J))
    c_unit[:K] = UNIT_BASE + UNIT_PER_MILE * miles
    c_unit[K] = 2 * (UNIT_BASE + UNIT_PER_MILE * miles.max(axis=0))

    g = rs.get("bench.ma2023.types")
    types: list[tuple[int, ...]] = [()]
    for size in range(1, n_max + 1):
        for _ in range(n_per):
            types.append(tuple(int(i) for i in g.permutation(n_items)[:size]))
    g = rs.get("bench.ma2023.demand")
    size_w = g.random(n_max + 1)  # [size 0, 1..n_max]
    size_p = size_w / size_w.sum()
    type_p = np.empty(len(types))
    type_p[0] = size_p[0]
    for size in range(1, n_max + 1):
        w = g.random(n_per)
        type_p[1 + (size - 1) * n_per : 1 + size * n_per] = size_p[size] * w / w.sum()
    pop = np.array([c[4] for c in cities], float)
    lam = type_p[:, None] * (pop / pop.sum())[None, :]

    g = rs.get("bench.ma2023.stock")
    carries = g.random((n_items, K)).T < p_carry  # (K, I): one draw per item and FC, item by item
    closest = np.full((n_items, J), K, np.int64)
    for i in range(n_items):
        d = np.where(carries[:, i][:, None], miles, np.inf)
        has = np.isfinite(d).any(axis=0)
        closest[i, has] = np.argmin(d[:, has], axis=0)
    item_lam = np.zeros((n_items, J))  # arrival rate of orders containing item i, per region
    for q, items in enumerate(types):
        for i in items:
            item_lam[i] += lam[q]
    dem = np.zeros((K, n_items))
    for i in range(n_items):
        for j in range(J):
            if closest[i, j] < K:
                dem[closest[i, j], i] += item_lam[i, j]
    stock = np.rint(T * dem + z_safety * np.sqrt(T * dem * (1 - dem))).astype(np.int64)
    return Instance(n_items, K, J, int(T), tuple(types), lam, miles, c_fixed, c_unit, carries, closest, stock)


def arrivals(
    inst: Instance, sequence: int, *, seed: int = 0, instance: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(type, region) of T i.i.d. arrivals with probability λ; sequence `sequence` of instance `instance`."""
    g = RandomStreams(seed, instance).get(f"bench.ma2023.arrivals/{sequence}")
    flat = g.choice(inst.lam.size, size=inst.T, p=inst.lam.ravel())
    q, j = np.divmod(flat, inst.n_regions)
    return q.astype(np.int64), j.astype(np.int64)


def counts(inst: Instance, q: np.ndarray, j: np.ndarray) -> np.ndarray:
    """(Q, J) number of arrivals of each (type, region)."""
    return np.bincount(q * inst.n_regions + j, minlength=inst.lam.size).reshape(inst.lam.shape).astype(float)


@dataclass(frozen=True)
class LPResult:
    value: float
    share: np.ndarray  # (Q, J, n_max, K + 1) fraction of (q, j) orders shipping their p-th item from k
    bid: np.ndarray  # (K, I) shadow price of one unit of stock (>= 0)


def lp_bound(inst: Instance, n: np.ndarray, *, integer: bool = False) -> LPResult:
    """The fluid LP (module docstring) with demand counts ``n`` (Q, J); ``integer`` solves it as a MILP
    (aggregated integer flows, for tests; its bid prices are zero)."""
    K1, J = inst.n_fcs + 1, inst.n_regions
    n = np.asarray(n, float)
    cols_c: list[float] = []
    eq_r: list[int] = []
    eq_c: list[int] = []
    eq_b: list[float] = []
    ub_r: list[int] = []
    ub_c: list[int] = []
    ub_v: list[float] = []
    ub_b: list[float] = []
    inv_row: dict[tuple[int, int], int] = {}  # (k, i) -> row
    x_index: dict[tuple[int, int, int], int] = {}  # (q, j, p) -> first x column
    nv = 0
    for q, items in enumerate(inst.types):
        for j in range(J):
            if not items or n[q, j] <= 0:
                continue
            m = len(items)
            x0, y0 = nv, nv + m * K1
            nv += (m + 1) * K1
            cols_c.extend(np.tile(inst.c_unit[:, j], m).tolist() + inst.c_fixed[:, j].tolist())
            for p, i in enumerate(items):
                x_index[(q, j, p)] = x0 + p * K1
                row = len(eq_b)
                eq_b.append(float(n[q, j]))
                for k in range(K1):
                    col = x0 + p * K1 + k
                    eq_r.append(row)
                    eq_c.append(col)
                    r = len(ub_b)
                    ub_b.append(0.0)
                    ub_r.extend([r, r])
                    ub_c.extend([col, y0 + k])
                    ub_v.extend([1.0, -1.0])
                for k in range(K1 - 1):
                    inv_row.setdefault((k, i), -1)
    keys = sorted(inv_row)
    base = len(ub_b)
    for idx, key in enumerate(keys):
        inv_row[key] = base + idx
        ub_b.append(float(inst.stock[key]))
    for (q, _j, p), x0 in x_index.items():
        i = inst.types[q][p]
        for k in range(K1 - 1):
            ub_r.append(inv_row[(k, i)])
            ub_c.append(x0 + k)
            ub_v.append(1.0)
    c = np.array(cols_c)
    a_eq = coo_matrix((np.ones(len(eq_r)), (eq_r, eq_c)), shape=(len(eq_b), nv)).tocsr()
    a_ub = coo_matrix((ub_v, (ub_r, ub_c)), shape=(len(ub_b), nv)).tocsr()
    share = np.zeros((inst.n_types, J, max((len(t) for t in inst.types), default=0), K1))
    bid = np.zeros((inst.n_fcs, inst.n_items))
    if nv == 0:
        return LPResult(0.0, share, bid)
    if integer:
        res = milp(
            c,
            constraints=[LinearConstraint(a_eq, eq_b, eq_b), LinearConstraint(a_ub, -np.inf, ub_b)],
            integrality=np.ones(nv),
        )
        if res.status != 0:
            raise RuntimeError(f"fluid MILP not solved: {res.message}")
        x = res.x
    else:
        res = linprog(c, A_ub=a_ub, b_ub=ub_b, A_eq=a_eq, b_eq=eq_b, bounds=(0, None), method="highs")
        if res.status != 0:
            raise RuntimeError(f"fluid LP not solved: {res.message}")
        x = res.x
        marg = res.ineqlin.marginals
        for (k, i), row in inv_row.items():
            bid[k, i] = max(-float(marg[row]), 0.0)
    for (q, j, p), x0 in x_index.items():
        share[q, j, p] = np.maximum(x[x0 : x0 + K1], 0.0) / n[q, j]
    return LPResult(float(res.fun), share, bid)


def dlp(inst: Instance) -> LPResult:
    """The deterministic LP bound of Jasin & Sinha (2015): expected counts T·λ."""
    return lp_bound(inst, inst.T * inst.lam)


def order_cost(inst: Instance, j: int, fc: np.ndarray) -> float:
    """Cost of one order from region j whose items ship from FCs ``fc`` (K = unfilled): boxes + units."""
    fc = np.asarray(fc, np.int64)
    used = np.unique(fc)
    return float(inst.c_unit[fc, j].sum() + inst.c_fixed[used, j].sum())


def offline_optimum(inst: Instance, q: np.ndarray, j: np.ndarray) -> float:
    """Brute-force optimum of the per-order integer problem with every arrival known (tiny instances)."""
    K = inst.n_fcs
    orders = [(inst.types[int(a)], int(b)) for a, b in zip(q, j, strict=True) if inst.types[int(a)]]
    per_order = []  # every assignment of each order: (cost, units used (K, I))
    for items, r in orders:
        opts = []
        for fc in itertools.product(range(K + 1), repeat=len(items)):
            if any(k < K and not inst.stock[k, i] for k, i in zip(fc, items, strict=True)):
                continue
            use = np.zeros((K, inst.n_items), np.int64)
            for k, i in zip(fc, items, strict=True):
                if k < K:
                    use[k, i] += 1
            opts.append((order_cost(inst, r, np.array(fc)), use))
        opts.sort(key=lambda t: t[0])
        per_order.append(opts)
    best = [np.inf]
    suffix = np.cumsum([o[0][0] for o in per_order][::-1])[::-1].tolist() + [0.0]

    def dfs(t: int, left: np.ndarray, acc: float) -> None:
        if acc + suffix[t] >= best[0] - 1e-12:
            return
        if t == len(per_order):
            best[0] = acc
            return
        for cost, use in per_order[t]:
            if (use <= left).all():
                dfs(t + 1, left - use, acc + cost)

    dfs(0, inst.stock.copy(), 0.0)
    return float(best[0])
