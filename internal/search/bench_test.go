package search

import "testing"

func BenchmarkParseRunFilter(b *testing.B) {
	const in = "metrics.rmse < 0.5 AND params.model = 'xgboost' AND tags.`team name` LIKE 'vision%' " +
		"AND attributes.status = 'FINISHED' AND run_id IN ('a1b2', 'c3d4', 'e5f6') AND created > 1700000000000"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRunFilter(in); err != nil {
			b.Fatal(err)
		}
	}
}
