package e2e

import (
	"context"
	"path"
	"strings"
	"testing"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/predlog"
)

// loggedRecord is one prediction-log record with the object it was read from.
type loggedRecord struct {
	predlog.Record
	Key string
}

// replica is the writer's replica id in the object's file name (REPLICA-NNN.parquet).
func (r loggedRecord) replica() string {
	name := strings.TrimSuffix(path.Base(r.Key), ".parquet")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		return name[:i]
	}
	return name
}

// readPredictions reads every prediction-log object in the bucket at location, as an
// analyst would, and returns the records and the number of objects.
func readPredictions(t *testing.T, location string, opts blob.S3Options) ([]loggedRecord, int) {
	t.Helper()
	ctx := context.Background()
	b, err := blob.Open(ctx, location, opts)
	if err != nil {
		t.Fatalf("open predictions %s: %v", location, err)
	}
	defer b.Close()
	keys, err := predlog.ListObjects(ctx, b, "")
	if err != nil {
		t.Fatalf("list predictions in %s: %v", location, err)
	}
	var out []loggedRecord
	for _, k := range keys {
		recs, err := predlog.ReadObject(ctx, b, k)
		if err != nil {
			t.Fatalf("read %s in %s: %v", k, location, err)
		}
		for _, r := range recs {
			out = append(out, loggedRecord{Record: r, Key: k})
		}
	}
	return out, len(keys)
}

// recordKey identifies one logged row: a request's row answered by one role.
type recordKey struct {
	id   string
	row  int32
	role string
}

// byRequest indexes records by request, row and role, and reports every such key
// that was logged more than once.
func byRequest(t *testing.T, recs []loggedRecord) map[recordKey][]loggedRecord {
	t.Helper()
	idx := make(map[recordKey][]loggedRecord, len(recs))
	for _, r := range recs {
		k := recordKey{r.RequestID, r.Row, r.Role}
		idx[k] = append(idx[k], r)
	}
	dups := 0
	for k, rs := range idx {
		if len(rs) > 1 {
			if dups < 10 {
				t.Errorf("request %s row %d (%s) is logged %d times, in %s", k.id, k.row, k.role, len(rs), keysOf(rs))
			}
			dups++
		}
	}
	if dups > 0 {
		t.Errorf("%d logged rows appear more than once", dups)
	}
	return idx
}

func keysOf(rs []loggedRecord) string {
	ks := make([]string, len(rs))
	for i, r := range rs {
		ks[i] = r.Key
	}
	return strings.Join(ks, ", ")
}
