package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// LimitBody caps r.Body at n bytes (n <= 0 leaves it alone). Reading past the
// cap fails with an error for which IsTooLarge is true.
func LimitBody(w http.ResponseWriter, r *http.Request, n int64) {
	if n > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, n)
	}
}

// ReadLimited reads the whole body of r, at most n bytes. A declared length within
// the cap sizes the buffer once instead of growing it while reading.
func ReadLimited(w http.ResponseWriter, r *http.Request, n int64) ([]byte, error) {
	LimitBody(w, r, n)
	if r.ContentLength > 0 && (n <= 0 || r.ContentLength <= n) {
		var buf bytes.Buffer
		buf.Grow(int(r.ContentLength) + 1) // +1 so ReadFrom sees EOF without growing
		_, err := buf.ReadFrom(r.Body)
		return buf.Bytes(), err
	}
	return io.ReadAll(r.Body)
}

// IsTooLarge reports whether err comes from a body that exceeded its limit.
func IsTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
