// Command bash stands in for /bin/bash in the test rke-tools image: RKE names /bin/bash as the
// service-sidekick entrypoint and in some helper commands, and busybox has no bash applet.
// It runs busybox's POSIX shell with the same arguments (no bash extensions).
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	args := append([]string{"sh"}, os.Args[1:]...)
	err := syscall.Exec("/bin/busybox", args, os.Environ())
	fmt.Fprintf(os.Stderr, "bash: cannot run /bin/busybox sh: %v\n", err)
	os.Exit(127)
}
