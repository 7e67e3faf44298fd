package serving

import (
	"math"
	"strings"
	"sync"
	"time"

	"github.com/plinth-ml/plinth/internal/predlog"
	"github.com/plinth-ml/plinth/internal/serving/protocol"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// Activity is what this process answered for one endpoint lately: per-minute counts and
// latency percentiles, and the last prediction rows. It lives in memory only, is kept
// per process, and starts empty when the process (or the endpoint) starts.
type Activity struct {
	Buckets []ActivityBucket // minutes that had requests, oldest first
	Recent  []predlog.Record // the last RecentRows rows answered, newest first
}

// ActivityBucket is one minute of prediction requests.
type ActivityBucket struct {
	Time     time.Time // start of the minute, UTC
	Requests int64     // prediction requests answered (MLflow /invocations and OIP infer)
	Rows     int64     // rows predicted by the requests answered with 200
	Errors   int64     // requests answered with a status other than 200
	// P50, P90 and P99 are latency percentiles of the minute's requests, estimated from
	// a histogram: see the error bound at histPerOctave.
	P50, P90, P99 time.Duration
}

const (
	// ActivityMinutes is how far back the per-minute ring reaches (24 h).
	ActivityMinutes = 1440
	// RecentRows is how many of an endpoint's last prediction rows are kept.
	RecentRows = 50
)

// The latency histogram of a minute: bin 0 is [0, 50 µs), bins 1…histLogBins are
// log-spaced, histPerOctave per doubling from 50 µs to 50 µs·2^(81/4) ≈ 62 s, and the
// last bin holds anything slower. A percentile is interpolated within the bin holding the
// sample of its rank (geometrically, linearly in bin 0), then clamped to the minute's
// fastest and slowest request, which are kept exactly. So it is off from the exact
// nearest-rank percentile by less than one bin width: under 2^(1/4)−1 ≈ 19% of the value
// from 50 µs to 62 s (a few percent typically), under 50 µs below 50 µs, and exact when
// the rank is the first or last (one request in the minute; p99 of fewer than 100).
// 83 uint32 bins make 332 bytes per minute; a full 24 h ring is about half a megabyte per
// endpoint, and the minutes of the ring are allocated as they are first used.
const (
	histPerOctave = 4
	histMin       = 50 * time.Microsecond
	histLogBins   = 81 // ceil(4·log2(60 s / 50 µs))
	histBins      = histLogBins + 2
)

// histBin is the bin of a latency.
func histBin(d time.Duration) int {
	if d < histMin {
		return 0
	}
	i := 1 + int(histPerOctave*math.Log2(float64(d)/float64(histMin)))
	return min(i, histBins-1)
}

// histEdge is the lower edge of log bin i (1 ≤ i ≤ histLogBins+1).
func histEdge(i int) float64 {
	return float64(histMin) * math.Exp2(float64(i-1)/histPerOctave)
}

// minuteSlot counts one minute of an endpoint's requests.
type minuteSlot struct {
	minute           int64 // minutes since the Unix epoch
	requests, errors int64
	rows             int64
	fastest, slowest time.Duration
	hist             [histBins]uint32
}

// percentile estimates the q-quantile (0 < q ≤ 1) of the minute's latencies: the
// nearest-rank sample's bin, interpolated by the rank's place among the bin's samples.
func (s *minuteSlot) percentile(q float64) time.Duration {
	if s.requests == 0 {
		return 0
	}
	rank := math.Ceil(q * float64(s.requests)) // 1-based rank of the sample
	switch {
	case rank <= 1:
		return s.fastest
	case rank >= float64(s.requests):
		return s.slowest
	}
	var before float64
	for i, n := range s.hist {
		if n == 0 || before+float64(n) < rank {
			before += float64(n)
			continue
		}
		f := (rank - before - 0.5) / float64(n) // the rank's place in the bin, in (0, 1)
		est := s.slowest                        // the last bin has no upper edge
		switch {
		case i == 0:
			est = time.Duration(f * float64(histMin))
		case i < histBins-1:
			est = time.Duration(histEdge(i) * math.Exp2(f/histPerOctave))
		}
		return min(max(est, s.fastest), s.slowest)
	}
	return s.slowest
}

// activity records an endpoint's requests for Activity. Each request takes its mutex
// once, briefly, and makes no text for it: the recent rows keep the prediction log's
// texts when the request was logged, and otherwise the request's table (encoded only
// when read), or for a large request the texts of its last rows (see observeUnlogged).
type activity struct {
	mu     sync.Mutex
	slots  [ActivityMinutes]*minuteSlot // by minute modulo ActivityMinutes
	recent [RecentRows]recentRow        // a ring: next is the oldest once full
	next   int
	held   int
}

// recentRow is one of the recent rows: a record, whose texts are made from src (when
// set) on reading.
type recentRow struct {
	rec predlog.Record
	src *rowSource
}

// rowSource is a request that was not logged, kept to write its rows' texts on reading.
type rowSource struct {
	in, out *tabular.Table
	text    *protocol.RowText // the request's own text of in, or nil
}

// recentPinBytes bounds the request a recent row may keep alive: a logged request's
// texts, or an unlogged request's body; the rows of a larger one get texts of their own.
const recentPinBytes = 16 << 10

func unixMinute(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 59) / 60
	}
	return s / 60
}

// observe counts one request that arrived at t (its minute is its arrival's, as in the
// prediction log); rows counts only for status 200. recs are the request's last rows,
// complete with their texts (at most RecentRows of them count).
func (a *activity) observe(t time.Time, status, rows int, latency time.Duration, recs []predlog.Record) {
	minute, bin := unixMinute(t), histBin(latency)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range recs[len(recs)-recentTail(len(recs)):] {
		r.SubjectID = "" // not shown
		a.push(recentRow{rec: r})
	}
	a.count(minute, bin, status, rows, latency)
}

// observeUnlogged is observe of a request the prediction log did not write (sampled out,
// or no log): base is its record without row or texts, in and out its tables (nil when
// it has none), text the request's own text of in, size its body's length (−1: unknown).
func (a *activity) observeUnlogged(t time.Time, status int, latency time.Duration, base predlog.Record, in, out *tabular.Table, text *protocol.RowText, size int64) {
	rows := 0
	if in != nil {
		rows = in.Rows()
	}
	if rows == 0 {
		a.observe(t, status, 0, latency, []predlog.Record{base})
		return
	}
	if size < 0 || size > recentPinBytes {
		a.observe(t, status, rows, latency, recentRecords(base, in, out, text))
		return
	}
	src := &rowSource{in: in, out: out, text: text}
	minute, bin := unixMinute(t), histBin(latency)
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := rows - recentTail(rows); i < rows; i++ {
		r := recentRow{rec: base, src: src}
		r.rec.Row = int32(i)
		a.push(r)
	}
	a.count(minute, bin, status, rows, latency)
}

// push adds a row to the recent rows; a.mu is held.
func (a *activity) push(r recentRow) {
	a.recent[a.next] = r
	a.next = (a.next + 1) % RecentRows
	a.held = min(a.held+1, RecentRows)
}

// count adds a request to its minute; a.mu is held.
func (a *activity) count(minute int64, bin, status, rows int, latency time.Duration) {
	i := slotOf(minute)
	s := a.slots[i]
	switch {
	case s == nil:
		s = &minuteSlot{}
		a.slots[i] = s
		fallthrough
	case s.minute < minute: // new, or the slot held a minute 24 h older: start it again
		*s = minuteSlot{minute: minute, fastest: latency, slowest: latency}
	case s.minute > minute: // a request that took longer than the ring is long
		return
	}
	s.requests++
	if status != 200 {
		s.errors++
	} else {
		s.rows += int64(rows)
	}
	s.fastest, s.slowest = min(s.fastest, latency), max(s.slowest, latency)
	s.hist[bin]++
}

// slotOf is the ring index of a minute.
func slotOf(minute int64) int {
	return int((minute%ActivityMinutes + ActivityMinutes) % ActivityMinutes)
}

// snapshot is the activity of the last minutes minutes up to now (the current minute
// and the minutes−1 before it).
func (a *activity) snapshot(now time.Time, minutes int) Activity {
	minutes = min(max(minutes, 1), ActivityMinutes)
	last := unixMinute(now)
	first := last - int64(minutes) + 1
	var slots []minuteSlot
	a.mu.Lock()
	for m := first; m <= last; m++ {
		if s := a.slots[slotOf(m)]; s != nil && s.minute == m && s.requests > 0 {
			slots = append(slots, *s)
		}
	}
	recent := make([]recentRow, a.held)
	for i := range recent {
		recent[i] = a.recent[(a.next-1-i+2*RecentRows)%RecentRows]
	}
	a.mu.Unlock()
	out := Activity{Buckets: make([]ActivityBucket, len(slots)), Recent: make([]predlog.Record, len(recent))}
	for i := range slots {
		s := &slots[i]
		out.Buckets[i] = ActivityBucket{
			Time: time.Unix(s.minute*60, 0).UTC(), Requests: s.requests, Rows: s.rows, Errors: s.errors,
			P50: s.percentile(0.50), P90: s.percentile(0.90), P99: s.percentile(0.99),
		}
	}
	for i, r := range recent {
		out.Recent[i] = r.rec
		if r.src != nil {
			out.Recent[i].Inputs, out.Recent[i].Outputs = r.src.texts(int(r.rec.Row))
		}
	}
	return out
}

// texts are the log's texts of row i of the request.
func (s *rowSource) texts(i int) (inputs, outputs string) {
	ends := make([]int, 1)
	if i < s.in.Rows() {
		if s.text != nil {
			inputs = string(s.text.AppendRowsFrom(nil, i, ends))
		} else {
			inputs = string(tabular.AppendRowsJSON(nil, tailRows(s.in, i), ends))
		}
	}
	if s.out != nil && i < s.out.Rows() {
		outputs = string(tabular.AppendRowsJSON(nil, tailRows(s.out, i), ends))
	}
	return inputs, outputs
}

// Activity reports what this process answered for the endpoint in the last minutes
// minutes (1…ActivityMinutes) and its last rows; ok is false for an endpoint it does not
// serve.
func (m *Manager) Activity(name string, minutes int) (Activity, bool) {
	e := m.lookup(name)
	if e == nil {
		return Activity{}, false
	}
	return e.act.snapshot(time.Now(), minutes), true
}

// recentTail is how many of a request's rows go to its endpoint's recent rows.
func recentTail(rows int) int { return min(rows, RecentRows) }

// keepRecent is the last rows of logged records for the recent rows: as they are when
// the request's texts (which they are slices of) are small, else with copies of their
// own texts, so that they keep no large request alive.
func keepRecent(recs []predlog.Record, textBytes int) []predlog.Record {
	recs = recs[len(recs)-recentTail(len(recs)):]
	if textBytes <= recentPinBytes {
		return recs
	}
	out := make([]predlog.Record, len(recs))
	for i, r := range recs {
		r.Inputs, r.Outputs, r.SubjectID = strings.Clone(r.Inputs), strings.Clone(r.Outputs), ""
		out[i] = r
	}
	return out
}

// recentRecords makes the records of a request's last rows that the prediction log did
// not write (sampled out, or no log), encoding only those rows.
func recentRecords(base predlog.Record, in, out *tabular.Table, text *protocol.RowText) []predlog.Record {
	rows := 1
	if in != nil && in.Rows() > 0 {
		rows = in.Rows()
	}
	n := recentTail(rows)
	from := rows - n
	recs := make([]predlog.Record, n)
	for i := range recs {
		recs[i] = base
		recs[i].Row = int32(from + i)
	}
	if in != nil && in.Rows() > 0 {
		ends := make([]int, n)
		var buf []byte
		if text != nil {
			buf = text.AppendRowsFrom(nil, from, ends)
		} else {
			buf = tabular.AppendRowsJSON(nil, tailRows(in, from), ends)
		}
		s, start := string(buf), 0
		for i := range recs {
			recs[i].Inputs, start = s[start:ends[i]], ends[i]
		}
	}
	if out != nil && out.Rows() > from {
		k := min(out.Rows()-from, n)
		ends := make([]int, k)
		s, start := string(tabular.AppendRowsJSON(nil, tailRows(out, from), ends)), 0
		for i := range ends {
			recs[i].Outputs, start = s[start:ends[i]], ends[i]
		}
	}
	return recs
}

// tailRows is a view of t from row from on (sharing its slices).
func tailRows(t *tabular.Table, from int) *tabular.Table {
	if from == 0 {
		return t
	}
	v := &tabular.Table{Columns: make([]tabular.Column, len(t.Columns))}
	for j := range t.Columns {
		c := &t.Columns[j]
		d := tabular.Column{Name: c.Name, Type: c.Type}
		switch c.Type {
		case tabular.Int64:
			d.Ints = c.Ints[from:]
		case tabular.Bool:
			d.Bools = c.Bools[from:]
		case tabular.String:
			d.Strings = c.Strings[from:]
		default:
			d.Floats = c.Floats[from:]
		}
		if c.Null != nil {
			d.Null = c.Null[from:]
		}
		v.Columns[j] = d
	}
	return v
}
