package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// A large CSV or JSON Lines file is split into shards by byte ranges. A range must
// begin where a row begins, and each shard must know the position of its first row
// and line in the file, so that its rejects say where a bad row is. Both need one
// pass over the file at planning: the rowScanner below finds every place where a row
// ends, exactly as the readers in internal/tabular would (encoding/csv with
// LazyQuotes for CSV, a line scanner for JSON Lines), without parsing the values.

// rowEnd is a place in a text file just after a row's last byte (its newline).
type rowEnd struct {
	offset int64 // the byte after the newline
	rows   int64 // rows that end at or before offset (for CSV, the header is one)
	lines  int64 // newlines before offset
}

// rowScanner finds where rows end in a CSV (csv set) or JSON Lines stream given to
// feed in consecutive pieces. A CSV row is a record of encoding/csv with LazyQuotes:
// newlines inside a quoted field belong to the field, and a line that is empty
// ("\n" or "\r\n" where a record would begin) is no record. A JSON Lines row is a
// line with something besides spaces, tabs and carriage returns (and a byte-order
// mark at the very start).
type rowScanner struct {
	csv   bool
	comma byte

	off   int64 // bytes fed so far
	rows  int64
	lines int64
	// recStart is where the current record or line begins; prev is the byte before
	// off (0 at the start).
	recStart int64
	prev     byte
	state    csvState
	content  bool // JSON Lines: the current line has something besides blanks
	bom      int  // JSON Lines: bytes of a byte-order mark at the start so far; -1 past it
}

type csvState uint8

const (
	csvOutside csvState = iota // not in a quoted field
	csvQuoted                  // in a quoted field
	csvQuote                   // in a quoted field, just after a '"'
	csvQuoteCR                 // in a quoted field, just after `"\r`
)

const utf8BOM = "\ufeff"

func newRowScanner(format string) *rowScanner {
	return &rowScanner{csv: format == "csv", comma: ','}
}

// feed scans the next piece of the stream and calls end at every row end in it;
// scanning stops early when end returns false (feed then returns false).
func (s *rowScanner) feed(p []byte, end func(rowEnd) bool) bool {
	if s.csv {
		return s.feedCSV(p, end)
	}
	return s.feedJSONL(p, end)
}

// finish accounts for a last row without a newline and returns the rows of the whole
// stream.
func (s *rowScanner) finish() int64 {
	if s.csv {
		if s.state != csvOutside || s.off-s.recStart > 1 || (s.off-s.recStart == 1 && s.prev != '\r') {
			return s.rows + 1
		}
	} else if s.content || (s.bom > 0 && s.bom < len(utf8BOM)) { // a cut-short mark is text
		return s.rows + 1
	}
	return s.rows
}

func (s *rowScanner) feedJSONL(p []byte, end func(rowEnd) bool) bool {
	base := s.off
	i := 0
	for i < len(p) {
		if !s.content {
			i = s.skipBlanks(p, i)
			if i == len(p) {
				break
			}
			if p[i] != '\n' {
				s.content = true
			}
		}
		nl := bytes.IndexByte(p[i:], '\n')
		if nl < 0 {
			break
		}
		i += nl + 1
		s.lines++
		if s.content {
			s.rows++
		}
		s.content = false
		s.recStart = base + int64(i)
		if !end(rowEnd{offset: s.recStart, rows: s.rows, lines: s.lines}) {
			s.off = s.recStart
			s.prev = '\n'
			return false
		}
	}
	s.off = base + int64(len(p))
	if len(p) > 0 {
		s.prev = p[len(p)-1]
	}
	return true
}

// skipBlanks returns the index of the first byte from p[i] on that is not a blank of
// JSON Lines: a space, tab or carriage return, or the byte-order mark at the start of
// the file (counted in s.bom as it is matched, perhaps over several pieces).
func (s *rowScanner) skipBlanks(p []byte, i int) int {
	for ; i < len(p); i++ {
		at := s.off + int64(i)
		if s.bom >= 0 && at < int64(len(utf8BOM)) && at == int64(s.bom) {
			if p[i] == utf8BOM[at] {
				s.bom++
				continue
			}
			if s.bom > 0 { // the start of a mark, then something else: all of it is text
				s.content = true
				return i
			}
		}
		s.bom = -1
		if c := p[i]; c != ' ' && c != '\t' && c != '\r' {
			return i
		}
	}
	return i
}

func (s *rowScanner) feedCSV(p []byte, end func(rowEnd) bool) bool {
	base := s.off
	// byteBefore is the byte before p[i], which may be in the previous piece.
	byteBefore := func(i int) byte {
		if i > 0 {
			return p[i-1]
		}
		return s.prev
	}
	// newline handles a '\n' at p[i] that ends a line outside quotes: it ends a record
	// unless the line is empty where a record would begin.
	newline := func(i int) bool {
		s.lines++
		at := base + int64(i)
		empty := at == s.recStart || (at == s.recStart+1 && byteBefore(i) == '\r')
		s.recStart = at + 1
		if empty {
			return true
		}
		s.rows++
		return end(rowEnd{offset: at + 1, rows: s.rows, lines: s.lines})
	}
	stop := func(i int) bool {
		s.off = base + int64(i) + 1
		s.prev = p[i]
		return false
	}
	i := 0
	for i < len(p) {
		switch s.state {
		case csvOutside:
			// Only a quote at the start of a field starts a quoted field; elsewhere it
			// is text. So outside quotes, rows end at every newline before the next
			// quote, which IndexByte finds quickly.
			next := len(p)
			if q := bytes.IndexByte(p[i:], '"'); q >= 0 {
				next = i + q
			}
			for j := i; ; {
				nl := bytes.IndexByte(p[j:next], '\n')
				if nl < 0 {
					break
				}
				at := j + nl
				if !newline(at) {
					return stop(at)
				}
				j = at + 1
			}
			if next == len(p) {
				i = next
				continue
			}
			if base+int64(next) == s.recStart || byteBefore(next) == s.comma {
				s.state = csvQuoted
			}
			i = next + 1
		case csvQuoted:
			q := bytes.IndexByte(p[i:], '"')
			if q < 0 {
				s.lines += int64(bytes.Count(p[i:], []byte{'\n'}))
				i = len(p)
				continue
			}
			s.lines += int64(bytes.Count(p[i:i+q], []byte{'\n'}))
			s.state = csvQuote
			i += q + 1
		case csvQuote:
			switch c := p[i]; c {
			case '"': // an escaped quote
				s.state = csvQuoted
			case s.comma:
				s.state = csvOutside
			case '\n':
				s.state = csvOutside
				if !newline(i) {
					return stop(i)
				}
			case '\r':
				s.state = csvQuoteCR
			default: // a stray quote, which LazyQuotes keeps as text
				s.state = csvQuoted
			}
			i++
		case csvQuoteCR:
			switch p[i] {
			case '\n':
				s.state = csvOutside
				if !newline(i) {
					return stop(i)
				}
				i++
			default: // `"\r` then text: the quote and the '\r' are text; look at p[i] again
				s.state = csvQuoted
			}
		}
	}
	s.off = base + int64(len(p))
	if len(p) > 0 {
		s.prev = p[len(p)-1]
	}
	return true
}

// scanBufferSize is how much of a text file the scan reads at a time.
const scanBufferSize = 1 << 20

// scanRows reads r to the end (or until end returns false) and reports every row end.
func scanRows(r io.Reader, format string, end func(rowEnd) bool) (s *rowScanner, err error) {
	s = newRowScanner(format)
	buf := make([]byte, scanBufferSize)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 && !s.feed(buf[:n], end) {
			return s, nil
		}
		switch {
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return s, nil
		case err != nil:
			return s, err
		}
	}
}

// planText splits a CSV or JSON Lines file into shards of about maxRows rows each:
// consecutive byte ranges that each begin where a row begins (for CSV, the first one
// holds the header, which later shards read again). A file that is one shard anyway
// is given as the whole file, with its row count. It reads the file once.
func planText(ctx context.Context, loc Location, in core.BatchInputFile, maxRows int64) ([]core.BatchShard, error) {
	rc, _, err := loc.Bucket.Get(ctx, loc.fileKey(in.Path))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	header := int64(0)
	if in.Format == "csv" {
		header = 1
	}
	var shards []core.BatchShard
	cur := core.BatchShard{File: in.Path, Format: in.Format, FirstLine: 1}
	s, err := scanRows(ctxReader{ctx, rc}, in.Format, func(e rowEnd) bool {
		if rows := e.rows - header - cur.FirstRow; rows >= maxRows {
			cur.ByteEnd, cur.Rows = e.offset, rows
			shards = append(shards, cur)
			cur = core.BatchShard{File: in.Path, Format: in.Format, ByteStart: e.offset, FirstRow: e.rows - header, FirstLine: e.lines + 1}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	rows := s.finish()
	if s.off != in.Size {
		return nil, fmt.Errorf("the file is %d bytes now, but %d when the job was planned; submit the job again", s.off, in.Size)
	}
	if len(shards) == 0 { // one shard: the whole file
		return []core.BatchShard{{File: in.Path, Format: in.Format, Rows: max(rows-header, 0)}}, nil
	}
	if last := rows - header - cur.FirstRow; last > 0 {
		cur.ByteEnd, cur.Rows = in.Size, last
		shards = append(shards, cur)
	} else if cur.ByteStart < in.Size { // blank lines after the last row: the last shard reads them too
		shards[len(shards)-1].ByteEnd = in.Size
	}
	return shards, nil
}

// openText streams a CSV or JSON Lines shard: the whole file, or its byte range. A
// CSV range other than the first is read after the file's header, so that its columns
// have their names. It sets opts.LineOffset so that messages name lines of the file.
func openText(ctx context.Context, b blob.Bucket, key string, shard core.BatchShard, opts *tabular.ReadOptions) (io.ReadCloser, error) {
	if shard.ByteEnd == 0 {
		rc, _, err := b.Get(ctx, key)
		return rc, err
	}
	rr, ok := b.(blob.RangeReader)
	if !ok {
		return nil, errors.New("the store cannot read parts of files, which a shard of a large file needs")
	}
	var header []byte
	var headerLines int64
	if shard.Format == "csv" && shard.ByteStart > 0 {
		var err error
		if header, headerLines, err = readCSVHeader(ctx, rr, key, shard.ByteStart); err != nil {
			return nil, err
		}
	}
	body, err := rr.GetRange(ctx, key, shard.ByteStart, shard.ByteEnd-shard.ByteStart)
	if err != nil {
		return nil, err
	}
	opts.LineOffset = shard.FirstLine - 1 - headerLines
	if header == nil {
		return body, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(header), body), body}, nil
}

// readCSVHeader returns the bytes of a CSV file's header record (with any empty lines
// before it) and the lines they hold; the header ends before limit.
func readCSVHeader(ctx context.Context, rr blob.RangeReader, key string, limit int64) ([]byte, int64, error) {
	rc, err := rr.GetRange(ctx, key, 0, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	var (
		buf   bytes.Buffer
		found *rowEnd
	)
	s := newRowScanner("csv")
	piece := make([]byte, 64<<10)
	for found == nil {
		n, err := ctxReader{ctx, rc}.Read(piece)
		buf.Write(piece[:n])
		s.feed(piece[:n], func(e rowEnd) bool {
			found = &e
			return false
		})
		if found != nil {
			break
		}
		if err == io.EOF {
			return nil, 0, fmt.Errorf("the header of %s does not end in its first %d bytes, where the plan said it would: was the file replaced?", key, limit)
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return buf.Bytes()[:found.offset], found.lines, nil
}
