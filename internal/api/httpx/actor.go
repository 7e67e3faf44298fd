package httpx

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// ActorOf names the caller of r from its Authorization header: the user name
// of Basic credentials, "token:<12 hex of sha256(token)>" for a Bearer token
// (there is no token store yet, so the token's digest stands for its owner),
// else core.Anonymous. Credentials are not verified here.
func ActorOf(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok && user != "" {
		return user
	}
	auth := r.Header.Get("Authorization")
	if scheme, tok, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			sum := sha256.Sum256([]byte(tok))
			return "token:" + hex.EncodeToString(sum[:])[:12]
		}
	}
	return core.Anonymous
}

// Actor puts the caller's name in the request context with core.WithActor.
func Actor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(core.WithActor(r.Context(), ActorOf(r))))
	})
}
