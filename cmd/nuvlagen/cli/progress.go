package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws "[=====>    ] 512/1000 sites, 85/s" on a terminal for
// runs that last over a second; shorter runs and non-terminals see nothing.
type progress struct {
	w       io.Writer
	total   int
	done    atomic.Int64
	start   time.Time
	stop    chan struct{}
	stopped sync.WaitGroup
	drawn   atomic.Bool
}

// newProgress starts a progress bar; disabled, it only counts.
func newProgress(w io.Writer, total int, enabled bool) *progress {
	p := &progress{w: w, total: total, start: time.Now(), stop: make(chan struct{})}
	if !enabled {
		return p
	}
	p.stopped.Add(1)
	go func() {
		defer p.stopped.Done()
		delay := time.NewTimer(time.Second)
		defer delay.Stop()
		select {
		case <-p.stop:
			return
		case <-delay.C:
		}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			p.draw()
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *progress) inc() { p.done.Add(1) }

func (p *progress) draw() {
	done := int(p.done.Load())
	const width = 30
	filled := width * done / max(p.total, 1)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	rate := float64(done) / time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "\r\x1b[K[%s] %d/%d sites, %.0f/s", bar, done, p.total, rate)
	p.drawn.Store(true)
}

// finish stops drawing and clears the line it drew on.
func (p *progress) finish() {
	close(p.stop)
	p.stopped.Wait()
	if p.drawn.Load() {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
