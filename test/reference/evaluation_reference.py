# Independent reference for the offline-evaluation metrics: scikit-learn's implementations on the
# same rows. Reads {"cases": [{labels, predictions, threshold, n_bins, task}]} as JSON on stdin and
# prints {"sklearn_version", "results": [...]} with one result object per case.
import json
import sys

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    recall_score,
    roc_auc_score,
)


def ece_from_calibration_curve(y, p, n_bins):
    """ECE = sum over non-empty bins of count_b * |prob_true_b - prob_pred_b| / n.

    prob_true / prob_pred come from calibration_curve(strategy='uniform'); it does not return the
    bin counts, so they are recomputed with its own binning (np.searchsorted on the inner edges of
    np.linspace(0, 1, n_bins + 1)) and must line up with its non-empty bins.
    """
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    counts = counts[counts > 0]
    assert len(counts) == len(prob_true), "bin counts do not line up with calibration_curve"
    return float(np.sum(counts * np.abs(prob_true - prob_pred)) / len(y)), prob_true.tolist(), prob_pred.tolist(), counts.tolist()


def classification(case):
    y = np.asarray(case["labels"], dtype=np.int64)
    p = np.asarray(case["predictions"], dtype=np.float64)
    t = case["threshold"]
    y_hat = (p >= t).astype(np.int64)
    ece, prob_true, prob_pred, counts = ece_from_calibration_curve(y, p, case["n_bins"])
    return {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "accuracy": float(accuracy_score(y, y_hat)),
        "precision": float(precision_score(y, y_hat, zero_division=0)),
        "recall": float(recall_score(y, y_hat, zero_division=0)),
        "ece": ece,
        "calibration": {"prob_true": prob_true, "prob_pred": prob_pred, "counts": counts},
    }


def regression(case):
    y = np.asarray(case["labels"], dtype=np.float64)
    p = np.asarray(case["predictions"], dtype=np.float64)
    return {
        "mae": float(mean_absolute_error(y, p)),
        "rmse": float(np.sqrt(mean_squared_error(y, p))),
    }


def main():
    request = json.load(sys.stdin)
    results = [regression(c) if c.get("task") == "regression" else classification(c) for c in request["cases"]]
    json.dump({"sklearn_version": sklearn.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
