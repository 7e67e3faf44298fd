package blobtest

import (
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// newGenerator returns n deterministic pseudo-random bytes, produced on the
// fly so a test can stream far more than it holds in memory.
func newGenerator(n int64) io.Reader {
	var seed [32]byte
	copy(seed[:], "plinth blob conformance stream!!")
	return io.LimitReader(rand.NewChaCha8(seed), n)
}

// memWatch samples the heap while a transfer runs and reports the peak growth.
type memWatch struct {
	base uint64
	peak uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func startMemWatch() *memWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &memWatch{base: ms.HeapAlloc, done: make(chan struct{})}
	w.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			w.peak = max(w.peak, ms.HeapAlloc)
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
		}
	})
	return w
}

// stop ends sampling and returns the peak heap growth in bytes.
func (w *memWatch) stop() uint64 {
	close(w.done)
	w.wg.Wait()
	if w.peak < w.base {
		return 0
	}
	return w.peak - w.base
}
