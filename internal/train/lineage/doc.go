// Package lineage is the record of one training run (run.json): where the
// code, data and spec came from, what ran where, and what it produced. It
// owns the training input digest: a hash over the inputs alone (train
// section, dataset digests, code digest, hyperparameters, seed), so the
// same inputs give the same digest on any runner at any time. It imports
// only the standard library and the GPU inventory type, so the package
// step can read a record without pulling in the trainer.
package lineage
