// Package monitor is the core of `mlship monitor`: it checks a production
// sample against the reference profile packaged with the model (drift per
// column and for the data set, through internal/drift), computes the spec's
// eval metrics from the sample's predictions and labels, checks them
// against the environment's gates, and decides whether the run alerts and
// why. Registry access, verification, GitHub issues and step outputs are
// the caller's (internal/pipeline/monitor.go).
package monitor
