package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
	"github.com/plinth-ml/plinth/internal/store/sqlstore"
)

// versionTagsMigration is the migration that put each version's tags on its row.
const versionTagsMigration = "0007_"

// CheckVersionTagsBackfill migrates db with the migrations before the tags column,
// writes versions with tags the old way (the tag table only), then opens the store,
// which applies the rest: a search must return every version's tags, sorted by key.
func CheckVersionTagsBackfill(t *testing.T, db *sql.DB, migrations fs.FS, open func() store.Store) {
	t.Helper()
	ctx := context.Background()
	old := fstest.MapFS{}
	files, err := fs.Glob(migrations, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f >= versionTagsMigration {
			continue
		}
		body, err := fs.ReadFile(migrations, f)
		if err != nil {
			t.Fatal(err)
		}
		old[f] = &fstest.MapFile{Data: body}
	}
	if _, err := sqlstore.Migrate(ctx, db, old, ""); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO registered_models (name, creation_time, last_update_time, last_version) VALUES ('m', 1, 1, 3)`,
		`INSERT INTO model_versions (name, version, creation_time, last_update_time, source, storage_location)
			VALUES ('m', 1, 1, 1, 's', 's'), ('m', 2, 2, 2, 's', 's'), ('m', 3, 3, 3, 's', 's')`,
		// Upper case sorts before lower case by bytes, after it in most locales.
		`INSERT INTO model_version_tags (name, version, key, value) VALUES ('m', 1, 'b', '2'), ('m', 1, 'a', 'one "quoted"'),
			('m', 1, 'Z', 'é'), ('m', 3, 'team', 'x')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s := open()
	f, err := search.ParseModelVersionFilter("name = 'm'")
	if err != nil {
		t.Fatal(err)
	}
	mvs, _, err := s.SearchModelVersions(ctx, store.RegistrySearch{Filter: f, MaxResults: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, mv := range mvs {
		got[mv.Version] = tagText(mv.Tags)
	}
	want := map[int64]string{1: `Z=é a=one "quoted" b=2`, 2: "", 3: "team=x"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tags after the migration: %v, want %v", got, want)
	}
}

func tagText(tags []core.Tag) string {
	parts := make([]string, len(tags))
	for i, tg := range tags {
		parts[i] = tg.Key + "=" + tg.Value
	}
	return strings.Join(parts, " ")
}
