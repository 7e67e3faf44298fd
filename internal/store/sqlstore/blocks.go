package sqlstore

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"github.com/plinth-ml/plinth/internal/core"
)

// Metric points are stored in blocks: one row per metric key per logged batch, holding
// every point of that key in the batch. A batch of 1,000 points over 10 keys is 10 rows
// rather than 1,000, which is what makes ingest fast on SQLite (each row costs a B-tree
// insert) and keeps a 100,000-step history a few hundred rows to read.
//
// A block is a version byte, then per point: step, timestamp (int64) and value (float64
// bits, so NaN and ±Inf are exact), all little-endian, a flags byte, and when flag 1 is
// set the model id, dataset name and dataset digest as uvarint-length-prefixed strings.
const blockVersion = 1

const pointHasRefs = 1

func encodeBlock(ms []core.Metric) []byte {
	b := make([]byte, 0, 1+len(ms)*25)
	b = append(b, blockVersion)
	for _, m := range ms {
		b = binary.LittleEndian.AppendUint64(b, uint64(m.Step))
		b = binary.LittleEndian.AppendUint64(b, uint64(m.Timestamp))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Value))
		if m.ModelID == "" && m.DatasetName == "" && m.DatasetDigest == "" {
			b = append(b, 0)
			continue
		}
		b = append(b, pointHasRefs)
		for _, s := range []string{m.ModelID, m.DatasetName, m.DatasetDigest} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

var errBadBlock = errors.New("corrupt metric block")

// history is one metric's points as read from its blocks, kept compact until they are
// answered: a 100,000-step history is 3.2 MB of pointer-free points (nothing for the
// garbage collector to scan) instead of 12 MB of core.Metric, and a sampled read
// materialises only the points it keeps. The rare model and dataset references live on
// the side.
type history struct {
	pts  []point
	refs []pointRef
}

type point struct {
	Step, Timestamp int64
	Value           float64
	ref             int32 // 1 + index into history.refs; 0 when the point has none
}

type pointRef struct{ ModelID, DatasetName, DatasetDigest string }

// decode appends the points of a block.
func (h *history) decode(b []byte) error {
	if len(b) == 0 || b[0] != blockVersion {
		return errBadBlock
	}
	b = b[1:]
	h.pts = slices.Grow(h.pts, len(b)/25)
	for len(b) > 0 {
		if len(b) < 25 {
			return errBadBlock
		}
		p := point{
			Step:      int64(binary.LittleEndian.Uint64(b)),
			Timestamp: int64(binary.LittleEndian.Uint64(b[8:])),
			Value:     math.Float64frombits(binary.LittleEndian.Uint64(b[16:])),
		}
		flags := b[24]
		b = b[25:]
		if flags&pointHasRefs != 0 {
			var r pointRef
			for _, dst := range []*string{&r.ModelID, &r.DatasetName, &r.DatasetDigest} {
				n, k := binary.Uvarint(b)
				if k <= 0 || uint64(len(b)-k) < n {
					return errBadBlock
				}
				*dst = string(b[k : k+int(n)])
				b = b[k+int(n):]
			}
			h.refs = append(h.refs, r)
			p.ref = int32(len(h.refs))
		}
		h.pts = append(h.pts, p)
	}
	return nil
}

// metric is point i as a core.Metric of run and key.
func (h *history) metric(i int, runID, key string) core.Metric {
	p := &h.pts[i]
	m := core.Metric{RunID: runID, Key: key, Step: p.Step, Timestamp: p.Timestamp, Value: p.Value}
	if p.ref > 0 {
		r := &h.refs[p.ref-1]
		m.ModelID, m.DatasetName, m.DatasetDigest = r.ModelID, r.DatasetName, r.DatasetDigest
	}
	return m
}

// metrics materialises points [from, to).
func (h *history) metrics(from, to int, runID, key string) []core.Metric {
	ms := make([]core.Metric, 0, to-from)
	for i := from; i < to; i++ {
		ms = append(ms, h.metric(i, runID, key))
	}
	return ms
}

// comparePoints orders by step, then timestamp, then value with NaN last.
func comparePoints(a, b point) int {
	if c := cmp.Compare(a.Step, b.Step); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Timestamp, b.Timestamp); c != 0 {
		return c
	}
	an, bn := math.IsNaN(a.Value), math.IsNaN(b.Value)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a.Value, b.Value)
}

// sort orders the points and drops exact repeats (same step, timestamp and value, NaN
// equal to NaN), keeping the first logged, as MLflow does when a point is sent twice.
// Histories are usually logged in order, so the sort is skipped when it has nothing to do.
func (h *history) sort() {
	if !slices.IsSortedFunc(h.pts, comparePoints) {
		slices.SortStableFunc(h.pts, comparePoints)
	}
	out := h.pts[:0]
	for i, p := range h.pts {
		if i > 0 && comparePoints(out[len(out)-1], p) == 0 {
			continue
		}
		out = append(out, p)
	}
	h.pts = out
}

// keepSteps drops the points outside [lo, hi].
func (h *history) keepSteps(lo, hi int64) {
	in := h.pts[:0]
	for _, p := range h.pts {
		if p.Step >= lo && p.Step <= hi {
			in = append(in, p)
		}
	}
	h.pts = in
}

// blockRow is one metric_blocks row to insert.
type blockRow struct {
	key              string
	minStep, maxStep int64
	points           []byte
}

// blocksOf groups a batch's points by key, in the order the keys first appear.
func blocksOf(ms []core.Metric) []blockRow {
	index := map[string]int{}
	var groups [][]core.Metric
	var keys []string
	for _, m := range ms {
		i, ok := index[m.Key]
		if !ok {
			i = len(groups)
			index[m.Key] = i
			groups = append(groups, nil)
			keys = append(keys, m.Key)
		}
		groups[i] = append(groups[i], m)
	}
	rows := make([]blockRow, len(groups))
	for i, g := range groups {
		lo, hi := g[0].Step, g[0].Step
		for _, m := range g[1:] {
			lo, hi = min(lo, m.Step), max(hi, m.Step)
		}
		rows[i] = blockRow{key: keys[i], minStep: lo, maxStep: hi, points: encodeBlock(g)}
	}
	return rows
}
