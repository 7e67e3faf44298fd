package storetest

import (
	"testing"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/store"
)

// Shards of dead workers (store.BatchStore.ListStaleBatchShards).
var batchStaleTests = []testCase{
	{"ListStale", testBatchListStale},
}

// testBatchListStale: only RUNNING shards of active jobs whose heartbeat is older than
// the cut-off are listed, oldest heartbeat first; a fresh heartbeat, a done shard or a
// cancelled job keeps a shard off the list.
func testBatchListStale(t *testing.T, s store.Store) {
	a := bjCreate(t, s, core.BatchJob{Key: "stale-a"}, 4)
	b := bjCreate(t, s, core.BatchJob{Key: "stale-b"}, 2)
	bjClaim(t, s, a.ID, 0, "w1", bjT0+100, bjT0, "") // heartbeat at +100
	bjClaim(t, s, a.ID, 1, "w2", bjT0+50, bjT0, "")  // +50: the oldest
	bjClaim(t, s, a.ID, 2, "w1", bjT0+900, bjT0, "") // fresh
	bjClaim(t, s, a.ID, 3, "w3", bjT0+60, bjT0, "")
	bjComplete(t, s, bjDone(a.ID, 3, "w3", 10), 3) // done: never stale
	bjClaim(t, s, b.ID, 0, "w4", bjT0+10, bjT0, "")
	if _, err := s.CancelBatchJob(t.Context(), b.ID, bjT0+20); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListStaleBatchShards(t.Context(), bjT0+500, 10)
	must(t, err, "ListStaleBatchShards")
	if len(got) != 2 || got[0].Index != 1 || got[1].Index != 0 || got[0].JobID != a.ID || got[0].Worker != "w2" || got[0].Attempts != 1 {
		t.Fatalf("stale shards %+v; want shards 1 then 0 of job %s", got, a.ID)
	}
	if got, err := s.ListStaleBatchShards(t.Context(), bjT0+500, 1); err != nil || len(got) != 1 {
		t.Fatalf("max 1: %d shards, %v", len(got), err)
	}
}
