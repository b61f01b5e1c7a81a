# Reference values from scipy for the drift statistics in monitoring/ (read by test/integration/monitoring-scipy.test.ts).
"""Independent reference values for the drift statistics in monitoring/, computed with scipy.

Reads one JSON object on stdin and prints one JSON object on stdout. Input keys (all optional):

  numeric:      [{"id": str, "a": [float], "b": [float]}]          two samples per case
  categorical:  [{"id": str, "ref": [count], "cur": [count]}]      aligned category counts
  kstwo:        [[n, d], ...]                                      points of kstwo.sf(d, n)
  smirnov:      [[n, d], ...]                                      points of special.smirnov(n, d)
  chi2_sf:      [[x, dof], ...]                                    points of chi2.sf(x, dof)

Output mirrors the input with scipy's results:

  numeric:      ks_asymp / ks_exact / ks_auto as {"statistic", "pvalue", "fell_back"}, wasserstein
  categorical:  jensenshannon (base 2), chi2 {"statistic", "pvalue", "dof"} from
                chi2_contingency([ref, cur], correction=False)
  kstwo, smirnov, chi2_sf: lists of floats

Used by test/integration/monitoring-scipy.test.ts (run with .tools/venv/bin/python).
"""

import json
import sys
import warnings

import numpy as np
from scipy import special, stats
from scipy.spatial.distance import jensenshannon


def ks(a, b, method):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = stats.ks_2samp(a, b, method=method)
    fell_back = any("Switching to" in str(w.message) for w in caught)
    return {"statistic": float(result.statistic), "pvalue": float(result.pvalue), "fell_back": fell_back}


def numeric_case(case):
    a = np.asarray(case["a"], dtype=np.float64)
    b = np.asarray(case["b"], dtype=np.float64)
    out = {
        "id": case["id"],
        "ks_asymp": ks(a, b, "asymp"),
        "ks_auto": ks(a, b, "auto"),
        "wasserstein": float(stats.wasserstein_distance(a, b)),
    }
    # Exact is O(n1 * n2) in the worst case; only ask for it where the tests use it.
    if max(len(a), len(b)) <= 10000:
        out["ks_exact"] = ks(a, b, "exact")
    return out


def categorical_case(case):
    ref = np.asarray(case["ref"], dtype=np.float64)
    cur = np.asarray(case["cur"], dtype=np.float64)
    chi2, pvalue, dof, _expected = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    return {
        "id": case["id"],
        "jensenshannon": float(jensenshannon(ref, cur, base=2)),
        "chi2": {"statistic": float(chi2), "pvalue": float(pvalue), "dof": int(dof)},
    }


def main():
    request = json.load(sys.stdin)
    response = {
        "scipy": __import__("scipy").__version__,
        "numeric": [numeric_case(c) for c in request.get("numeric", [])],
        "categorical": [categorical_case(c) for c in request.get("categorical", [])],
        "kstwo": [float(stats.kstwo.sf(d, n)) for n, d in request.get("kstwo", [])],
        "smirnov": [float(special.smirnov(int(n), d)) for n, d in request.get("smirnov", [])],
        "chi2_sf": [float(stats.chi2.sf(x, dof)) for x, dof in request.get("chi2_sf", [])],
    }
    # allow_nan=False: a NaN would not parse in JavaScript; fail loudly here instead.
    json.dump(response, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
