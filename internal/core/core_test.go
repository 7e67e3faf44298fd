package core

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	t.Parallel()
	app := Errorf(ENOTFOUND, "Run with id=%s not found", "abc")
	wrapped := fmt.Errorf("loading: %w", app)
	for _, tt := range []struct {
		err        error
		code, text string
	}{
		{nil, "", ""},
		{app, ENOTFOUND, "Run with id=abc not found"},
		{wrapped, ENOTFOUND, "Run with id=abc not found"},
		{errors.New("pq: connection reset"), EINTERNAL, "internal error"}, // internals never leak
	} {
		if got := ErrorCode(tt.err); got != tt.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.code)
		}
		if got := ErrorMessage(tt.err); got != tt.text {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.text)
		}
	}
}

func TestActor(t *testing.T) {
	t.Parallel()
	if got := ActorFrom(context.Background()); got != Anonymous {
		t.Fatalf("no actor: %q", got)
	}
	if got := ActorFrom(WithActor(context.Background(), "ada")); got != "ada" {
		t.Fatalf("actor: %q", got)
	}
	if got := ActorFrom(WithActor(context.Background(), "")); got != Anonymous {
		t.Fatalf("empty actor: %q", got)
	}
}

func TestRandomRunName(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[a-z]+-[a-z]+-\d{1,3}$`)
	for range 50 {
		if n := RandomRunName(); !re.MatchString(n) {
			t.Fatalf("run name %q", n)
		}
	}
}
