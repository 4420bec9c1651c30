"""Published benchmark: online multi-item fulfilment (Jasin & Sinha 2015, set up as Ma 2023), cost ÷ LP bound.

The instances (``sim.routing.benchmarks.ma2023``): 10 US cities x 5 FCs, 20 items, orders of 0-5 items,
T = 10,000 arrivals, items stocked with probability 0.75, stock T·d + 0.5·sqrt(T·d(1-d)). Each policy of
``sim.routing.benchmarks.online`` routes every arrival sequence one order at a time; the table reports,
per policy, the mean over instances of (mean cost over the instance's sequences) ÷ the DLP (the
deterministic LP bound, as Ma's code reports it), with a 95% t interval over instances, and the mean
ratio to the per-sequence hindsight LP (a bound on each sequence's offline optimum). Printed figures
only. Run::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_fulfilment_lp.py [--instances 30] [--sequences 3]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.experiments.stats import summarize  # noqa: E402
from sim.rng import RandomStreams  # noqa: E402
from sim.routing.benchmarks import ma2023, online  # noqa: E402


def combine(logs: list[str]) -> int:
    """The cost / DLP table from the per-instance lines of several runs' output (a run split with --first)."""
    rows: dict[int, dict[str, float]] = {}
    for f in logs:
        for ln in Path(f).read_text().splitlines():
            m = re.match(r"instance\s+(\d+): DLP\s+[\d.]+\s+(.*)", ln)
            if m:
                it = iter(m.group(2).split())
                rows[int(m.group(1))] = {k: float(v) for k, v in zip(it, it, strict=True)}
    keys = sorted(rows)
    print(f"{len(keys)} instances: {keys}\n")
    print("| policy | cost / DLP, mean [95% CI] over instances | min | max | below dilated in |")
    print("|---|---|---|---|---|")
    for p in rows[keys[0]]:
        v = np.array([rows[i][p] for i in keys])
        d = np.array([rows[i].get("dilated", np.nan) for i in keys])
        s = summarize(v)
        print(
            f"| {p} | {s.mean:.4f} [{s.ci_low:.4f}, {s.ci_high:.4f}] | {v.min():.4f} | {v.max():.4f} | "
            f"{int((v < d).sum())}/{v.size} |"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=30)
    ap.add_argument("--first", type=int, default=0, help="first instance number (to split a long run)")
    ap.add_argument("--sequences", type=int, default=3)
    ap.add_argument("--T", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--policies", default=",".join(online.POLICIES))
    ap.add_argument(
        "--combine", nargs="+", metavar="LOG", help="only print the table from earlier runs' output"
    )
    a = ap.parse_args(argv)
    if a.combine:
        return combine(a.combine)
    policies = [p for p in a.policies.split(",") if p]
    ratio = {p: [] for p in policies}  # per instance: mean cost / DLP
    hratio = {p: [] for p in policies}  # per instance: mean over sequences of cost / hindsight LP
    secs = dict.fromkeys(policies, 0.0)
    hind_over_dlp = []
    t_lp = 0.0
    for inst_no in range(a.first, a.first + a.instances):
        inst = ma2023.generate(inst_no, seed=a.seed, T=a.T)
        t0 = time.perf_counter()
        lp = ma2023.dlp(inst)
        t_lp += time.perf_counter() - t0
        costs = {p: [] for p in policies}
        hcosts = {p: [] for p in policies}
        memo: dict[str, dict[tuple[int, int, bytes], np.ndarray]] = {p: {} for p in policies}
        hl = []
        for seq in range(a.sequences):
            q, j = ma2023.arrivals(inst, seq, seed=a.seed, instance=inst_no)
            h = ma2023.lp_bound(inst, ma2023.counts(inst, q, j)).value
            hl.append(h)
            for p in policies:
                rng = RandomStreams(a.seed, inst_no).get(f"bench.ma2023.policy/{p}/{seq}")
                t0 = time.perf_counter()
                c = online.run(p, inst, q, j, lp=lp, rng=rng, memo=memo[p])
                secs[p] += time.perf_counter() - t0
                costs[p].append(c)
                hcosts[p].append(c / h)
                if c < h - 1e-6 * h:
                    raise AssertionError(
                        f"{p} cost {c} below the hindsight LP {h} (instance {inst_no}, seq {seq})"
                    )
        hind_over_dlp.append(float(np.mean(hl)) / lp.value)
        for p in policies:
            ratio[p].append(float(np.mean(costs[p])) / lp.value)
            hratio[p].append(float(np.mean(hcosts[p])))
        print(
            f"instance {inst_no:2d}: DLP {lp.value:10.1f}  "
            + "  ".join(f"{p} {ratio[p][-1]:.4f}" for p in policies),
            flush=True,
        )
    n_seq = a.instances * a.sequences
    print(
        f"\n{a.instances} instances x {a.sequences} sequences, T = {a.T}, seed {a.seed}; "
        f"DLP solve {1000 * t_lp / a.instances:.0f} ms per instance"
    )
    s = summarize(hind_over_dlp)
    print(
        f"hindsight LP / DLP: {s.mean:.4f} [{s.ci_low:.4f}, {s.ci_high:.4f}] (Jensen: >= 1 in expectation)\n"
    )
    print("| policy | cost / DLP (95% CI over instances) | cost / hindsight LP | ms per sequence |")
    print("|---|---|---|---|")
    for p in policies:
        s, sh = summarize(ratio[p]), summarize(hratio[p])
        print(
            f"| {p} | {s.mean:.4f} [{s.ci_low:.4f}, {s.ci_high:.4f}] | {sh.mean:.4f} | "
            f"{1000 * secs[p] / n_seq:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
