"""Train a small MLP on the iris measurements with PyTorch.

    python3 train.py                 # on the GPU mlship checked (model.cue)
    python3 train.py --device cpu    # on a CPU (cpu/model.cue, CI)

mlship passes the hyperparameters in MLSHIP_PARAMS_FILE (JSON), the seed in
MLSHIP_SEED and the output paths in MLSHIP_OUTPUT_DIR and
MLSHIP_METRICS_FILE; on a GPU spec it has already set CUDA_VISIBLE_DEVICES
to the GPU(s) that meet the requirement. --device cuda (the default) never
falls back to the CPU: without a usable GPU it stops with an error. Writes
<out>/model.pt and <metrics> (JSON Lines: one record per 50 epochs, the last
one is final).
"""
import argparse
import csv
import json
import os
import random
import sys

import torch

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
LABEL = "species"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--data", default="data/train.csv")
    ap.add_argument("--out", default=os.environ.get("MLSHIP_OUTPUT_DIR", "model"))
    ap.add_argument("--metrics", default=os.environ.get("MLSHIP_METRICS_FILE", "metrics.json"))
    a = ap.parse_args()
    params = {"learning_rate": 0.01, "epochs": 300, "hidden": 32}
    if os.environ.get("MLSHIP_PARAMS_FILE"):
        with open(os.environ["MLSHIP_PARAMS_FILE"]) as f:
            params.update(json.load(f))
    seed = int(os.environ.get("MLSHIP_SEED", "0"))

    random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    if a.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("train.py: --device cuda, but PyTorch sees no usable CUDA device (use --device cpu for a CPU run)")
        device = torch.device("cuda")
        where = torch.cuda.get_device_name(device)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(1)  # the same float sums in the same order on every machine
        where = "CPU"
    print(f"training on {where} with {params}, seed {seed}, torch {torch.__version__}", flush=True)

    with open(a.data, newline="") as f:
        rows = list(csv.DictReader(f))
    classes = sorted({r[LABEL] for r in rows})
    x = torch.tensor([[float(r[c]) for c in FEATURES] for r in rows], device=device)
    y = torch.tensor([classes.index(r[LABEL]) for r in rows], device=device)
    mean, std = x.mean(0), x.std(0)
    x = (x - mean) / std

    hidden = int(params["hidden"])
    model = torch.nn.Sequential(
        torch.nn.Linear(len(FEATURES), hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, len(classes)),
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(params["learning_rate"]))
    loss_fn = torch.nn.CrossEntropyLoss()
    epochs = int(params["epochs"])

    with open(a.metrics, "w") as m:
        for epoch in range(1, epochs + 1):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            if epoch % 50 == 0 or epoch == epochs:
                with torch.no_grad():
                    acc = (model(x).argmax(1) == y).float().mean().item()
                rec = {"epoch": epoch, "loss": round(loss.item(), 6), "accuracy": round(acc, 6)}
                m.write(json.dumps(rec, allow_nan=False) + "\n")
                print(rec, flush=True)

    os.makedirs(a.out, exist_ok=True)
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "classes": classes, "features": FEATURES, "hidden": hidden,
                "mean": mean.cpu(), "std": std.cpu()}, os.path.join(a.out, "model.pt"))
    print(f"wrote {a.out}/model.pt", flush=True)


if __name__ == "__main__":
    main()
