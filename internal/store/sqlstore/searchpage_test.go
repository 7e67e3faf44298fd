package sqlstore

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
)

// packKeyValues is what packedKeyValues builds in PostgreSQL, for the tests.
func packKeyValues(kvs ...string) (string, int64) {
	var entries []string
	for i := 0; i+1 < len(kvs); i += 2 {
		entries = append(entries, kvs[i]+sepUnit+kvs[i+1])
	}
	return strings.Join(entries, sepRecord), int64(len(entries))
}

// packNumbers is the numbers of metrics as pageMetricsQuery packs them.
func packNumbers(ms ...core.Metric) []byte {
	var b []byte
	for _, m := range ms {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(m.Value))
		b = binary.BigEndian.AppendUint64(b, uint64(m.Timestamp))
		b = binary.BigEndian.AppendUint64(b, uint64(m.Step))
	}
	return b
}

func TestUnpackKeyValues(t *testing.T) {
	t.Parallel()
	packed := func(kvs ...string) string { p, _ := packKeyValues(kvs...); return p }
	for _, tc := range []struct {
		name   string
		packed string
		n      int64
		want   []core.Param
		err    error
	}{
		{"nothing", "", 0, nil, nil},
		{"one", packed("lr", "0.1"), 1, []core.Param{{Key: "lr", Value: "0.1"}}, nil},
		{"empty key and value", packed("", ""), 1, []core.Param{{Key: "", Value: ""}}, nil},
		{"multibyte and controls", packed("日本", "é\n\x01"), 1, []core.Param{{Key: "日本", Value: "é\n\x01"}}, nil},
		{"several", packed("a", "1", "b", "", "", "3"), 3,
			[]core.Param{{Key: "a", Value: "1"}, {Key: "b", Value: ""}, {Key: "", Value: "3"}}, nil},
		{"unit separator in a value", packed("a", "x"+sepUnit+"y"), 1, nil, errSeparatorInside},
		{"record separator in a key", packed("a"+sepRecord+"b", "v"), 1, nil, errSeparatorInside},
		// Both separators inside one value look like a second entry: the count tells.
		{"an entry inside a value", packed("a", "1"+sepRecord+"b"+sepUnit+"2"), 1, nil, errSeparatorInside},
		{"fewer entries than counted", packed("a", "1"), 2, nil, errSeparatorInside},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := unpackKeyValues[core.Param](tc.packed, tc.n)
			if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestUnpackMetrics(t *testing.T) {
	t.Parallel()
	want := []core.Metric{
		{Key: "loss", Value: 0.25, Timestamp: 1700000000000, Step: 7, RunID: "run1"},
		{Key: "nan", Value: math.NaN(), Timestamp: 5, Step: -1, RunID: "run1"},
		{Key: "", Value: math.Inf(-1), Timestamp: math.MinInt64, Step: math.MaxInt64, RunID: "run1"},
		{Key: "日本", Value: math.Copysign(0, -1), RunID: "run1"},
	}
	keys := "loss" + sepRecord + "nan" + sepRecord + sepRecord + "日本"
	got, err := unpackMetrics(keys, packNumbers(want...), 4, "run1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d metrics, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if math.Float64bits(g.Value) != math.Float64bits(w.Value) {
			t.Errorf("metric %d value %v, want %v", i, g.Value, w.Value)
		}
		g.Value, w.Value = 0, 0
		if g != w {
			t.Errorf("metric %d: %+v, want %+v", i, g, w)
		}
	}
	if got, err := unpackMetrics("", nil, 0, "r"); got != nil || err != nil {
		t.Errorf("no metrics: %v %v", got, err)
	}
	if _, err := unpackMetrics("a"+sepRecord+"b", packNumbers(want[:2]...), 2, "r"); err != nil {
		t.Errorf("two metrics: %v", err)
	}
	if _, err := unpackMetrics("a"+sepRecord+"b", packNumbers(want[:2]...), 1, "r"); err == nil {
		t.Error("numbers of 2 metrics for a count of 1: no error")
	}
	if _, err := unpackMetrics("a"+sepRecord+"b", packNumbers(want[:1]...), 1, "r"); !errors.Is(err, errSeparatorInside) {
		t.Errorf("a key with a separator: %v", err)
	}
	if _, err := unpackMetrics("a", packNumbers(want[:2]...)[:30], 1, "r"); err == nil {
		t.Error("cut numbers: no error")
	}
}

// FuzzUnpack feeds arbitrary input to the unpackers: an error is fine, a panic or more
// entries than counted is not.
func FuzzUnpack(f *testing.F) {
	p, n := packKeyValues("a", "b", "cc", "")
	f.Add(p, n, []byte{})
	f.Add("k", int64(1), packNumbers(core.Metric{Value: 1, Timestamp: 2, Step: 3}))
	f.Add(sepRecord+sepUnit, int64(-3), []byte{1, 2})
	f.Fuzz(func(t *testing.T, p string, n int64, numbers []byte) {
		if n < -1 || n > int64(len(p))+1 {
			n %= int64(len(p)) + 2 // n comes from count(*): never far from the entries
		}
		if kvs, err := unpackKeyValues[core.Tag](p, n); err == nil && int64(len(kvs)) != max(n, 0) {
			t.Fatalf("%d entries for a count of %d", len(kvs), n)
		}
		if ms, err := unpackMetrics(p, numbers, n, "r"); err == nil && int64(len(ms)) != max(n, 0) {
			t.Fatalf("%d metrics for a count of %d", len(ms), n)
		}
	})
}
