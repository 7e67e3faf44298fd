// Package s3server gives tests a real S3-compatible server: an external one
// named by PLINTH_TEST_S3_ENDPOINT, or a versitygw process started on a free
// loopback port and stopped when the test ends.
package s3server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Environment variables that select an external server or make a missing
// versitygw binary a failure rather than a skip.
const (
	EnvEndpoint  = "PLINTH_TEST_S3_ENDPOINT"
	EnvAccessKey = "PLINTH_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "PLINTH_TEST_S3_SECRET_KEY"
	EnvRegion    = "PLINTH_TEST_S3_REGION"
	EnvRequire   = "PLINTH_REQUIRE_S3"
	EnvBinary    = "PLINTH_VERSITYGW" // explicit path to the versitygw binary
)

// Server is a running S3-compatible endpoint with a fresh, empty bucket.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	Region    string
	AccessKey string
	SecretKey string
	Bucket    string
}

// Start returns a server with a new bucket. Without an external server and
// without a versitygw binary it skips the test, or fails it when
// PLINTH_REQUIRE_S3=1.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Endpoint:  os.Getenv(EnvEndpoint),
		Region:    os.Getenv(EnvRegion),
		AccessKey: os.Getenv(EnvAccessKey),
		SecretKey: os.Getenv(EnvSecretKey),
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	if s.Endpoint == "" {
		bin := FindBinary()
		if bin == "" {
			msg := "versitygw not found ($PLINTH_VERSITYGW, PATH, $GOPATH/bin, /tmp/gobin); scripts/install-versitygw.sh installs it"
			if os.Getenv(EnvRequire) == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		s.AccessKey, s.SecretKey = "plinthtest", "plinthtestsecret"
		s.Endpoint = startVersity(t, bin, s.AccessKey, s.SecretKey)
	}
	s.Bucket = "plinth-test-" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.Bucket}); err != nil {
		t.Fatalf("create bucket %s at %s: %v", s.Bucket, s.Endpoint, err)
	}
	return s
}

// Client returns an SDK client for the server, path-style, static credentials.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(s.Endpoint),
		Region:                     s.Region,
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// FindBinary looks for versitygw in $PLINTH_VERSITYGW, on PATH, in each
// GOPATH's bin and in /tmp/gobin; it returns "" when there is none.
func FindBinary() string {
	if p := os.Getenv(EnvBinary); p != "" {
		if isExecutable(p) {
			return p
		}
		return ""
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	dirs = append(dirs, "/tmp/gobin")
	for _, d := range dirs {
		if p := filepath.Join(d, "versitygw"); isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// startVersity runs versitygw over a temporary folder and waits until it
// accepts connections. A port taken between probe and bind is retried.
func startVersity(t testing.TB, bin, access, secret string) string {
	t.Helper()
	root := t.TempDir()
	var lastErr error
	for range 3 {
		addr, err := freePort()
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		cmd := exec.Command(bin, "--access", access, "--secret", secret, "--port", addr, "--quiet", "posix", root)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		setDeathSignal(cmd)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if lastErr = waitListening(addr, exited, 20*time.Second); lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			return "http://" + addr
		}
		_ = cmd.Process.Kill()
		<-exited
		lastErr = fmt.Errorf("%w; output:\n%s", lastErr, out.String())
	}
	t.Fatalf("versitygw did not start: %v", lastErr)
	return ""
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(addr string, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited early: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timed out waiting for versitygw to listen on " + addr)
}

// syncBuffer collects process output written from the exec goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
