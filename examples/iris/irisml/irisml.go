// Package irisml trains and evaluates the iris example's model: a
// multinomial logistic regression (softmax) over the four measurements,
// fitted by mini-batch gradient descent with L2 regularisation. It uses
// the standard library only and is deterministic: the same data,
// hyperparameters and seed give the same bytes in model/.
//
// Hyperparameters come from mlship's environment (MLSHIP_PARAMS_FILE, or
// MLSHIP_PARAM_<NAME>, and MLSHIP_SEED); flags override them.
//
//	go run ./trainer -data data/train.csv -out model -metrics metrics.json
//	go run ./trainer -eval -model model -data data/eval.csv -metrics eval.json -examples examples.jsonl
package irisml

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

var features = []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}

const labelColumn = "species"

// Params are the hyperparameters.
type Params struct {
	LearningRate float64 `json:"learning_rate"`
	Epochs       int     `json:"epochs"`
	L2           float64 `json:"l2"`
	BatchSize    int     `json:"batch_size"`
}

// Weights is model/weights.json.
type Weights struct {
	Classes  []string    `json:"classes"`
	Features []string    `json:"features"`
	W        [][]float64 `json:"weights"` // [class][feature], on standardised features
	B        []float64   `json:"bias"`
}

// Config is model/config.json: what a consumer needs besides the weights.
type Config struct {
	Architecture    string    `json:"architecture"`
	Features        []string  `json:"features"`
	Classes         []string  `json:"classes"`
	Mean            []float64 `json:"mean"`
	Std             []float64 `json:"std"`
	Hyperparameters Params    `json:"hyperparameters"`
	Seed            uint64    `json:"seed"`
}

// Main runs the trainer with command-line args (see the package comment),
// writing progress to log. `go run ./trainer` and `mlship demo trainer`
// both call it.
func Main(args []string, log io.Writer) error {
	p, seed, err := envParams()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("trainer", flag.ContinueOnError)
	data := fs.String("data", "data/train.csv", "CSV with "+strings.Join(features, ",")+","+labelColumn)
	out := fs.String("out", "model", "directory for weights.json and config.json")
	metrics := fs.String("metrics", "metrics.json", "metrics file (JSON Lines in training, JSON in -eval)")
	eval := fs.Bool("eval", false, "evaluate a trained model instead of training")
	modelDir := fs.String("model", "model", "model directory to evaluate (-eval)")
	examples := fs.String("examples", "", "per-example results, JSON Lines (-eval)")
	fs.Float64Var(&p.LearningRate, "lr", p.LearningRate, "learning rate")
	fs.IntVar(&p.Epochs, "epochs", p.Epochs, "passes over the data")
	fs.Float64Var(&p.L2, "l2", p.L2, "L2 penalty")
	fs.IntVar(&p.BatchSize, "batch-size", p.BatchSize, "mini-batch size")
	fs.Uint64Var(&seed, "seed", seed, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	X, labels, err := readCSV(*data)
	if err != nil {
		return err
	}
	if *eval {
		return evaluate(*modelDir, X, labels, *metrics, *examples, log)
	}
	if p.LearningRate <= 0 || p.Epochs <= 0 || p.BatchSize <= 0 || p.L2 < 0 {
		return fmt.Errorf("hyperparameters %+v: learning_rate, epochs and batch_size must be positive, l2 not negative", p)
	}
	return train(X, labels, p, seed, *out, *metrics, log)
}

// envParams reads mlship's parameter file, then MLSHIP_PARAM_* variables.
func envParams() (Params, uint64, error) {
	p := Params{LearningRate: 0.1, Epochs: 200, L2: 0.001, BatchSize: 16}
	var seed uint64 = 42
	if f := os.Getenv("MLSHIP_PARAMS_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return p, 0, fmt.Errorf("reading MLSHIP_PARAMS_FILE: %w", err)
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return p, 0, fmt.Errorf("decoding MLSHIP_PARAMS_FILE %s: %w", f, err)
		}
	}
	for name, dst := range map[string]any{"LEARNING_RATE": &p.LearningRate, "EPOCHS": &p.Epochs, "L2": &p.L2, "BATCH_SIZE": &p.BatchSize} {
		v := os.Getenv("MLSHIP_PARAM_" + name)
		if v == "" {
			continue
		}
		if err := json.Unmarshal([]byte(v), dst); err != nil {
			return p, 0, fmt.Errorf("MLSHIP_PARAM_%s=%q: %w", name, v, err)
		}
	}
	if s := os.Getenv("MLSHIP_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return p, 0, fmt.Errorf("MLSHIP_SEED=%q: %w", s, err)
		}
		seed = v
	}
	return p, seed, nil
}

func readCSV(path string) ([][]float64, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading the header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, want := range append(append([]string{}, features...), labelColumn) {
		if _, ok := col[want]; !ok {
			return nil, nil, fmt.Errorf("%s: no column %q (have %s)", path, want, strings.Join(head, ","))
		}
	}
	var X [][]float64
	var labels []string
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		x := make([]float64, len(features))
		for j, name := range features {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[col[name]]), 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %s: %w", path, line, name, err)
			}
			x[j] = v
		}
		X = append(X, x)
		labels = append(labels, strings.TrimSpace(rec[col[labelColumn]]))
	}
	if len(X) == 0 {
		return nil, nil, fmt.Errorf("%s has no rows", path)
	}
	return X, labels, nil
}

func train(X [][]float64, labels []string, p Params, seed uint64, outDir, metricsPath string, log io.Writer) error {
	classes := uniqueSorted(labels)
	y := indexOf(classes, labels)
	mean, std := standardiser(X)
	Z := standardise(X, mean, std)
	k, d := len(classes), len(features)

	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := &Weights{Classes: classes, Features: features, W: make([][]float64, k), B: make([]float64, k)}
	for c := range w.W {
		w.W[c] = make([]float64, d)
		for j := range w.W[c] {
			w.W[c][j] = rng.NormFloat64() * 0.01
		}
	}
	mf, err := os.Create(metricsPath)
	if err != nil {
		return err
	}
	defer mf.Close()
	mw := bufio.NewWriter(mf)
	enc := json.NewEncoder(mw)

	order := make([]int, len(Z))
	for i := range order {
		order[i] = i
	}
	gW := make([][]float64, k)
	for c := range gW {
		gW[c] = make([]float64, d)
	}
	gB := make([]float64, k)
	for epoch := 1; epoch <= p.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < len(order); start += p.BatchSize {
			end := min(start+p.BatchSize, len(order))
			for c := range gW {
				clear(gW[c])
			}
			clear(gB)
			for _, i := range order[start:end] {
				prob := w.predict(Z[i])
				for c := 0; c < k; c++ {
					g := prob[c]
					if c == y[i] {
						g--
					}
					for j := 0; j < d; j++ {
						gW[c][j] += g * Z[i][j]
					}
					gB[c] += g
				}
			}
			n := float64(end - start)
			for c := 0; c < k; c++ {
				for j := 0; j < d; j++ {
					w.W[c][j] -= p.LearningRate * (gW[c][j]/n + p.L2*w.W[c][j])
				}
				w.B[c] -= p.LearningRate * gB[c] / n
			}
		}
		if epoch%10 == 0 || epoch == p.Epochs {
			loss, acc := w.score(Z, y)
			if err := enc.Encode(map[string]any{"epoch": epoch, "loss": round(loss), "accuracy": round(acc)}); err != nil {
				return err
			}
			fmt.Fprintf(log, "epoch %4d  loss %.4f  accuracy %.4f\n", epoch, loss, acc)
		}
	}
	if err := mw.Flush(); err != nil {
		return err
	}
	if err := mf.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(outDir, "weights.json"), w); err != nil {
		return err
	}
	cfg := Config{Architecture: "softmax-regression", Features: features, Classes: classes, Mean: mean, Std: std, Hyperparameters: p, Seed: seed}
	if err := writeJSON(filepath.Join(outDir, "config.json"), cfg); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s/weights.json and %s/config.json\n", outDir, outDir)
	return nil
}

func evaluate(modelDir string, X [][]float64, labels []string, metricsPath, examplesPath string, log io.Writer) error {
	var w Weights
	var cfg Config
	if err := readJSON(filepath.Join(modelDir, "weights.json"), &w); err != nil {
		return err
	}
	if err := readJSON(filepath.Join(modelDir, "config.json"), &cfg); err != nil {
		return err
	}
	if len(cfg.Mean) != len(features) || len(cfg.Std) != len(features) || len(w.W) != len(w.Classes) || len(w.B) != len(w.Classes) {
		return fmt.Errorf("model in %s does not match %d features", modelDir, len(features))
	}
	for c := range w.W {
		if len(w.W[c]) != len(features) {
			return fmt.Errorf("model in %s: class %d has %d weights, want %d", modelDir, c, len(w.W[c]), len(features))
		}
	}
	Z := standardise(X, cfg.Mean, cfg.Std)
	var ex *json.Encoder
	if examplesPath != "" {
		f, err := os.Create(examplesPath)
		if err != nil {
			return err
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		ex = json.NewEncoder(bw)
	}
	correct, lossSum := 0.0, 0.0
	tp := make([]float64, len(w.Classes))
	fp := make([]float64, len(w.Classes))
	fn := make([]float64, len(w.Classes))
	for i, z := range Z {
		prob := w.predict(z)
		pred := argmax(prob)
		truth := -1
		for c, name := range w.Classes {
			if name == labels[i] {
				truth = c
			}
		}
		if truth < 0 {
			return fmt.Errorf("row %d: class %q is unknown to the model (%s)", i+1, labels[i], strings.Join(w.Classes, ", "))
		}
		hit := 0.0
		if pred == truth {
			hit = 1
			tp[truth]++
		} else {
			fp[pred]++
			fn[truth]++
		}
		ll := -math.Log(math.Max(prob[truth], 1e-15))
		correct += hit
		lossSum += ll
		if ex != nil {
			if err := ex.Encode(map[string]any{"id": i, "label": labels[i], "prediction": w.Classes[pred], "accuracy": hit, "log_loss": round(ll)}); err != nil {
				return err
			}
		}
	}
	f1 := 0.0
	for c := range w.Classes {
		if d := 2*tp[c] + fp[c] + fn[c]; d > 0 {
			f1 += 2 * tp[c] / d
		}
	}
	n := float64(len(Z))
	m := map[string]any{"accuracy": round(correct / n), "log_loss": round(lossSum / n), "macro_f1": round(f1 / float64(len(w.Classes))), "n": len(Z)}
	if err := writeJSON(metricsPath, m); err != nil {
		return err
	}
	fmt.Fprintf(log, "accuracy %.4f  log_loss %.4f  on %d examples\n", correct/n, lossSum/n, len(Z))
	return nil
}

func (w *Weights) predict(z []float64) []float64 {
	logits := make([]float64, len(w.W))
	maxL := math.Inf(-1)
	for c := range w.W {
		s := w.B[c]
		for j, v := range z {
			s += w.W[c][j] * v
		}
		logits[c] = s
		maxL = math.Max(maxL, s)
	}
	sum := 0.0
	for c := range logits {
		logits[c] = math.Exp(logits[c] - maxL)
		sum += logits[c]
	}
	for c := range logits {
		logits[c] /= sum
	}
	return logits
}

func (w *Weights) score(Z [][]float64, y []int) (loss, acc float64) {
	for i, z := range Z {
		prob := w.predict(z)
		loss -= math.Log(math.Max(prob[y[i]], 1e-15))
		if argmax(prob) == y[i] {
			acc++
		}
	}
	n := float64(len(Z))
	return loss / n, acc / n
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

func standardiser(X [][]float64) (mean, std []float64) {
	d := len(X[0])
	mean, std = make([]float64, d), make([]float64, d)
	for _, x := range X {
		for j := range x {
			mean[j] += x[j]
		}
	}
	for j := range mean {
		mean[j] /= float64(len(X))
	}
	for _, x := range X {
		for j := range x {
			std[j] += (x[j] - mean[j]) * (x[j] - mean[j])
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(len(X)))
		if std[j] == 0 {
			std[j] = 1
		}
	}
	return mean, std
}

func standardise(X [][]float64, mean, std []float64) [][]float64 {
	Z := make([][]float64, len(X))
	for i, x := range X {
		Z[i] = make([]float64, len(x))
		for j := range x {
			Z[i][j] = (x[j] - mean[j]) / std[j]
		}
	}
	return Z
}

func uniqueSorted(labels []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range labels {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	// insertion sort: a handful of classes
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func indexOf(classes, labels []string) []int {
	idx := map[string]int{}
	for i, c := range classes {
		idx[c] = i
	}
	y := make([]int, len(labels))
	for i, l := range labels {
		y[i] = idx[l]
	}
	return y
}

// round keeps 6 significant decimals in metrics, so reports stay readable.
func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}
