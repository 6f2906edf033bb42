package progress

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the drawing goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDraw(t *testing.T) {
	var w syncBuffer
	b := New(&w, 4, false)
	b.Inc()
	b.Inc()
	b.draw()
	got := w.String()
	if !regexp.MustCompile(`^\r\x1b\[K\[={15}> {14}\] 2/4 sites, \d+/s$`).MatchString(got) {
		t.Errorf("half-way bar: %q", got)
	}
	for range 2 {
		b.Inc()
	}
	b.draw()
	if !strings.Contains(w.String(), "["+strings.Repeat("=", 30)+"] 4/4 sites") {
		t.Errorf("full bar: %q", w.String())
	}
	b.Finish()
	if !strings.HasSuffix(w.String(), "\r\x1b[K") {
		t.Errorf("Finish does not clear the line: %q", w.String())
	}
}

// TestQuiet: a disabled bar, and a short run, draw nothing at all.
func TestQuiet(t *testing.T) {
	var w syncBuffer
	off := New(&w, 10, false)
	off.Inc()
	off.Finish()
	short := New(&w, 10, true)
	short.Inc()
	short.Finish()
	if w.String() != "" {
		t.Errorf("drew %q", w.String())
	}
}

// TestLongRun: once a run lasts longer than the delay, the bar shows, and
// Finish clears it.
func TestLongRun(t *testing.T) {
	defer func(d, e time.Duration) { delay, every = d, e }(delay, every)
	delay, every = time.Millisecond, time.Millisecond
	var w syncBuffer
	b := New(&w, 3, true)
	b.Inc()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.String(), "1/3 sites") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.Finish()
	got := w.String()
	if !strings.Contains(got, "1/3 sites") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("long run drew %q", got)
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	if IsTerminal(nil) {
		t.Error("nil is a terminal")
	}
}

func TestColour(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	var b bytes.Buffer
	for _, tc := range []struct {
		mode string
		want bool
		err  bool
	}{{"auto", false, false}, {"always", true, false}, {"never", false, false}, {"sometimes", false, true}} {
		got, err := Colour(tc.mode, &b) // a buffer is no terminal
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Colour(%q) = %v, %v", tc.mode, got, err)
		}
	}
}
