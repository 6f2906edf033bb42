package poll

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	looks := 0
	if err := Until(time.Minute, func() (bool, error) { looks++; return looks == 3, nil }); err != nil || looks != 3 {
		t.Errorf("a condition met at the third look: %v after %d looks", err, looks)
	}
	last := errors.New("still there")
	err := Until(0, func() (bool, error) { return false, last })
	if !errors.Is(err, last) || !strings.HasPrefix(err.Error(), "after 0s: ") {
		t.Errorf("a condition never met: %v, want cond's last error after the timeout", err)
	}
	if err := Until(0, func() (bool, error) { return false, nil }); err == nil || err.Error() != "after 0s: condition not met" {
		t.Errorf("a condition never met, without an error: %v", err)
	}
}
