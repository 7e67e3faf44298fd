package sqlstore

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plinth-ml/plinth/internal/core"
)

func TestDecodeVersionTags(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{{"a", "1"}, {"b\"q", "back\\slash"}, {"<&>", "é ü \u2028 \t\n"}, {"", ""}, {"z", "\x01"}}
	body, err := json.Marshal(pairs)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		string(body),
		`[["a", "1"], ["b\"q", "back\\slash"], ["<&>", "é ü \u2028 \t\n"], ["", ""], ["z", "\u0001"]]`, // PostgreSQL's spacing
		` [ [ "a" , "1" ] ,["b\"q","back\\slash"],["\u003c\u0026\u003e","\u00e9 \u00fc \u2028 \t\n"],["",""],["z","\u0001"]] `,
	} {
		got, err := decodeVersionTags(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		want := []core.Tag{{Key: "", Value: ""}, {Key: "<&>", Value: "é ü \u2028 \t\n"}, {Key: "a", Value: "1"},
			{Key: "b\"q", Value: "back\\slash"}, {Key: "z", Value: "\x01"}}
		if !slices.Equal(got, want) {
			t.Fatalf("%s:\n got %q\nwant %q", text, got, want)
		}
	}
	if got, err := decodeVersionTags("[]"); err != nil || got != nil {
		t.Fatalf("[] = %v, %v", got, err)
	}
	for _, bad := range []string{"", "[", "[[]]", `[["a"]]`, `[["a","b","c"]]`, `[["a","b"]`, `[["a","b"]]x`, `[["a,"b"]]`, `[["a\"]]`, "null", `[[1,"b"]]`} {
		if got, err := decodeVersionTags(bad); err == nil {
			t.Errorf("%q = %v, want an error", bad, got)
		}
	}
}

// Whatever the parser accepts, encoding/json reads the same way.
func FuzzDecodeVersionTags(f *testing.F) {
	f.Add(`[["a","1"],["b\"","\u00e9"]]`)
	f.Add(`[ ["k" , "v"] ]`)
	f.Fuzz(func(t *testing.T, text string) {
		got, err := decodeVersionTags(text)
		if err != nil || !utf8.ValidString(text) || strings.ContainsFunc(text, func(r rune) bool { return r < 0x20 && r != ' ' && r != '\t' && r != '\n' && r != '\r' }) {
			return
		}
		var pairs [][2]string
		if err := json.Unmarshal([]byte(text), &pairs); err != nil {
			t.Fatalf("%q: parsed as %v, but encoding/json says %v", text, got, err)
		}
		want := make([]core.Tag, len(pairs))
		for i, p := range pairs {
			want[i] = core.Tag{Key: p[0], Value: p[1]}
		}
		byKeyValue := func(a, b core.Tag) int {
			return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Value, b.Value))
		}
		slices.SortFunc(want, byKeyValue)
		slices.SortFunc(got, byKeyValue) // equal keys may come in any order
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("%q: parsed %q, encoding/json %q", text, got, want)
		}
	})
}
