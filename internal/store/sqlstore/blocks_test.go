package sqlstore

import (
	"math"
	"reflect"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

func TestBlockRoundTrip(t *testing.T) {
	t.Parallel()
	ms := []core.Metric{
		{Key: "k", Step: 0, Timestamp: 1, Value: 0.5},
		{Key: "k", Step: -7, Timestamp: math.MaxInt64, Value: math.Inf(1)},
		{Key: "k", Step: math.MinInt64, Timestamp: 0, Value: math.Inf(-1), ModelID: "m-1"},
		{Key: "k", Step: 3, Timestamp: 3, Value: -0.0, DatasetName: "train", DatasetDigest: "d1g35t"},
		{Key: "k", Step: 4, Timestamp: 4, Value: math.NaN()},
	}
	got, err := decodeBlock(nil, encodeBlock(ms), "run", "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ms) {
		t.Fatalf("%d points back, want %d", len(got), len(ms))
	}
	for i := range ms {
		want := ms[i]
		want.RunID = "run"
		g := got[i]
		if math.Float64bits(g.Value) != math.Float64bits(want.Value) {
			t.Fatalf("point %d value %v, want %v", i, g.Value, want.Value)
		}
		g.Value, want.Value = 0, 0
		if !reflect.DeepEqual(g, want) {
			t.Fatalf("point %d = %+v, want %+v", i, g, want)
		}
	}
	for _, bad := range [][]byte{nil, {2}, {blockVersion, 1, 2}, append(encodeBlock(ms[2:3])[:27], 0xff)} {
		if _, err := decodeBlock(nil, bad, "r", "k"); err == nil {
			t.Errorf("corrupt block %x accepted", bad)
		}
	}
}

func TestSortHistoryDropsExactRepeats(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	in := []core.Metric{
		{Step: 2, Timestamp: 1, Value: 5},
		{Step: 1, Timestamp: 9, Value: nan, ModelID: "first"},
		{Step: 1, Timestamp: 9, Value: nan, ModelID: "second"}, // repeat of a NaN point
		{Step: 1, Timestamp: 9, Value: 3},
		{Step: 2, Timestamp: 1, Value: 5, ModelID: "later"}, // repeat: the first logged stays
		{Step: 1, Timestamp: 2, Value: 7},
	}
	got := sortHistory(in)
	want := []struct {
		step, ts int64
		nan      bool
		v        float64
		model    string
	}{{1, 2, false, 7, ""}, {1, 9, false, 3, ""}, {1, 9, true, 0, "first"}, {2, 1, false, 5, ""}}
	if len(got) != len(want) {
		t.Fatalf("got %d points: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Step != w.step || g.Timestamp != w.ts || math.IsNaN(g.Value) != w.nan || (!w.nan && g.Value != w.v) || g.ModelID != w.model {
			t.Fatalf("point %d = %+v, want %+v", i, g, w)
		}
	}
}

// FuzzDecodeBlock: a stored block is read back by the server; whatever the bytes, decoding
// must not panic, and a block that decodes must encode back to the same bytes.
func FuzzDecodeBlock(f *testing.F) {
	f.Add(encodeBlock([]core.Metric{{Step: 1, Timestamp: 2, Value: 3}, {Step: 4, Value: math.NaN(), ModelID: "m"}}))
	f.Add([]byte{blockVersion})
	f.Add([]byte{blockVersion, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := decodeBlock(nil, b, "r", "k")
		if err != nil {
			return
		}
		if again := encodeBlock(ms); !reflect.DeepEqual(again, b) {
			// Flags other than pointHasRefs are ignored on read, so only canonical blocks round-trip.
			if canonical, _ := decodeBlock(nil, again, "r", "k"); len(canonical) != len(ms) {
				t.Fatalf("re-encoding changed the points: %x -> %x", b, again)
			}
		}
	})
}

// decodeBlock decodes a block into metrics (through history, as the store reads them).
func decodeBlock(out []core.Metric, b []byte, runID, key string) ([]core.Metric, error) {
	var h history
	err := h.decode(b)
	return append(out, h.metrics(0, len(h.pts), runID, key)...), err
}

// sortHistory runs history.sort over metrics.
func sortHistory(ms []core.Metric) []core.Metric {
	if len(ms) == 0 {
		return ms
	}
	var h history
	for _, m := range ms {
		p := point{Step: m.Step, Timestamp: m.Timestamp, Value: m.Value}
		if m.ModelID != "" || m.DatasetName != "" || m.DatasetDigest != "" {
			h.refs = append(h.refs, pointRef{m.ModelID, m.DatasetName, m.DatasetDigest})
			p.ref = int32(len(h.refs))
		}
		h.pts = append(h.pts, p)
	}
	h.sort()
	return append(ms[:0], h.metrics(0, len(h.pts), ms[0].RunID, ms[0].Key)...)
}
