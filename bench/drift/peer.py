#!/usr/bin/env python3
"""The pandas + SciPy peer of `mlship drift` for the benchmark: read both
CSV files with pandas, then for every column compute the normed Wasserstein
distance (Evidently's definition: scipy.stats.wasserstein_distance divided
by the reference's population standard deviation, floored at 0.001) and the
two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp), and print the
same JSON shape as `mlship drift --output json`."""
import json
import sys

import numpy as np
import pandas as pd
from scipy import stats


def main(ref_path, cur_path):
    ref = pd.read_csv(ref_path)
    cur = pd.read_csv(cur_path)
    columns = []
    for name in ref.columns:
        r = ref[name].dropna().to_numpy()
        c = cur[name].dropna().to_numpy()
        wd = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
        ks = stats.ks_2samp(r, c)
        columns.append({
            "name": name, "type": "numerical", "test": "wasserstein",
            "statistic": float(wd), "threshold": 0.1, "drift": bool(wd >= 0.1),
            "extra": [{"test": "ks", "statistic": float(ks.statistic), "pValue": float(ks.pvalue)}],
        })
    drifted = sum(c["drift"] for c in columns)
    share = drifted / len(columns)
    json.dump({"columns": columns, "driftShare": share, "datasetDrift": share >= 0.5}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
