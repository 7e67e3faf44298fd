// Package web embeds the built UI (web/dist, made by `npm run build`, which `make build`
// runs when the sources changed) and serves it: index.html at "/" and the hashed files
// under /assets/. A binary built before the UI answers "/" with how to build it.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether the binary carries the UI.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler serves the UI; mount it at "GET /{$}" and "GET /assets/".
func Handler() http.Handler {
	files, _ := fs.Sub(dist, "dist") // "dist" is a literal directory of the embed
	return handler(files)
}

// handler serves the UI from files (the built dist folder).
func handler(files fs.FS) http.Handler {
	static := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			// Vite puts a content hash in every asset's name: a name never changes meaning.
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			static.ServeHTTP(w, r)
			return
		}
		index, err := fs.ReadFile(files, "index.html")
		if err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("This plinth binary was built without its web UI. Build it with `make build` " +
				"(needs Node.js and npm), or use the API and the mlflow client, which work without it.\n"))
			return
		}
		// index.html names the current assets, so it must be fetched again after an upgrade.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
}
