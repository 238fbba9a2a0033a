"""Provenance of reference.csv and current.csv and of the expected values in
compare_test.go (Debian python3-numpy 1.24.2, python3-pandas 1.5.3,
python3-scipy 1.10.1). The tests do not run this.

    python3 gen.py data     # writes reference.csv, current.csv
    python3 gen.py expect   # prints the expected statistics

The psi/kl/jensenshannon values restate Evidently's formulas
(src/evidently/legacy/calculations/stattests/utils.py get_binned_data,
psi.py, kl_div.py, jensenshannon.py)."""
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance


def data():
    rng = np.random.default_rng(7)

    def mk(n, shift):
        return pd.DataFrame({
            "a": rng.normal(0 + shift, 1, n),
            "b": rng.exponential(2, n) * (1 + shift),
            "c": rng.choice(["x", "y", "z"] + (["w"] if shift else []), n),
            "d": rng.integers(0, 5, n).astype(float),
        })
    r, c = mk(800, 0), mk(837, 0.2)
    r.loc[3, "a"] = np.nan
    c.loc[5, "c"] = None
    r.to_csv("reference.csv", index=False)
    c.to_csv("current.csv", index=False)


def binned(r, c, numerical, fill):
    if numerical and r.nunique() > 20:
        bins = np.histogram_bin_edges(pd.concat([r, c], axis=0).values, bins="sturges")
        rp = np.histogram(r, bins)[0] / len(r)
        cp = np.histogram(c, bins)[0] / len(c)
    else:
        keys = list(set(r.dropna().unique()) | set(c.dropna().unique()))
        rd = {**dict.fromkeys(keys, 0), **dict(r.value_counts())}
        cd = {**dict.fromkeys(keys, 0), **dict(c.value_counts())}
        rp = np.array([rd[k] / len(r) for k in keys])
        cp = np.array([cd[k] / len(c) for k in keys])
    if fill:
        np.place(rp, rp == 0, min(rp[rp != 0]) / 10**6 if min(rp[rp != 0]) <= 0.0001 else 0.0001)
        np.place(cp, cp == 0, min(cp[cp != 0]) / 10**6 if min(cp[cp != 0]) <= 0.0001 else 0.0001)
    return rp, cp


def expect():
    R, C = pd.read_csv("reference.csv"), pd.read_csv("current.csv")
    for col in R.columns:
        r, c = R[col].dropna(), C[col].dropna()
        num = r.dtype.kind in "fi"
        if num:
            ks = stats.ks_2samp(r, c)
            wd = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
            print(col, "ks", repr(ks.statistic), repr(ks.pvalue), "wasserstein", repr(wd))
        else:
            keys = sorted(set(r) | set(c))
            ch = stats.chi2_contingency([[(r == k).sum() for k in keys], [(c == k).sum() for k in keys]])
            print(col, "chisquare", repr(ch[0]), repr(ch[1]))
        rp, cp = binned(r, c, num, True)
        psi, kl = np.sum((rp - cp) * np.log(rp / cp)), stats.entropy(rp, cp)
        rp, cp = binned(r, c, num, False)
        print(col, "psi", repr(psi), "kl", repr(kl), "jensenshannon", repr(distance.jensenshannon(rp, cp)))


if __name__ == "__main__":
    {"data": data, "expect": expect}[sys.argv[1]]()
