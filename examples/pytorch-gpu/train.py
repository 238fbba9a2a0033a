"""Train a small MLP on the iris measurements, on the GPU mlship checked.

mlship passes the hyperparameters in MLSHIP_PARAMS_FILE (JSON) and the
seed in MLSHIP_SEED, and has already set CUDA_VISIBLE_DEVICES to the GPU(s)
that meet the spec's requirement. Writes model/model.pt and metrics.json
(JSON Lines: one record per 50 epochs, the last one is final).
"""
import csv
import json
import os
import random

import torch

params = json.load(open(os.environ["MLSHIP_PARAMS_FILE"]))
seed = int(os.environ.get("MLSHIP_SEED", "0"))
out_dir = os.environ.get("MLSHIP_OUTPUT_DIR", "model")
metrics_path = os.environ.get("MLSHIP_METRICS_FILE", "metrics.json")

random.seed(seed)
torch.manual_seed(seed)
torch.use_deterministic_algorithms(True)
device = torch.device("cuda")  # mlship guarantees one is there
print(f"training on {torch.cuda.get_device_name(device)} with {params}, seed {seed}", flush=True)

features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
with open("data/train.csv") as f:
    rows = list(csv.DictReader(f))
classes = sorted({r["species"] for r in rows})
x = torch.tensor([[float(r[c]) for c in features] for r in rows], device=device)
y = torch.tensor([classes.index(r["species"]) for r in rows], device=device)
mean, std = x.mean(0), x.std(0)
x = (x - mean) / std

model = torch.nn.Sequential(
    torch.nn.Linear(len(features), int(params["hidden"])),
    torch.nn.ReLU(),
    torch.nn.Linear(int(params["hidden"]), len(classes)),
).to(device)
opt = torch.optim.Adam(model.parameters(), lr=float(params["learning_rate"]))
loss_fn = torch.nn.CrossEntropyLoss()

with open(metrics_path, "w") as m:
    for epoch in range(1, int(params["epochs"]) + 1):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if epoch % 50 == 0 or epoch == int(params["epochs"]):
            with torch.no_grad():
                acc = (model(x).argmax(1) == y).float().mean().item()
            rec = {"epoch": epoch, "loss": round(loss.item(), 6), "accuracy": round(acc, 6)}
            m.write(json.dumps(rec) + "\n")
            print(rec, flush=True)

os.makedirs(out_dir, exist_ok=True)
torch.save({"state_dict": model.state_dict(), "classes": classes, "mean": mean.cpu(), "std": std.cpu()},
           os.path.join(out_dir, "model.pt"))
print(f"wrote {out_dir}/model.pt", flush=True)
