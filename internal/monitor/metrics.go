package monitor

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// maxClasses bounds the confusion table: beyond it the labels are not
// classes (a regression target, ids) and classification metrics are not
// computed.
const maxClasses = 10000

// maxConfusionCells bounds the confusion table's cells ({label,
// prediction} pairs seen): maxClasses² would be gigabytes. Past it the
// classification metrics are not computed.
const maxConfusionCells = 1 << 20

// Metrics accumulates predictions and labels, one row at a time, in memory
// bounded by the number of classes: a confusion table for classification
// metrics, running sums for regression ones.
type Metrics struct {
	n, missing int64
	confusion  map[[2]string]int64 // {label, prediction} → rows
	classes    map[string]bool
	overflow   bool // more than maxClasses classes
	// Regression sums, over rows where both parse as numbers.
	numeric                bool
	nn                     int64
	absErr, sqErr, sy, syy float64
}

// NewMetrics is an empty accumulator.
func NewMetrics() *Metrics {
	return &Metrics{confusion: map[[2]string]int64{}, classes: map[string]bool{}, numeric: true}
}

// Add takes one row; an empty prediction or label is a missing row.
func (m *Metrics) Add(prediction, label string) {
	prediction, label = strings.TrimSpace(prediction), strings.TrimSpace(label)
	if prediction == "" || label == "" {
		m.missing++
		return
	}
	m.n++
	if !m.overflow {
		for _, c := range [2]string{label, prediction} {
			if !m.classes[c] {
				if len(m.classes) >= maxClasses {
					m.overflow, m.confusion, m.classes = true, nil, nil
					break
				}
				m.classes[c] = true
			}
		}
		if !m.overflow {
			k := [2]string{label, prediction}
			if _, seen := m.confusion[k]; !seen && len(m.confusion) >= maxConfusionCells {
				m.overflow, m.confusion, m.classes = true, nil, nil
			} else {
				m.confusion[k]++
			}
		}
	}
	if m.numeric {
		p, err1 := strconv.ParseFloat(prediction, 64)
		y, err2 := strconv.ParseFloat(label, 64)
		if err1 != nil || err2 != nil || math.IsInf(p, 0) || math.IsInf(y, 0) || math.IsNaN(p) || math.IsNaN(y) {
			m.numeric = false
			return
		}
		d := p - y
		m.nn++
		m.absErr += math.Abs(d)
		m.sqErr += d * d
		m.sy += y
		m.syy += y * y
	}
}

// Rows is how many rows had both a prediction and a label; Missing how
// many lacked one.
func (m *Metrics) Rows() int64    { return m.n }
func (m *Metrics) Missing() int64 { return m.missing }

// Computable lists the metric names Compute knows.
var Computable = []string{"accuracy", "error_rate", "precision", "recall", "f1", "mae", "mse", "rmse", "r2"}

// Compute returns the value of a metric by name: accuracy and error_rate;
// precision, recall and f1 macro-averaged over the labels' classes (also
// spelled *_macro); mae, mse, rmse and r2 when every prediction and label
// is a number. An error says why a metric cannot be computed.
func (m *Metrics) Compute(name string) (float64, error) {
	if m.n == 0 {
		return 0, fmt.Errorf("metric %q: no rows with both a prediction and a label", name)
	}
	key := strings.TrimSuffix(strings.ToLower(name), "_macro")
	switch key {
	case "accuracy", "error_rate", "precision", "recall", "f1":
		if m.overflow {
			return 0, fmt.Errorf("metric %q: more than %d distinct labels, or %d distinct (label, prediction) pairs: not a classification", name, maxClasses, maxConfusionCells)
		}
		return m.classification(key), nil
	case "mae", "mse", "rmse", "r2":
		if !m.numeric {
			return 0, fmt.Errorf("metric %q: predictions and labels are not all numbers", name)
		}
		n := float64(m.nn)
		switch key {
		case "mae":
			return m.absErr / n, nil
		case "mse":
			return m.sqErr / n, nil
		case "rmse":
			return math.Sqrt(m.sqErr / n), nil
		}
		ss := m.syy - m.sy*m.sy/n
		if !(ss > 0) {
			return 0, fmt.Errorf("metric %q: the labels do not vary", name)
		}
		return 1 - m.sqErr/ss, nil
	}
	return 0, fmt.Errorf("metric %q cannot be computed from predictions and labels (computable: %s)", name, strings.Join(Computable, ", "))
}

func (m *Metrics) classification(key string) float64 {
	var correct int64
	tp, predN, labelN := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for k, c := range m.confusion {
		label, pred := k[0], k[1]
		if label == pred {
			correct += c
			tp[label] += c
		}
		predN[pred] += c
		labelN[label] += c
	}
	acc := float64(correct) / float64(m.n)
	switch key {
	case "accuracy":
		return acc
	case "error_rate":
		return 1 - acc
	}
	// Macro averages over the classes that occur as labels (scikit-learn's
	// labels=unique(y_true ∪ y_pred) would count predicted-only classes
	// with a zero; here those lower precision through predN only).
	labels := make([]string, 0, len(labelN))
	for l := range labelN {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	var sum float64
	for _, l := range labels {
		var p, r float64
		if predN[l] > 0 {
			p = float64(tp[l]) / float64(predN[l])
		}
		r = float64(tp[l]) / float64(labelN[l])
		switch key {
		case "precision":
			sum += p
		case "recall":
			sum += r
		default:
			if p+r > 0 {
				sum += 2 * p * r / (p + r)
			}
		}
	}
	return sum / float64(len(labels))
}
