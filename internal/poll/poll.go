// Package poll waits for a condition of the end-to-end tests' daemons:
// a task running, a network gone, a node ready.
package poll

import (
	"errors"
	"fmt"
	"time"
)

// Interval is how long Until sleeps between two looks.
const Interval = 500 * time.Millisecond

// Until calls cond every Interval until it holds or timeout passes; the
// error then wraps cond's last one.
func Until(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("condition not met")
			}
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(Interval)
	}
}
