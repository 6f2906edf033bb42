// Package progress draws a progress bar, "[=====>    ] 512/1000 sites,
// 85/s", on a terminal for runs that last over a second; shorter runs and
// other writers see nothing.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bar is a progress bar over a known number of items.
type Bar struct {
	w       io.Writer
	total   int
	done    atomic.Int64
	start   time.Time
	stop    chan struct{}
	stopped sync.WaitGroup
	drawn   atomic.Bool
}

// delay is how long a run goes before the bar shows; every is how often
// it is redrawn then.
var delay, every = time.Second, 200 * time.Millisecond

// New starts a bar over total items on w; disabled, it only counts.
func New(w io.Writer, total int, enabled bool) *Bar {
	b := &Bar{w: w, total: total, start: time.Now(), stop: make(chan struct{})}
	if !enabled {
		return b
	}
	b.stopped.Go(func() {
		wait := time.NewTimer(delay)
		defer wait.Stop()
		select {
		case <-b.stop:
			return
		case <-wait.C:
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			b.draw()
			select {
			case <-b.stop:
				return
			case <-tick.C:
			}
		}
	})
	return b
}

// Inc counts one item done. Safe for concurrent use.
func (b *Bar) Inc() { b.done.Add(1) }

func (b *Bar) draw() {
	done := int(b.done.Load())
	const width = 30
	filled := width * done / max(b.total, 1)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	rate := float64(done) / time.Since(b.start).Seconds()
	fmt.Fprintf(b.w, "\r\x1b[K[%s] %d/%d sites, %.0f/s", bar, done, b.total, rate)
	b.drawn.Store(true)
}

// Finish stops drawing and clears the line it drew on.
func (b *Bar) Finish() {
	close(b.stop)
	b.stopped.Wait()
	if b.drawn.Load() {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}

// IsTerminal says whether w is a terminal a bar may be drawn on: a
// character device, with TERM not dumb.
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && !strings.Contains(os.Getenv("TERM"), "dumb")
}

// Colour decides a --color flag for output to w: auto colours a terminal
// unless NO_COLOR is set (https://no-color.org), always and never say so.
func Colour(mode string, w any) (bool, error) {
	switch mode {
	case "auto":
		return IsTerminal(w) && os.Getenv("NO_COLOR") == "", nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, fmt.Errorf("unknown --color %q (want auto, always or never)", mode)
}
