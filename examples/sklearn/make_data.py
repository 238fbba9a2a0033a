"""Write data/{train,eval,current}.csv from the breast cancer Wisconsin
(diagnostic) data set that ships inside scikit-learn (no download).

    python3 make_data.py

The files are committed: mlship hashes them into the training input digest,
and drift compares data/current.csv with data/train.csv. Re-running this
script gives the same bytes (a fixed split seed, shortest round-trip floats).

- train.csv: 455 tumours (80 %, stratified by diagnosis);
- eval.csv: the other 114, held out for evaluation;
- current.csv: the same 114 "imaged a season later on a new scanner" whose
  contrast reads texture about 15 % higher: drift in the three texture
  columns, for `mlship drift`.
"""
import csv
import os

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

SPLIT_SEED = 0
TEXTURE_SHIFT = 1.15

data = load_breast_cancer()
columns = [n.replace(" ", "_") for n in data.feature_names]
labels = [str(data.target_names[t]) for t in data.target]
rows = [list(map(float, x)) for x in data.data]
train_idx, eval_idx = train_test_split(
    list(range(len(rows))), test_size=0.2, random_state=SPLIT_SEED, stratify=labels)


def write(path, idx, shift=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns + ["diagnosis"])
        for i in idx:
            x = rows[i]
            if shift:
                x = [round(v * shift, 4) if "texture" in c else v for c, v in zip(columns, x)]
            w.writerow([repr(v) for v in x] + [labels[i]])


os.makedirs("data", exist_ok=True)
write("data/train.csv", train_idx)
write("data/eval.csv", eval_idx)
write("data/current.csv", eval_idx, shift=TEXTURE_SHIFT)
print(f"wrote data/train.csv ({len(train_idx)} rows), data/eval.csv and data/current.csv ({len(eval_idx)} rows)")
