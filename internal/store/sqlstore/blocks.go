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

// decodeBlock appends the points of a block to out.
func decodeBlock(out []core.Metric, b []byte, runID, key string) ([]core.Metric, error) {
	if len(b) == 0 || b[0] != blockVersion {
		return out, errBadBlock
	}
	b = b[1:]
	for len(b) > 0 {
		if len(b) < 25 {
			return out, errBadBlock
		}
		m := core.Metric{
			RunID:     runID,
			Key:       key,
			Step:      int64(binary.LittleEndian.Uint64(b)),
			Timestamp: int64(binary.LittleEndian.Uint64(b[8:])),
			Value:     math.Float64frombits(binary.LittleEndian.Uint64(b[16:])),
		}
		flags := b[24]
		b = b[25:]
		if flags&pointHasRefs != 0 {
			for _, dst := range []*string{&m.ModelID, &m.DatasetName, &m.DatasetDigest} {
				n, k := binary.Uvarint(b)
				if k <= 0 || uint64(len(b)-k) < n {
					return out, errBadBlock
				}
				*dst = string(b[k : k+int(n)])
				b = b[k+int(n):]
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// sortHistory sorts points and drops exact repeats (same step, timestamp and value, NaN
// equal to NaN), keeping the first logged, as MLflow does when a point is sent twice.
func sortHistory(ms []core.Metric) []core.Metric {
	slices.SortStableFunc(ms, func(a, b core.Metric) int {
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
	})
	out := ms[:0]
	for i, m := range ms {
		if i > 0 {
			p := out[len(out)-1]
			if p.Step == m.Step && p.Timestamp == m.Timestamp &&
				(p.Value == m.Value || (math.IsNaN(p.Value) && math.IsNaN(m.Value))) {
				continue
			}
		}
		out = append(out, m)
	}
	return out
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
