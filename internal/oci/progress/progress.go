package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Reporter receives the progress of one transfer. Add may be called from
// several goroutines.
type Reporter interface {
	// Start begins a transfer of total bytes (0 if unknown yet).
	Start(label string, total int64)
	// AddTotal grows the expected total (directories packed as tar).
	AddTotal(n int64)
	// Add records n transferred (or skipped) bytes.
	Add(n int64)
	// Done ends the transfer and prints the final state.
	Done()
}

// Nop discards progress.
type Nop struct{}

// Start implements Reporter.
func (Nop) Start(string, int64) {}

// AddTotal implements Reporter.
func (Nop) AddTotal(int64) {}

// Add implements Reporter.
func (Nop) Add(int64) {}

// Done implements Reporter.
func (Nop) Done() {}

// Writer is a Reporter drawing to w: a bar redrawn in place when bar is
// true, otherwise one line per interval.
type Writer struct {
	w        io.Writer
	bar      bool
	interval time.Duration
	now      func() time.Time

	label string
	total atomic.Int64
	done  atomic.Int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
}

// NewBar returns a Reporter drawing a bar on a terminal.
func NewBar(w io.Writer) *Writer {
	return &Writer{w: w, bar: true, interval: 150 * time.Millisecond, now: time.Now}
}

// NewLines returns a Reporter printing a line every interval (CI logs).
func NewLines(w io.Writer, interval time.Duration) *Writer {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return &Writer{w: w, interval: interval, now: time.Now}
}

// Start implements Reporter.
func (p *Writer) Start(label string, total int64) {
	p.label = label
	p.total.Store(total)
	p.done.Store(0)
	p.start = p.now()
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
}

// AddTotal implements Reporter.
func (p *Writer) AddTotal(n int64) { p.total.Add(n) }

// Add implements Reporter.
func (p *Writer) Add(n int64) { p.done.Add(n) }

// Done implements Reporter.
func (p *Writer) Done() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.stop = nil
	p.draw(true)
}

func (p *Writer) draw(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	done, total := p.done.Load(), p.total.Load()
	el := p.now().Sub(p.start)
	rate := ""
	if s := el.Seconds(); s > 0 {
		rate = fmt.Sprintf(" %s/s", Bytes(int64(float64(done)/s)))
	}
	pct := ""
	if total > 0 {
		pct = fmt.Sprintf(" (%d%%)", min(100, done*100/total))
	}
	line := fmt.Sprintf("%s %s / %s%s%s", p.label, Bytes(done), Bytes(total), pct, rate)
	if !p.bar {
		if final {
			line += fmt.Sprintf(" in %s", el.Round(time.Millisecond))
		}
		fmt.Fprintln(p.w, line)
		return
	}
	const width = 30
	filled := 0
	if total > 0 {
		filled = int(min(width, done*width/total))
	}
	bar := "[" + strings.Repeat("=", filled) + strings.Repeat(" ", width-filled) + "]"
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s%s", bar, line, end)
}

// Bytes formats n in binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
