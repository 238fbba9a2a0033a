package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {3 << 29, "1.5 GiB"}} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := NewLines(&buf, time.Hour)
	p.Start("pushing", 2048)
	p.Add(1024)
	p.AddTotal(1024)
	p.Add(2048)
	p.Done()
	got := buf.String()
	if !strings.Contains(got, "pushing 3.0 KiB / 3.0 KiB (100%)") || strings.Contains(got, "\r") {
		t.Errorf("CI line = %q", got)
	}
}

func TestBar(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := NewBar(&buf)
	p.Start("pulling", 100)
	p.Add(50)
	p.Done()
	if got := buf.String(); !strings.Contains(got, "\r") || !strings.Contains(got, "[===============               ]") {
		t.Errorf("bar = %q", got)
	}
}
