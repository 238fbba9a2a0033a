// Package eval owns model evaluation: it runs a spec's eval command or reads
// its metrics file, finds the baseline (the model currently in the target
// environment, through a BaselineSource), and compares the two metric by
// metric against absolute bounds, the maximum regression and environment
// gates, with paired bootstrap confidence intervals when per-example results
// are given. The Result it returns is also the predicate of the eval
// attestation; its JSON field names are a stable contract (docs/eval.md).
package eval
