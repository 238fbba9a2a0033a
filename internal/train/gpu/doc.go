// Package gpu discovers the GPUs a training run can use and checks them
// against a spec's requirement. It asks nvidia-smi (the tool every NVIDIA
// driver ships), honours CUDA_VISIBLE_DEVICES the way the CUDA runtime
// does, and never runs nvidia-smi when no GPU is required.
package gpu
