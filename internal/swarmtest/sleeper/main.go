// Command sleeper stands in for every image of a site the Swarm tests
// deploy with deploy.sh, where no image can be pulled: it runs until the
// task is stopped, so that each service converges, and ignores its
// arguments (the compose files give each image its own command; the
// image holds sleeper at each entrypoint path they name). With
// SLEEPER_EXIT_AFTER set to a duration (an image's ENV), it fails after
// that long instead: a task that starts and exits, as a crashing service's.
package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var exit <-chan time.Time
	if d, err := time.ParseDuration(os.Getenv("SLEEPER_EXIT_AFTER")); err == nil {
		exit = time.After(d)
	}
	select {
	case <-stop:
	case <-exit:
		os.Exit(1)
	}
}
