"""Train a gradient-boosted tree classifier (scikit-learn) on a CSV table.

mlship runs it as the spec's train.command: the hyperparameters come in
MLSHIP_PARAMS_FILE (JSON), the seed in MLSHIP_SEED, the output paths in
MLSHIP_OUTPUT_DIR and MLSHIP_METRICS_FILE; flags override them, so the
script also runs without mlship:

    python3 train.py --data data/train.csv --label diagnosis --seed 7

Every column but the label is a numeric feature. Writes:

- <out>/model.joblib: the fitted estimator (joblib, the format scikit-learn
  documents for persistence: a pickle, see README.md for what that trusts);
- <out>/config.json: features, classes, hyperparameters, seed, versions;
- <metrics>: JSON Lines, one record per 10 boosting stages (training loss
  and accuracy); the last record is final.

Deterministic: the same data, hyperparameters and seed give the same bytes.
"""
import argparse
import csv
import json
import os
import sys

import joblib
import numpy as np
import sklearn
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, log_loss

DEFAULTS = {"n_estimators": 150, "learning_rate": 0.1, "max_depth": 2, "subsample": 0.8}


def read_csv(path, label):
    """Return (feature names, X, labels) from a CSV with a header row."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or label not in rows[0]:
        sys.exit(f"train.py: {path}: no column {label!r} in the header")
    head = rows[0]
    li = head.index(label)
    features = [c for i, c in enumerate(head) if i != li]
    try:
        X = np.array([[float(v) for i, v in enumerate(r) if i != li] for r in rows[1:]], dtype=np.float64)
    except ValueError as e:
        sys.exit(f"train.py: {path}: {e} (every column but {label!r} must be numeric)")
    y = [r[li] for r in rows[1:]]
    if len(y) == 0:
        sys.exit(f"train.py: {path} has no rows")
    return features, X, y


def main():
    params = dict(DEFAULTS)
    if os.environ.get("MLSHIP_PARAMS_FILE"):
        with open(os.environ["MLSHIP_PARAMS_FILE"]) as f:
            params.update(json.load(f))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/train.csv")
    ap.add_argument("--label", default="diagnosis")
    ap.add_argument("--out", default=os.environ.get("MLSHIP_OUTPUT_DIR", "model"))
    ap.add_argument("--metrics", default=os.environ.get("MLSHIP_METRICS_FILE", "metrics.json"))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("MLSHIP_SEED", "42")))
    ap.add_argument("--n-estimators", type=int, default=int(params["n_estimators"]))
    ap.add_argument("--learning-rate", type=float, default=float(params["learning_rate"]))
    ap.add_argument("--max-depth", type=int, default=int(params["max_depth"]))
    ap.add_argument("--subsample", type=float, default=float(params["subsample"]))
    a = ap.parse_args()
    hp = {"n_estimators": a.n_estimators, "learning_rate": a.learning_rate,
          "max_depth": a.max_depth, "subsample": a.subsample}

    features, X, y = read_csv(a.data, a.label)
    model = GradientBoostingClassifier(random_state=a.seed, **hp)
    model.fit(X, y)
    print(f"trained on {len(y)} rows x {len(features)} features with {hp}, seed {a.seed}", flush=True)

    with open(a.metrics, "w") as m:
        for stage, proba in enumerate(model.staged_predict_proba(X), start=1):
            if stage % 10 and stage != a.n_estimators:
                continue
            pred = model.classes_[proba.argmax(axis=1)]
            rec = {"stage": stage, "loss": round(float(log_loss(y, proba, labels=model.classes_)), 6),
                   "accuracy": round(float(accuracy_score(y, pred)), 6)}
            m.write(json.dumps(rec, allow_nan=False) + "\n")
            print(rec, flush=True)

    os.makedirs(a.out, exist_ok=True)
    joblib.dump(model, os.path.join(a.out, "model.joblib"))
    config = {"architecture": "gradient-boosting", "features": features, "label": a.label,
              "classes": [str(c) for c in model.classes_], "hyperparameters": hp, "seed": a.seed,
              "sklearn_version": sklearn.__version__, "format": "joblib"}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {a.out}/model.joblib and {a.out}/config.json", flush=True)


if __name__ == "__main__":
    main()
