package drift

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// checkParse: parseNumber agrees with strconv.ParseFloat, bit for bit,
// on whatever its fast path accepts.
func checkParse(t *testing.T, s string) {
	t.Helper()
	v, ok := parseSimpleDecimal([]byte(s))
	if !ok {
		return
	}
	w, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("parseSimpleDecimal(%q) = %v, but strconv refuses it: %v", s, v, err)
	}
	if math.Float64bits(v) != math.Float64bits(w) {
		t.Fatalf("parseSimpleDecimal(%q) = %v (%#x), strconv %v (%#x)", s, v, math.Float64bits(v), w, math.Float64bits(w))
	}
}

func TestParseSimpleDecimalMatchesStrconv(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "-0", "+0", "0.0", "-0.000", "1", "1.", ".5", "-.5", "12.345678", "9007199254740992", "9007199254740993",
		"900719925474099.3", "0.1", "0.30000000000000004", "1e22", "1e23", "1.5e-22", "123456789012345678", "1234567890123456789", "00000000000000000001.5",
		"1e", "1e+", "e5", ".", "-", "+", "1.2.3", "1_0", "0x10", "1e1001", "3.14159265358979", "17976931348623157e292"} {
		checkParse(t, s)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		var s string
		switch rng.IntN(4) {
		case 0:
			s = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(20)-10)), 'f', rng.IntN(12), 64)
		case 1:
			s = strconv.FormatFloat(rng.NormFloat64(), 'g', -1, 64)
		case 2:
			s = strconv.FormatFloat(rng.ExpFloat64()*1e6, 'e', rng.IntN(17), 64)
		default:
			s = strconv.FormatUint(rng.Uint64N(1<<60), 10)
		}
		checkParse(t, s)
	}
	// What the fast path must take, so that it stays fast.
	for _, s := range []string{"12.345678", "-0.5", "1e5", "4503599627370496"} {
		if _, ok := parseSimpleDecimal([]byte(s)); !ok {
			t.Errorf("%q left to strconv", s)
		}
	}
}

func FuzzParseSimpleDecimal(f *testing.F) {
	for _, s := range []string{"12.345678", "-0.5", "1e-22", ".", "9007199254740993"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParse(t, s) })
}
