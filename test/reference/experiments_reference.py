"""Independent reference values for the rollout statistics in experiments/, computed with scipy.

Reads one JSON object on stdin and prints one JSON object on stdout. Input keys (all optional):

  norm_cdf:     [x, ...]                         scipy.stats.norm.cdf / norm.sf
  norm_ppf:     [p, ...]                         scipy.stats.norm.ppf
  t_sf:         [[t, df], ...]                   scipy.stats.t.sf
  betainc:      [[x, a, b], ...]                 scipy.special.betainc(a, b, x)
  welch:        [{"control": [..], "treatment": [..]}]   ttest_ind(treatment, control, equal_var=False)
  paired:       [{"control": [..], "treatment": [..]}]   ttest_rel(treatment, control)
  proportions:  [{"n1", "s1", "n2", "s2"}]       chi2_contingency(correction=False): z^2 and p
  binom:        [[k, n, p, alternative], ...]    binomtest(k, n, p, alternative).pvalue
  size_props:   [{"p1", "mde", "alpha", "power"}]  Fleiss' per-arm n from norm.ppf (no continuity correction)
  size_means:   [{"sd", "mde", "alpha", "power"}]  2 sd^2 (z_a/2 + z_b)^2 / mde^2

Used by test/unit/experiments-scipy.test.ts (run with .tools/venv/bin/python).
"""

import json
import math
import sys

import numpy as np
import scipy
from scipy import special, stats


def size_props(case):
    p1 = case["p1"]
    p2 = p1 + case["mde"]
    za = stats.norm.ppf(1 - case["alpha"] / 2)
    zb = stats.norm.ppf(case["power"])
    pbar = (p1 + p2) / 2
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / case["mde"] ** 2)


def size_means(case):
    z = stats.norm.ppf(1 - case["alpha"] / 2) + stats.norm.ppf(case["power"])
    return math.ceil(2 * case["sd"] ** 2 * z * z / case["mde"] ** 2)


def main():
    req = json.load(sys.stdin)
    out = {"scipy_version": scipy.__version__}
    out["norm_cdf"] = [[float(stats.norm.cdf(x)), float(stats.norm.sf(x))] for x in req.get("norm_cdf", [])]
    out["norm_ppf"] = [float(stats.norm.ppf(p)) for p in req.get("norm_ppf", [])]
    out["t_sf"] = [float(stats.t.sf(t, df)) for t, df in req.get("t_sf", [])]
    out["betainc"] = [float(special.betainc(a, b, x)) for x, a, b in req.get("betainc", [])]
    out["welch"] = []
    for case in req.get("welch", []):
        r = stats.ttest_ind(np.asarray(case["treatment"]), np.asarray(case["control"]), equal_var=False)
        out["welch"].append({"statistic": float(r.statistic), "pvalue": float(r.pvalue), "df": float(r.df)})
    out["paired"] = []
    for case in req.get("paired", []):
        r = stats.ttest_rel(np.asarray(case["treatment"]), np.asarray(case["control"]))
        out["paired"].append({"statistic": float(r.statistic), "pvalue": float(r.pvalue)})
    out["proportions"] = []
    for c in req.get("proportions", []):
        table = [[c["s1"], c["n1"] - c["s1"]], [c["s2"], c["n2"] - c["s2"]]]
        chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
        out["proportions"].append({"chi2": float(chi2), "pvalue": float(p)})
    out["binom"] = [float(stats.binomtest(k, n, p, alternative=alt).pvalue) for k, n, p, alt in req.get("binom", [])]
    out["size_props"] = [size_props(c) for c in req.get("size_props", [])]
    out["size_means"] = [size_means(c) for c in req.get("size_means", [])]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
