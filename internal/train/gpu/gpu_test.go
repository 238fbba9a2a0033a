package gpu_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/train/gpu"
	"github.com/mlship/mlship/internal/train/gpu/gputest"
)

func TestDiscoverAndCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		gpus      string
		visible   []string // extra env
		req       gpu.Requirement
		wantCount int
		wantTotal int
		wantErr   []string // substrings of the error; nil: requirement met
	}{
		{name: "one GPU, none needed", gpus: "1", req: gpu.Requirement{}, wantCount: 1, wantTotal: 1},
		{name: "one GPU, one needed", gpus: "1", req: gpu.Requirement{Count: 1}, wantCount: 1, wantTotal: 1},
		{name: "one GPU, H100 with 80000 MiB", gpus: "1", req: gpu.Requirement{Count: 1, Type: "h100", MinMemoryMiB: 80000}, wantCount: 1, wantTotal: 1},
		{name: "one GPU, two needed", gpus: "1", req: gpu.Requirement{Count: 2}, wantCount: 1, wantTotal: 1,
			wantErr: []string{"training needs 2 GPUs", "1 matching of 1 visible", "NVIDIA H100 80GB HBM3 (81559 MiB)"}},
		{name: "one GPU, wrong type", gpus: "1", req: gpu.Requirement{Count: 1, Type: "A100"}, wantCount: 1, wantTotal: 1,
			wantErr: []string{"1 GPU (type A100)", "0 matching of 1 visible"}},
		{name: "one GPU, too little memory", gpus: "1", req: gpu.Requirement{Count: 1, MinMemoryMiB: 141000}, wantCount: 1, wantTotal: 1,
			wantErr: []string{"at least 141000 MiB memory", "0 matching"}},
		{name: "zero GPUs", gpus: "0", req: gpu.Requirement{Count: 1}, wantErr: []string{"training needs 1 GPU,", "nvidia-smi lists no devices"}},
		{name: "broken driver", gpus: "broken", req: gpu.Requirement{Count: 1}, wantErr: []string{"couldn't communicate with the NVIDIA driver"}},
		{name: "eight GPUs, eight needed", gpus: "8", req: gpu.Requirement{Count: 8, Type: "H100"}, wantCount: 8, wantTotal: 8},
		{name: "eight GPUs, subset by index", gpus: "8", visible: []string{"CUDA_VISIBLE_DEVICES=2,5"}, req: gpu.Requirement{Count: 2}, wantCount: 2, wantTotal: 8},
		{name: "eight GPUs, subset too small", gpus: "8", visible: []string{"CUDA_VISIBLE_DEVICES=2,5"}, req: gpu.Requirement{Count: 4}, wantCount: 2, wantTotal: 8,
			wantErr: []string{"training needs 4 GPUs", "2 matching of 2 visible", `CUDA_VISIBLE_DEVICES="2,5"`}},
		{name: "eight GPUs, subset by UUID prefix", gpus: "8", visible: []string{"CUDA_VISIBLE_DEVICES=GPU-58e1a9c7,GPU-a46c28be-11ce-eddd-74f8-6e8255050b20"}, req: gpu.Requirement{Count: 2}, wantCount: 2, wantTotal: 8},
		{name: "eight GPUs, hidden by empty value", gpus: "8", visible: []string{"CUDA_VISIBLE_DEVICES="}, req: gpu.Requirement{Count: 1}, wantCount: 0, wantTotal: 8,
			wantErr: []string{"none visible", "hides all 8 GPUs"}},
		{name: "eight GPUs, -1 hides all", gpus: "8", visible: []string{"CUDA_VISIBLE_DEVICES=-1"}, req: gpu.Requirement{Count: 1}, wantCount: 0, wantTotal: 8,
			wantErr: []string{"none visible"}},
		{name: "eight GPUs, invalid entry stops enumeration", gpus: "8", visible: []string{"CUDA_VISIBLE_DEVICES=1,9,3"}, req: gpu.Requirement{Count: 1}, wantCount: 1, wantTotal: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := gputest.Install(t, tt.gpus)
			inv, err := gpu.Discover(context.Background(), gpu.WithLookupEnv(host.Lookup(tt.visible...)))
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Devices) != tt.wantCount || inv.Total != tt.wantTotal {
				t.Fatalf("devices %d (total %d), want %d (total %d): %+v", len(inv.Devices), inv.Total, tt.wantCount, tt.wantTotal, inv)
			}
			if tt.wantCount > 0 && (inv.CUDA != "13.0" || inv.Driver != "580.159.04") {
				t.Errorf("CUDA %q driver %q, want 13.0 and 580.159.04", inv.CUDA, inv.Driver)
			}
			_, err = gpu.Check(tt.req, inv)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, gpu.ErrUnmet) {
				t.Fatalf("Check error %v, want ErrUnmet", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSubsetOrderAndIdentity(t *testing.T) {
	t.Parallel()
	host := gputest.Install(t, "8")
	inv, err := gpu.Discover(context.Background(), gpu.WithLookupEnv(host.Lookup("CUDA_VISIBLE_DEVICES=GPU-58e1a9c7, 0")))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Devices) != 2 || inv.Devices[0].Index != 7 || inv.Devices[1].Index != 0 {
		t.Fatalf("devices %+v, want #7 then #0", inv.Devices)
	}
	if got := strings.Join(inv.Labels(), ","); got != "gpu,gpu-2,gpu-h100,cuda-13" {
		t.Errorf("labels %q", got)
	}
}

func TestMissingNvidiaSMI(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	lookup := func(k string) (string, bool) {
		if k == "PATH" {
			return empty, true
		}
		return "", false
	}
	inv, err := gpu.Discover(context.Background(), gpu.WithLookupEnv(lookup), gpu.WithNvidiaSMI("nvidia-smi-absent-for-test"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = gpu.Check(gpu.Requirement{Count: 1}, inv)
	if err == nil || !strings.Contains(err.Error(), "not found on PATH") || !strings.Contains(err.Error(), "needs 1 GPU") {
		t.Fatalf("error %v, want one naming the missing nvidia-smi and the requirement", err)
	}
	// Nothing needed: no error whatever the host has.
	if _, err := gpu.Check(gpu.Requirement{}, inv); err != nil {
		t.Fatal(err)
	}
}

func TestParseCSVWithUnitsAndHeader(t *testing.T) {
	t.Parallel()
	// `--format=csv` (header, units), as a real H100 host printed it.
	in := "index, uuid, name, memory.total [MiB], driver_version\n0, GPU-a46c28be-11ce-eddd-74f8-6e8255050b20, NVIDIA H100 80GB HBM3, 81559 MiB, 580.159.04\n"
	ds, err := gpu.ParseCSV([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].MemoryMiB != 81559 || ds[0].Name != "NVIDIA H100 80GB HBM3" || ds[0].UUID != "GPU-a46c28be-11ce-eddd-74f8-6e8255050b20" {
		t.Fatalf("%+v", ds)
	}
	for _, bad := range []string{"x, GPU-1, T4, 15360, 535", "0, GPU-1, T4"} {
		if _, err := gpu.ParseCSV([]byte(bad)); err == nil {
			t.Errorf("ParseCSV(%q) succeeded", bad)
		}
	}
}

func TestRealNvidiaSMI(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/nvidiactl"); err != nil {
		t.Skip("no NVIDIA driver on this host")
	}
	inv, err := gpu.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if inv.Error != "" || len(inv.Devices) == 0 || inv.CUDA == "" {
		t.Fatalf("real host: %+v", inv)
	}
	t.Logf("real host: %+v", inv)
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("0, GPU-a46c28be-11ce-eddd-74f8-6e8255050b20, NVIDIA H100 80GB HBM3, 81559, 580.159.04\n"))
	f.Add([]byte("index, uuid, name, memory.total [MiB], driver_version\n0, GPU-1, Tesla T4, [N/A], 535.1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := gpu.ParseCSV(b)
		if err != nil {
			return
		}
		for _, d := range ds {
			if d.Index < 0 || d.MemoryMiB < 0 {
				t.Fatalf("negative field in %+v", d)
			}
		}
		_ = gpu.FilterVisible(ds, "0,GPU-1")
	})
}
