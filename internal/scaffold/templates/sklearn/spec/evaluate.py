"""Evaluate the trained classifier on a held-out CSV (the spec's eval.command).

    python3 evaluate.py --model model --data data/eval.csv --metrics eval.json --examples examples.jsonl

Writes <metrics>, one JSON object (accuracy, roc_auc, log_loss, f1, recall
and n; with two classes f1 and recall are the positive class's, --positive
or else the last class, and with more they are macro averages), and <examples>, JSON Lines
with one record per row (id, label, prediction, accuracy 0/1, log_loss),
which mlship pairs with the baseline's for bootstrap confidence intervals.

It loads model/model.joblib with joblib, which unpickles it: loading runs
whatever code the file names. Load only a model this job trained, or one
pulled with `mlship pull --verify` (see README.md).
"""
import argparse
import csv
import json
import math
import os
import sys

import joblib
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss, recall_score, roc_auc_score


def read_csv(path, label, features):
    """Return (X, labels) with the columns in the model's feature order."""
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        missing = [c for c in features + [label] if c not in (r.fieldnames or [])]
        if missing:
            sys.exit(f"evaluate.py: {path}: missing columns {', '.join(missing)}")
        rows = list(r)
    if not rows:
        sys.exit(f"evaluate.py: {path} has no rows")
    X = np.array([[float(row[c]) for c in features] for row in rows], dtype=np.float64)
    return X, [row[label] for row in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="model")
    ap.add_argument("--data", default="data/eval.csv")
    ap.add_argument("--metrics", default="eval.json")
    ap.add_argument("--examples", default="")
    ap.add_argument("--positive", default="malignant", help="the positive class of a binary model (default malignant; the last class when the model has no such class)")
    a = ap.parse_args()

    with open(os.path.join(a.model, "config.json")) as f:
        config = json.load(f)
    model = joblib.load(os.path.join(a.model, "model.joblib"))
    classes = [str(c) for c in model.classes_]
    if classes != config["classes"]:
        sys.exit(f"evaluate.py: {a.model}: model.joblib has classes {classes}, config.json {config['classes']}")
    X, y = read_csv(a.data, config["label"], config["features"])
    unknown = sorted(set(y) - set(classes))
    if unknown:
        sys.exit(f"evaluate.py: {a.data}: labels {unknown} are unknown to the model ({', '.join(classes)})")

    proba = model.predict_proba(X)
    pred = [classes[i] for i in proba.argmax(axis=1)]
    metrics = {"accuracy": accuracy_score(y, pred), "log_loss": log_loss(y, proba, labels=classes)}
    if len(classes) == 2:
        positive = a.positive if a.positive in classes else classes[-1]
        metrics["roc_auc"] = roc_auc_score([int(v == positive) for v in y], proba[:, classes.index(positive)])
        metrics["f1"] = f1_score(y, pred, pos_label=positive)
        metrics["recall"] = recall_score(y, pred, pos_label=positive)
    else:
        metrics["roc_auc"] = roc_auc_score(y, proba, multi_class="ovr", labels=classes)
        metrics["f1"] = f1_score(y, pred, labels=classes, average="macro")
        metrics["recall"] = recall_score(y, pred, labels=classes, average="macro")
    metrics["n"] = len(y)
    metrics = {k: (round(float(v), 6) if k != "n" else v) for k, v in metrics.items()}
    with open(a.metrics, "w") as f:
        json.dump(metrics, f, indent=2, allow_nan=False)
        f.write("\n")
    if a.examples:
        with open(a.examples, "w") as f:
            for i, (truth, p, pr) in enumerate(zip(y, pred, proba)):
                ll = -math.log(max(float(pr[classes.index(truth)]), 1e-15))
                rec = {"id": i, "label": truth, "prediction": p,
                       "accuracy": 1 if p == truth else 0, "log_loss": round(ll, 6)}
                f.write(json.dumps(rec, allow_nan=False) + "\n")
    print(f"accuracy {metrics['accuracy']:.4f}  roc_auc {metrics['roc_auc']:.4f}  "
          f"log_loss {metrics['log_loss']:.4f}  on {len(y)} rows", flush=True)


if __name__ == "__main__":
    main()
