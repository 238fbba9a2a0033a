"""Evaluate the trained MLP on held-out iris flowers (the spec's eval.command).

    python3 evaluate.py --model model --data data/eval.csv --metrics eval.json --examples examples.jsonl

Writes <metrics> (accuracy, log_loss, n) and <examples>, JSON Lines with one
record per flower (id, label, prediction, accuracy 0/1, log_loss). Runs on
the CPU: evaluation is small, and the result must not depend on the device.

model.pt is loaded with weights_only=True where this PyTorch has it (1.13
does): torch.load otherwise unpickles, which runs code the file names.
"""
import argparse
import csv
import json
import math
import sys

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="model")
    ap.add_argument("--data", default="data/eval.csv")
    ap.add_argument("--metrics", default="eval.json")
    ap.add_argument("--examples", default="")
    a = ap.parse_args()

    ckpt = torch.load(f"{a.model}/model.pt", map_location="cpu", weights_only=True)
    features, classes = ckpt["features"], ckpt["classes"]
    model = torch.nn.Sequential(
        torch.nn.Linear(len(features), ckpt["hidden"]),
        torch.nn.ReLU(),
        torch.nn.Linear(ckpt["hidden"], len(classes)),
    )
    model.load_state_dict(ckpt["state_dict"])
    model.eval()

    with open(a.data, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"evaluate.py: {a.data} has no rows")
    unknown = sorted({r["species"] for r in rows} - set(classes))
    if unknown:
        sys.exit(f"evaluate.py: {a.data}: classes {unknown} are unknown to the model ({', '.join(classes)})")
    x = torch.tensor([[float(r[c]) for c in features] for r in rows])
    y = [classes.index(r["species"]) for r in rows]
    with torch.no_grad():
        prob = torch.softmax(model((x - ckpt["mean"]) / ckpt["std"]), dim=1)

    hits, loss = 0, 0.0
    examples = []
    for i, (p, t) in enumerate(zip(prob.tolist(), y)):
        pred = max(range(len(p)), key=p.__getitem__)
        ll = -math.log(max(p[t], 1e-15))
        hits += pred == t
        loss += ll
        examples.append({"id": i, "label": classes[t], "prediction": classes[pred],
                         "accuracy": 1 if pred == t else 0, "log_loss": round(ll, 6)})
    n = len(y)
    metrics = {"accuracy": round(hits / n, 6), "log_loss": round(loss / n, 6), "n": n}
    with open(a.metrics, "w") as f:
        json.dump(metrics, f, indent=2, allow_nan=False)
        f.write("\n")
    if a.examples:
        with open(a.examples, "w") as f:
            for e in examples:
                f.write(json.dumps(e, allow_nan=False) + "\n")
    print(f"accuracy {metrics['accuracy']:.4f}  log_loss {metrics['log_loss']:.4f}  on {n} flowers", flush=True)


if __name__ == "__main__":
    main()
