// Package netns dials from a network namespace other than the test's,
// for the tests that send real packets between namespaces of their own
// (generator/scripts' Docker TLS test, internal/clustertest).
package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Path is where `ip netns add NAME` puts namespace NAME.
func Path(name string) string { return "/var/run/netns/" + name }

// Dialer dials from the network namespace at path (a Path, or a
// process's /proc/PID/ns/net): the socket is made on a thread moved into
// it, which is never given back to other goroutines.
func Dialer(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			// Left locked: the thread ends with this goroutine.
			runtime.LockOSThread()
			f, err := os.Open(path)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, fmt.Errorf("setns %s: %w", path, err)}
				return
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			ch <- result{c, err}
		}()
		res := <-ch
		return res.c, res.err
	}
}
