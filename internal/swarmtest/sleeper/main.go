// Command sleeper stands in for every image of a site the Swarm tests
// deploy with deploy.sh, where no image can be pulled: it runs until the
// task is stopped, so that each service converges, and ignores its
// arguments (the compose files give each image its own command; the
// image holds sleeper at each entrypoint path they name).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
