// Command trainer trains and evaluates the iris example's model; the code
// lives in package irisml so that `mlship demo` can run the same trainer.
//
//	go run ./trainer -data data/train.csv -out model -metrics metrics.json
//	go run ./trainer -eval -model model -data data/eval.csv -metrics eval.json -examples examples.jsonl
package main

import (
	"fmt"
	"os"

	"github.com/mlship/mlship/examples/iris/irisml"
)

func main() {
	if err := irisml.Main(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "trainer:", err)
		os.Exit(1)
	}
}
