// Package train runs a spec's training command: it checks the GPU
// requirement before anything starts, passes hyperparameters and the seed
// through the environment and a JSON file, streams the logs, stops the
// whole process tree on cancellation or timeout, reads the metrics, checks
// the outputs and writes the lineage record (run.json) with the training
// input digest. It also expands sweeps into an Actions matrix, picks the
// best run of a sweep, and finds an already-trained artifact by input
// digest so that a run can be skipped (train once, promote many).
package train
