// Command pause is a TEST DOUBLE for the pod infrastructure image (rancher/mirrored-pause):
// like the real /pause it does nothing but wait, and exits 0 on SIGTERM or SIGINT.
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
