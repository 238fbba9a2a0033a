package drift

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// csvScanner reads RFC 4180 CSV one record at a time without allocating
// per field: Fields returns slices of its own buffer, valid until the next
// call to Next. Quoted fields may hold separators, doubled quotes and line
// breaks; a quote inside an unquoted field is kept as a literal character
// (as pandas does). Blank lines are skipped, a UTF-8 byte-order mark at the
// start and a CR before LF are dropped.
type csvScanner struct {
	r       io.Reader
	name    string // file name, for errors
	sep     byte
	buf     []byte
	base    int64 // bytes of the input before buf[0]
	start   int   // first unread byte
	end     int   // end of buffered data
	eof     bool
	started bool
	fields  [][]byte
	line    int // line of the current record's first byte (1-based)
	next    int // line where the next record starts
	err     error
	maxRec  int
}

const (
	csvBufSize      = 1 << 20
	csvMaxRecordLen = 64 << 20
)

var errRecordTooLong = errors.New("record longer than 64 MiB")

// CSVError is a syntax error in a CSV file, naming the file and the line.
type CSVError struct {
	File string
	Line int
	Err  error
}

func (e *CSVError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *CSVError) Unwrap() error { return e.Err }

func newCSVScanner(r io.Reader, name string) *csvScanner {
	return &csvScanner{r: r, name: name, sep: ',', buf: make([]byte, csvBufSize), next: 1, maxRec: csvMaxRecordLen}
}

// Line is the line number where the current record starts.
func (s *csvScanner) Line() int { return s.line }

// Offset is how many bytes of the input have been consumed.
func (s *csvScanner) Offset() int64 { return s.base + int64(s.start) }

// Fields are the current record's fields.
func (s *csvScanner) Fields() [][]byte { return s.fields }

// Err is the error that stopped Next, if any.
func (s *csvScanner) Err() error { return s.err }

// fill reads more data, keeping buf[start:end]. It reports whether any
// new bytes arrived.
func (s *csvScanner) fill() bool {
	if s.eof {
		return false
	}
	if s.start > 0 {
		s.base += int64(s.start)
		n := copy(s.buf, s.buf[s.start:s.end])
		s.start, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= s.maxRec {
			s.err = &CSVError{File: s.name, Line: s.next, Err: errRecordTooLong}
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			if err != io.EOF {
				s.err = fmt.Errorf("reading %s: %w", s.name, err)
			}
			s.eof = true
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// Next advances to the next non-blank record.
func (s *csvScanner) Next() bool {
	if s.err != nil {
		return false
	}
	if !s.started {
		s.started = true
		for s.end-s.start < 3 && s.fill() {
		}
		if s.err != nil {
			return false
		}
		if bytes.HasPrefix(s.buf[s.start:s.end], []byte("\xef\xbb\xbf")) {
			s.start += 3
		}
	}
	for {
		// Skip blank lines.
		for {
			if s.start == s.end && !s.fill() {
				return false
			}
			c := s.buf[s.start]
			if c == '\n' {
				s.start++
				s.next++
				continue
			}
			if c == '\r' {
				if s.start+1 == s.end && !s.fill() {
					s.start++
					return false
				}
				if s.buf[s.start+1] == '\n' {
					s.start += 2
					s.next++
					continue
				}
			}
			break
		}
		ok, retry := s.parseRecord()
		if retry {
			continue
		}
		return ok
	}
}

// parseRecord parses one record starting at s.start, refilling the buffer
// as needed. Field slices point into s.buf; quoted fields are unescaped in
// place (never longer than their raw form).
func (s *csvScanner) parseRecord() (ok, retry bool) {
	s.line = s.next
	for {
		// Fast path: the record is one line with no quote in it.
		seg := s.buf[s.start:s.end]
		nl := bytes.IndexByte(seg, '\n')
		if nl < 0 && !s.eof {
			s.fill()
			if s.err != nil {
				return false, false
			}
			continue
		}
		var lineBytes []byte
		if nl >= 0 {
			lineBytes = seg[:nl]
		} else {
			lineBytes = seg
		}
		if bytes.IndexByte(lineBytes, '"') < 0 {
			lb := lineBytes
			if n := len(lb); n > 0 && lb[n-1] == '\r' {
				lb = lb[:n-1]
			}
			s.splitSimple(lb)
			if nl >= 0 {
				s.start += nl + 1
			} else {
				s.start = s.end
			}
			s.next++
			return true, false
		}
		return s.parseQuoted()
	}
}

func (s *csvScanner) splitSimple(lb []byte) {
	s.fields = s.fields[:0]
	for {
		i := bytes.IndexByte(lb, s.sep)
		if i < 0 {
			s.fields = append(s.fields, lb)
			return
		}
		s.fields = append(s.fields, lb[:i])
		lb = lb[i+1:]
	}
}

// parseQuoted parses a record containing quotes with a state machine. It
// first makes sure the whole record is buffered (so slices stay valid).
func (s *csvScanner) parseQuoted() (bool, bool) {
	// Find the end of the record: a newline outside quotes.
	for {
		end, lines, complete := s.recordEnd()
		if complete {
			return s.splitQuoted(end, lines)
		}
		if s.err != nil {
			return false, false
		}
		if s.eof {
			if end < 0 {
				s.err = &CSVError{File: s.name, Line: s.line, Err: errors.New(`quoted field not closed before the end of the file (missing closing "?)`)}
				return false, false
			}
			return s.splitQuoted(end, lines)
		}
		if !s.fill() && s.err != nil {
			return false, false
		}
	}
}

// recordEnd scans buf[start:end] for the newline that ends the record. It
// returns its offset from start (or, at EOF, the data length with
// complete=false), and the number of newlines inside quotes.
func (s *csvScanner) recordEnd() (end, lines int, complete bool) {
	data := s.buf[s.start:s.end]
	inQuotes := false
	atFieldStart := true
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inQuotes:
			if c == '"' {
				if i+1 < len(data) && data[i+1] == '"' {
					i++
					continue
				}
				if i+1 == len(data) && !s.eof {
					return -1, 0, false // need to see the next byte
				}
				inQuotes = false
			} else if c == '\n' {
				lines++
			}
		case c == '"' && atFieldStart:
			inQuotes = true
			atFieldStart = false
		case c == s.sep:
			atFieldStart = true
		case c == '\n':
			return i, lines, true
		default:
			atFieldStart = false
		}
	}
	if inQuotes {
		return -1, lines, false
	}
	if s.eof {
		return len(data), lines, true
	}
	return -1, lines, false
}

func (s *csvScanner) splitQuoted(end, lines int) (bool, bool) {
	rec := s.buf[s.start : s.start+end]
	if n := len(rec); n > 0 && rec[n-1] == '\r' {
		rec = rec[:n-1]
	}
	s.fields = s.fields[:0]
	line := s.line
	i := 0
	for {
		if i < len(rec) && rec[i] == '"' {
			// Quoted field: unescape in place.
			w := i
			fieldStart := i
			i++
			for {
				if i >= len(rec) {
					s.err = &CSVError{File: s.name, Line: line, Err: fmt.Errorf("field %d: quoted field not closed", len(s.fields)+1)}
					return false, false
				}
				c := rec[i]
				if c == '"' {
					if i+1 < len(rec) && rec[i+1] == '"' {
						rec[w] = '"'
						w++
						i += 2
						continue
					}
					i++
					break
				}
				if c == '\n' {
					line++
				}
				rec[w] = c
				w++
				i++
			}
			s.fields = append(s.fields, rec[fieldStart:w])
			if i == len(rec) {
				break
			}
			if rec[i] != s.sep {
				s.err = &CSVError{File: s.name, Line: line, Err: fmt.Errorf("field %d: unexpected %q after the closing quote of a quoted field (a literal \" inside quotes must be doubled)", len(s.fields), rec[i])}
				return false, false
			}
			i++
			if i == len(rec) {
				s.fields = append(s.fields, rec[i:i])
				break
			}
			continue
		}
		j := bytes.IndexByte(rec[i:], s.sep)
		if j < 0 {
			s.fields = append(s.fields, rec[i:])
			break
		}
		s.fields = append(s.fields, rec[i:i+j])
		i += j + 1
		if i == len(rec) {
			s.fields = append(s.fields, rec[i:i])
			break
		}
	}
	s.start += end
	if s.start < s.end {
		s.start++ // the newline
	}
	s.next += lines + 1
	return true, false
}
