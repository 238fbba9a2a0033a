package card

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRedteamParseHostileFrontMatter: a card read from a registry is
// untrusted. An alias bomb (billion laughs), deep nesting, or a huge key
// count inside MaxSize is an error or a bounded parse, never minutes of
// CPU or gigabytes of memory; a value holding "\n---\n" does not end the
// front matter early when package writes it.
func TestRedteamParseHostileFrontMatter(t *testing.T) {
	t.Parallel()
	var bomb strings.Builder
	bomb.WriteString("mlship:\n  name: x\n  hyperparameters:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&bomb, "    a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	deep := "mlship:\n  name: x\n  hyperparameters:\n    d: " + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + "\n"
	for name, front := range map[string]string{"alias bomb": bomb.String(), "deep nesting": deep} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := "---\n" + front + "---\n# card\n"
			if len(doc) > MaxSize {
				t.Fatalf("test card of %d bytes is over MaxSize", len(doc))
			}
			done := make(chan error, 1)
			start := time.Now()
			go func() { _, err := Parse([]byte(doc)); done <- err }()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("%s parsed without error in %s", name, time.Since(start))
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: Parse still running after 20s", name)
			}
		})
	}
	t.Run("separator in a value", func(t *testing.T) {
		t.Parallel()
		evil := "x\n---\nlicense: stolen\nmlship: {name: forged}\n---\n# forged card"
		b, err := Render(Metadata{License: evil, Datasets: []string{evil}, MLShip: &Lineage{Name: evil, Hyperparameters: map[string]any{evil: evil}}}, "# real\n")
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(b)
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if c.Meta.License != evil || c.Meta.MLShip == nil || c.Meta.MLShip.Name != evil || c.Body != "# real\n" {
			t.Errorf("round trip: license %q lineage %+v body %q\n%s", c.Meta.License, c.Meta.MLShip, c.Body, b)
		}
	})
}

// TestRedteamParseNonFinite: YAML spells NaN and infinity (.nan, .inf),
// JSON cannot: a card from the registry holding one in its model-index or
// hyperparameters made `card --output json` and `diff --output json` fail
// with "json: unsupported value: NaN". Parse refuses it, naming the field.
func TestRedteamParseNonFinite(t *testing.T) {
	t.Parallel()
	for name, front := range map[string]string{
		"metric .nan":         "model-index:\n- name: m\n  results:\n  - task: {type: other}\n    dataset: {type: d, name: d}\n    metrics:\n    - {type: accuracy, value: .nan}\n",
		"hyperparameter .inf": "mlship:\n  name: m\n  hyperparameters:\n    lr: .inf\n",
		"nested -.inf":        "mlship:\n  name: m\n  hyperparameters:\n    grid: {lr: [0.1, -.inf]}\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte("---\n" + front + "---\n# card\n"))
			if err == nil {
				_, jerr := json.Marshal(c.Meta)
				t.Errorf("parsed; its JSON: %v", jerr)
			} else if !strings.Contains(err.Error(), "finite") {
				t.Errorf("error %q does not say the number is not finite", err)
			}
		})
	}
}
