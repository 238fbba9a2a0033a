package gpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// QueryFields is what Discover asks nvidia-smi for, in this order.
const QueryFields = "index,uuid,name,memory.total,driver_version"

// Device is one GPU as nvidia-smi reports it.
type Device struct {
	Index     int    `json:"index"`
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	MemoryMiB int    `json:"memoryMiB"`
	Driver    string `json:"driver,omitempty"`
}

func (d Device) String() string {
	mem := "unknown memory"
	if d.MemoryMiB > 0 {
		mem = fmt.Sprintf("%d MiB", d.MemoryMiB)
	}
	return fmt.Sprintf("#%d %s (%s)", d.Index, d.Name, mem)
}

// Inventory is what a runner offers a training run.
type Inventory struct {
	// Devices are the GPUs visible to the training (after CUDA_VISIBLE_DEVICES).
	Devices []Device `json:"devices"`
	// Total is how many GPUs nvidia-smi listed before filtering.
	Total int `json:"total"`
	// Driver and CUDA are the driver version and the highest CUDA version it supports.
	Driver string `json:"driver,omitempty"`
	CUDA   string `json:"cuda,omitempty"`
	// VisibleDevices is CUDA_VISIBLE_DEVICES as found ("" when unset).
	VisibleDevices string `json:"visibleDevices,omitempty"`
	// Error says why discovery found nothing (nvidia-smi missing or failing).
	Error string `json:"error,omitempty"`
}

// Requirement is what a training run needs. Count 0 means no GPU.
type Requirement struct {
	Count        int
	Type         string // case-insensitive substring of the device name ("A100", "H100")
	MinMemoryMiB int
}

func (r Requirement) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d GPU", r.Count)
	if r.Count != 1 {
		b.WriteString("s")
	}
	var q []string
	if r.Type != "" {
		q = append(q, "type "+r.Type)
	}
	if r.MinMemoryMiB > 0 {
		q = append(q, fmt.Sprintf("at least %d MiB memory", r.MinMemoryMiB))
	}
	if len(q) > 0 {
		b.WriteString(" (" + strings.Join(q, ", ") + ")")
	}
	return b.String()
}

// Matches reports whether d satisfies the type and memory part of r.
func (r Requirement) Matches(d Device) bool {
	if r.Type != "" && !strings.Contains(strings.ToLower(d.Name), strings.ToLower(r.Type)) {
		return false
	}
	return d.MemoryMiB >= r.MinMemoryMiB
}

// ErrUnmet is wrapped by Check's error when the runner has too few GPUs.
var ErrUnmet = errors.New("GPU requirement not met")

// Check returns the devices that satisfy r (the first r.Count of them),
// or an error wrapping ErrUnmet naming what was required and what was found.
func Check(r Requirement, inv *Inventory) ([]Device, error) {
	if r.Count <= 0 {
		return nil, nil
	}
	var ok []Device
	for _, d := range inv.Devices {
		if r.Matches(d) {
			ok = append(ok, d)
		}
	}
	if len(ok) >= r.Count {
		return ok[:r.Count], nil
	}
	return nil, fmt.Errorf("%w: training needs %s, found %s", ErrUnmet, r, inv.describe(r))
}

func (inv *Inventory) describe(r Requirement) string {
	if inv.Error != "" {
		return "no GPU: " + inv.Error
	}
	if len(inv.Devices) == 0 {
		if inv.Total > 0 {
			return fmt.Sprintf("none visible: CUDA_VISIBLE_DEVICES=%q hides all %d GPUs", inv.VisibleDevices, inv.Total)
		}
		return "no GPU: nvidia-smi lists no devices"
	}
	names := make([]string, len(inv.Devices))
	n := 0
	for i, d := range inv.Devices {
		names[i] = d.String()
		if r.Matches(d) {
			n++
		}
	}
	s := fmt.Sprintf("%d matching of %d visible: %s", n, len(inv.Devices), strings.Join(names, ", "))
	if inv.VisibleDevices != "" {
		s += fmt.Sprintf(" (CUDA_VISIBLE_DEVICES=%q)", inv.VisibleDevices)
	}
	return s
}

// Labels are runner labels describing the inventory, for registering
// self-hosted runners: gpu, gpu-<n>, gpu-<model>, and cuda-<major>.
func (inv *Inventory) Labels() []string {
	if len(inv.Devices) == 0 {
		return nil
	}
	labels := []string{"gpu", fmt.Sprintf("gpu-%d", len(inv.Devices))}
	seen := map[string]bool{}
	for _, d := range inv.Devices {
		if m := modelLabel(d.Name); m != "" && !seen[m] {
			seen[m] = true
			labels = append(labels, "gpu-"+m)
		}
	}
	if inv.CUDA != "" {
		major, _, _ := strings.Cut(inv.CUDA, ".")
		labels = append(labels, "cuda-"+major)
	}
	return labels
}

var modelRE = regexp.MustCompile(`(?i)\b(H200|H100|H20|GH200|B200|B100|GB200|A100|A800|A40|A30|A10G|A10|A16|A2|L40S|L40|L4|T4|V100|P100|P4|K80|RTX ?\d{4}(?: ?Ti)?|RTX A\d{4}|A\d{4})\b`)

func modelLabel(name string) string {
	m := modelRE.FindString(name)
	return strings.ToLower(strings.ReplaceAll(m, " ", ""))
}

// options configure Discover.
type options struct {
	smi     string
	getenv  func(string) string
	lookup  func(string) (string, bool)
	timeout time.Duration
}

// Option configures Discover.
type Option func(*options)

// WithNvidiaSMI sets the nvidia-smi executable (name on PATH or path).
func WithNvidiaSMI(path string) Option { return func(o *options) { o.smi = path } }

// WithLookupEnv sets how the environment (CUDA_VISIBLE_DEVICES, and PATH
// to find nvidia-smi) is read; the default is the environment this process
// hands its children (os.Environ), as nvidia-smi would see it. A set but
// empty CUDA_VISIBLE_DEVICES hides every GPU, as it does for CUDA.
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(o *options) {
		o.lookup = f
		o.getenv = func(k string) string { v, _ := f(k); return v }
	}
}

// WithTimeout bounds each nvidia-smi call (default 15s: a wedged driver
// makes nvidia-smi hang, and the caller must fail within seconds).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// Discover lists the GPUs visible to a training run. A missing or failing
// nvidia-smi is not an error: the Inventory is empty and its Error says
// why, so that Check can name it. Errors are returned only for a
// cancelled context.
func Discover(ctx context.Context, opts ...Option) (*Inventory, error) {
	o := options{smi: "nvidia-smi", timeout: 15 * time.Second}
	WithLookupEnv(environLookup(os.Environ()))(&o)
	for _, opt := range opts {
		opt(&o)
	}
	inv := &Inventory{Devices: []Device{}}
	visible, visibleSet := o.lookup("CUDA_VISIBLE_DEVICES")
	inv.VisibleDevices = visible

	path, err := lookPath(o.smi, o.getenv)
	if err != nil {
		inv.Error = fmt.Sprintf("%s not found on PATH (install the NVIDIA driver, or run on a GPU runner)", o.smi)
		return inv, nil
	}
	out, err := run(ctx, o.timeout, path, "--query-gpu="+QueryFields, "--format=csv,noheader,nounits")
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if strings.Contains(msg, "No devices were found") {
			return inv, nil
		}
		if msg == "" {
			msg = err.Error()
		}
		inv.Error = fmt.Sprintf("%s failed: %s", path, firstLine(msg))
		return inv, nil
	}
	all, err := ParseCSV(out)
	if err != nil {
		inv.Error = fmt.Sprintf("%s: %v", path, err)
		return inv, nil
	}
	inv.Total = len(all)
	if len(all) > 0 {
		inv.Driver = all[0].Driver
		if hdr, err := run(ctx, o.timeout, path); err == nil {
			inv.CUDA = ParseCUDAVersion(hdr)
		}
	}
	if visibleSet {
		inv.Devices = FilterVisible(all, visible)
	} else {
		inv.Devices = all
	}
	return inv, nil
}

func lookPath(name string, getenv func(string) string) (string, error) {
	if strings.Contains(name, "/") {
		return exec.LookPath(name)
	}
	// Resolve against the given environment's PATH, not only the process's.
	for _, dir := range strings.Split(getenv("PATH"), ":") {
		if dir == "" {
			continue
		}
		if p, err := exec.LookPath(dir + "/" + name); err == nil {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

func run(ctx context.Context, timeout time.Duration, path string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return buf.Bytes(), fmt.Errorf("no answer within %s (is the driver wedged?)", timeout)
	}
	return buf.Bytes(), err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

// ParseCSV parses `nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version
// --format=csv,noheader,nounits` output (a header line, if present, is skipped).
func ParseCSV(b []byte) ([]Device, error) {
	var ds []Device
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "index,") || strings.HasPrefix(line, "index ") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 5 {
			return nil, fmt.Errorf("line %d: want 5 comma-separated fields (%s), got %q", n+1, QueryFields, line)
		}
		// A name could hold a comma: index and uuid are first, memory and driver last.
		name := strings.TrimSpace(strings.Join(f[2:len(f)-2], ","))
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		idx, err := strconv.Atoi(f[0])
		if err != nil || idx < 0 {
			return nil, fmt.Errorf("line %d: GPU index %q is not a number", n+1, f[0])
		}
		mem := parseMiB(f[len(f)-2])
		ds = append(ds, Device{Index: idx, UUID: f[1], Name: name, MemoryMiB: mem, Driver: f[len(f)-1]})
	}
	return ds, nil
}

// parseMiB reads "81559", "81559 MiB" or "[N/A]" (0).
func parseMiB(s string) int {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "MiB"))
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

var cudaRE = regexp.MustCompile(`CUDA Version:\s*([0-9]+(?:\.[0-9]+)*)`)

// ParseCUDAVersion finds "CUDA Version: 12.4" in nvidia-smi's banner.
func ParseCUDAVersion(b []byte) string {
	m := cudaRE.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// FilterVisible applies a CUDA_VISIBLE_DEVICES value the way the CUDA
// runtime does: a comma-separated list of indices or UUIDs (a unique
// prefix such as "GPU-5b6c" is enough), in the given order; enumeration
// stops at the first entry that names no device, and duplicates stop it too.
func FilterVisible(all []Device, visible string) []Device {
	out := []Device{}
	if strings.TrimSpace(visible) == "" {
		return out
	}
	used := map[int]bool{}
	for _, tok := range strings.Split(visible, ",") {
		tok = strings.TrimSpace(tok)
		d, ok := lookup(all, tok)
		if !ok || used[d.Index] {
			break
		}
		used[d.Index] = true
		out = append(out, d)
	}
	return out
}

func lookup(all []Device, tok string) (Device, bool) {
	if tok == "" {
		return Device{}, false
	}
	if i, err := strconv.Atoi(tok); err == nil {
		for _, d := range all {
			if d.Index == i {
				return d, true
			}
		}
		return Device{}, false
	}
	if !strings.HasPrefix(tok, "GPU-") && !strings.HasPrefix(tok, "MIG-") {
		tok = "GPU-" + tok
	}
	var found []Device
	for _, d := range all {
		if strings.HasPrefix(d.UUID, tok) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return Device{}, false
	}
	return found[0], true
}

// environLookup looks variables up in a KEY=VALUE list.
func environLookup(env []string) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
