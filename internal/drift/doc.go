// Package drift compares a reference data set with a current one, column
// by column, and says whether the data has drifted.
//
// It owns the data readers (a streaming CSV scanner and a Parquet reader
// that store numeric columns as []float64 and categorical ones as
// dictionary-encoded counts), the statistical tests (two-sample
// Kolmogorov–Smirnov with SciPy's exact and asymptotic p-values,
// chi-squared, normed Wasserstein distance, Jensen–Shannon distance, PSI
// and Kullback–Leibler divergence, following Evidently's definitions), the
// exact/approximate memory-budget logic, and the JSON result that the report
// step renders. Distributions come from gonum; only what gonum lacks (the
// Kolmogorov–Smirnov distributions, an O(n) Wasserstein distance) is written
// here.
package drift
