package drift

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// scanAll reads every record with a scanner whose buffer starts at bufSize
// bytes (small sizes exercise refills and growth) over a reader that
// returns one byte at a time when oneByte is set.
func scanAll(input string, bufSize int, oneByte bool) ([][]string, []int, error) {
	var r io.Reader = strings.NewReader(input)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	s := newCSVScanner(r, "in.csv")
	s.buf = make([]byte, bufSize)
	var recs [][]string
	var lines []int
	for s.Next() {
		var rec []string
		for _, f := range s.Fields() {
			rec = append(rec, string(f))
		}
		recs = append(recs, rec)
		lines = append(lines, s.Line())
	}
	return recs, lines, s.Err()
}

func TestCSVScanner(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		in    string
		want  [][]string
		lines []int
		err   string
	}{
		{"simple", "a,b\n1,2\n", [][]string{{"a", "b"}, {"1", "2"}}, []int{1, 2}, ""},
		{"no final newline", "a,b\n1,2", [][]string{{"a", "b"}, {"1", "2"}}, []int{1, 2}, ""},
		{"crlf", "a,b\r\n1,2\r\n", [][]string{{"a", "b"}, {"1", "2"}}, []int{1, 2}, ""},
		{"bom", "\xef\xbb\xbfa,b\n1,2\n", [][]string{{"a", "b"}, {"1", "2"}}, []int{1, 2}, ""},
		{"blank lines skipped", "a\n\n\r\n1\n\n", [][]string{{"a"}, {"1"}}, []int{1, 4}, ""},
		{"empty fields", ",\n,,\n", [][]string{{"", ""}, {"", "", ""}}, []int{1, 2}, ""},
		{"quoted separator", "a,\"b,c\"\n", [][]string{{"a", "b,c"}}, []int{1}, ""},
		{"quoted newline", "\"x\ny\",2\n3,4\n", [][]string{{"x\ny", "2"}, {"3", "4"}}, []int{1, 3}, ""},
		{"doubled quotes", "\"say \"\"hi\"\"\",\"\"\n", [][]string{{`say "hi"`, ""}}, []int{1}, ""},
		{"quoted then crlf", "\"a\",\"b\"\r\n1,2\r\n", [][]string{{"a", "b"}, {"1", "2"}}, []int{1, 2}, ""},
		{"trailing empty after quoted", "\"a\",\n", [][]string{{"a", ""}}, []int{1}, ""},
		{"bare quote kept", "ab\"c,d\n", [][]string{{`ab"c`, "d"}}, []int{1}, ""},
		{"quoted at eof", "\"a\"", [][]string{{"a"}}, []int{1}, ""},
		{"unclosed", "a\n\"b\n", [][]string{{"a"}}, []int{1}, "in.csv:2: quoted field not closed"},
		{"junk after quote", "\"a\"b,c\n", nil, nil, `in.csv:1: field 1: unexpected 'b' after the closing quote`},
		{"empty", "", nil, nil, ""},
	}
	for _, c := range cases {
		for _, bufSize := range []int{1, 3, 64, csvBufSize} {
			for _, oneByte := range []bool{false, true} {
				recs, lines, err := scanAll(c.in, bufSize, oneByte)
				if c.err != "" {
					if err == nil || !strings.Contains(err.Error(), c.err) {
						t.Errorf("%s (buf %d): error %v, want %q", c.name, bufSize, err, c.err)
					}
				} else if err != nil {
					t.Errorf("%s (buf %d): %v", c.name, bufSize, err)
				}
				if !reflect.DeepEqual(recs, c.want) || !reflect.DeepEqual(lines, c.lines) {
					t.Errorf("%s (buf %d, one byte %v): got %q at lines %v, want %q at %v", c.name, bufSize, oneByte, recs, lines, c.want, c.lines)
				}
			}
		}
	}
}

func TestCSVRecordTooLong(t *testing.T) {
	t.Parallel()
	s := newCSVScanner(strings.NewReader(strings.Repeat("x", 100)+"\n"), "in.csv")
	s.buf = make([]byte, 8)
	s.maxRec = 32
	for s.Next() {
	}
	if !errors.Is(s.Err(), errRecordTooLong) {
		t.Fatalf("err = %v, want errRecordTooLong", s.Err())
	}
}

// FuzzCSVScanner checks that the scanner never panics and, on input that
// encoding/csv reads without error (no CR, no BOM, quotes only where RFC
// 4180 allows them), yields the same records.
func FuzzCSVScanner(f *testing.F) {
	for _, seed := range []string{
		"a,b\n1,2\n", "\"a,b\",\"c\nd\"\n", "\"\"\"\",x\n", "a\n\n\nb\n", "\"open\n", "x,\"y\"z\n", "\xef\xbb\xbfh\n1\n", ",,\n\"\",\n",
	} {
		f.Add(seed, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, bufSize uint8) {
		recs, _, err := scanAll(in, int(bufSize)+1, false)
		if strings.ContainsAny(in, "\r") || strings.HasPrefix(in, "\xef\xbb\xbf") {
			return
		}
		r := csv.NewReader(strings.NewReader(in))
		r.FieldsPerRecord = -1
		want, werr := r.ReadAll()
		if werr != nil {
			return
		}
		if err != nil {
			t.Fatalf("scanner failed where encoding/csv read %q: %v", want, err)
		}
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(recs, want) {
			t.Fatalf("input %q: scanner %q, encoding/csv %q", in, recs, want)
		}
	})
}

// FuzzCompareCSV feeds arbitrary bytes as the current data: Compare must
// return a result or an error, never panic.
func FuzzCompareCSV(f *testing.F) {
	f.Add([]byte("a,b,c,d\n1,2,x,3\n"))
	f.Add([]byte("a,b,c,d\n\"1\",NA,,\n1,2\n"))
	f.Add([]byte("d,c,b,a\ninf,-1e999,\"q\"\"\",0x10\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		cur := dir + "/cur.csv"
		if err := writeBytes(cur, data); err != nil {
			t.Fatal(err)
		}
		res, err := Compare(t.Context(), File("testdata/reference.csv"), File(cur), Config{})
		if err == nil && len(res.Columns) != 4 {
			t.Fatalf("%d columns", len(res.Columns))
		}
	})
}

func writeBytes(path string, b []byte) error {
	var buf bytes.Buffer
	buf.Write(b)
	return osWriteFile(path, buf.Bytes())
}
