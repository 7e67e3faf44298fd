//go:build unix

package predlog

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-ml/plinth/internal/blob"
)

// Environment of the child of TestKill9: its WAL folder and its bucket folder.
const (
	crashChildEnv    = "PLINTH_PREDLOG_CRASH_CHILD_WAL"
	crashChildBucket = "PLINTH_PREDLOG_CRASH_CHILD_BUCKET"
)

// TestCrashChild is not a test: run by TestKill9 as a child process, it appends and
// uploads until it is killed, printing "ok <id>" after each Append returns.
func TestCrashChild(t *testing.T) {
	walDir, bucketDir := os.Getenv(crashChildEnv), os.Getenv(crashChildBucket)
	if walDir == "" || bucketDir == "" {
		t.Skip("helper process of TestKill9")
	}
	b, err := blob.NewLocal(bucketDir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(Options{Dir: walDir, Bucket: b, SegmentBytes: 8 << 10, FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l.Start(context.Background())
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%07d", g, i)
				if err := l.Append(requestRecords(id, fmt.Sprintf("ep-%d", g%2), 1+i%3, time.Now())); err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				out.Lock()
				os.Stdout.WriteString("ok " + id + "\n") // one write(2) per line
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestKill9 kills a process that appends and uploads with SIGKILL, then checks that
// the next process uploads every request the child had seen Append accept, exactly
// once.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	e := newEnv(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+e.dir, crashChildBucket+"="+e.root)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	enough := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil { // EOF: the child is dead; a line without its newline does not count
				return
			}
			if id, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "ok "); ok {
				acked[id] = true
				if len(acked) == 2000 {
					close(enough)
				}
			}
		}
	}()
	select {
	case <-enough:
	case <-time.After(30 * time.Second):
	}
	time.Sleep(20 * time.Millisecond) // let some uploads be in flight
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-readDone
	cmd.Wait()
	if len(acked) < 100 {
		t.Fatalf("the child acknowledged only %d appends", len(acked))
	}
	uploadedBefore := len(e.keys(t))

	l := e.open(t, nil)
	l.Start(t.Context())
	mustFlush(t, l)
	rows := map[string]map[int32]int{}
	for _, r := range e.readAll(t) {
		if rows[r.RequestID] == nil {
			rows[r.RequestID] = map[int32]int{}
		}
		rows[r.RequestID][r.Row]++
	}
	for id, byRow := range rows {
		i, err := strconv.Atoi(id[3:])
		if err != nil {
			t.Fatalf("request id %q", id)
		}
		if len(byRow) != 1+i%3 {
			t.Errorf("%s: %d rows, want %d (an Append is all or nothing)", id, len(byRow), 1+i%3)
		}
		for row, n := range byRow {
			if n != 1 {
				t.Errorf("%s row %d logged %d times", id, row, n)
			}
		}
	}
	for id := range acked {
		if rows[id] == nil {
			t.Errorf("%s: acknowledged by Append but missing from the log", id)
		}
	}
	t.Logf("child acknowledged %d requests, the log holds %d (objects before restart: %d, after: %d)",
		len(acked), len(rows), uploadedBefore, len(e.keys(t)))
}
