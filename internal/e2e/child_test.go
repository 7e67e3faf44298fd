package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Generous waits: the machine is slow and shared, and the children run with -race.
const (
	startTimeout = 90 * time.Second // until /health answers
	stopTimeout  = 90 * time.Second // SIGTERM: HTTP shutdown plus the log's last upload
)

// proc is a plinth child process listening on a known loopback port.
type proc struct {
	t       *testing.T
	name    string
	URL     string // http://127.0.0.1:PORT
	logPath string // its stdout and stderr
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has been waited for
}

// startProc runs `plinth args… --port P` with env added to this process's
// environment and waits until it answers GET /health. A port taken between the
// probe and the child's bind is retried with another.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	var last *proc
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		p := launch(t, fmt.Sprintf("%s-%d", name, attempt), port, env, args)
		err = p.waitHealthy(startTimeout)
		if err == nil {
			return p
		}
		last = p
		if p.exited() && strings.Contains(p.logTail(4096), "address already in use") {
			continue
		}
		t.Fatalf("%s did not become healthy: %v\n%s", p.name, err, p.logTail(16<<10))
	}
	t.Fatalf("%s: no free port after 3 attempts\n%s", name, last.logTail(16<<10))
	return nil
}

func launch(t *testing.T, name string, port int, env, args []string) *proc {
	t.Helper()
	full := append(append([]string{}, args...), "--port", strconv.Itoa(port))
	encoded, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), env...), childEnv+"="+string(encoded))
	cmd.Dir = t.TempDir() // defaults such as ./plinth-data never land in the source tree
	cmd.Stdout, cmd.Stderr = out, out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{t: t, name: name, URL: "http://127.0.0.1:" + strconv.Itoa(port), logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if tail := p.logTail(1 << 20); strings.Contains(tail, "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race (the children run with the race detector when the test does)", p.name)
		}
		if t.Failed() {
			t.Logf("--- output of %s (%s) ---\n%s", p.name, strings.Join(full, " "), p.logTail(32<<10))
		}
	})
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) waitHealthy(timeout time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("exited early (%s)", p.cmd.ProcessState)
		}
		if res, err := c.Get(p.URL + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timed out waiting for GET /health == 200")
}

// Stop sends SIGTERM and waits for a clean exit (status 0), which includes the
// prediction log's final upload.
func (p *proc) Stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.exited() {
		p.t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("%s did not exit within %s of SIGTERM\n%s", p.name, stopTimeout, p.logTail(16<<10))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("%s exited with status %d after SIGTERM (%s)\n%s", p.name, code, p.cmd.ProcessState, p.logTail(16<<10))
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *proc) Kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !p.exited() {
		p.t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// logTail returns the last limit bytes of the child's output.
func (p *proc) logTail(limit int64) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return "(no output: " + err.Error() + ")"
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	off := max(st.Size()-limit, 0)
	buf := make([]byte, st.Size()-off)
	n, _ := f.ReadAt(buf, off)
	s := string(buf[:n])
	if off > 0 {
		s = "…" + s
	}
	return s
}
