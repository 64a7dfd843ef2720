// Command kube is a TEST DOUBLE for the Kubernetes binaries of RKE's hyperkube image
// (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy) and for
// rke-tools' cri-dockerd, one multi-call binary chosen by argv[0] or its first argument. It does none of Kubernetes' work;
// it checks what the real binaries would refuse and serves what RKE and its tests probe:
//   - every flag must be one the real v1.28 binary lists in --help (flags/*.txt, compiled in):
//     otherwise "Error: unknown flag: --foo" and exit 1, as cobra/pflag print it;
//   - every file a flag names is opened and must parse; certificates must match their key,
//     chain to their CA, carry the usage, SANs, CN and O that component needs on this host;
//   - each component serves its real health endpoint on its real port (see its file).
package main

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed flags/*.txt
var flagLists embed.FS

type component func(flags *Flags) error

var components = map[string]component{
	"kube-apiserver":          runAPIServer,
	"kube-controller-manager": runControllerManager,
	"kube-scheduler":          runScheduler,
	"kubelet":                 runKubelet,
	"kube-proxy":              runKubeProxy,
	"cri-dockerd":             runCRIDockerd,
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if _, ok := components[name]; !ok && len(args) > 0 {
		name, args = args[0], args[1:] // hyperkube style: `kube kubelet --flag=...`
	}
	run, ok := components[name]
	if !ok {
		names := make([]string, 0, len(components))
		for n := range components {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "Error: unknown command %q; one of: %s\n", name, strings.Join(names, ", "))
		os.Exit(1)
	}
	flags, err := parseFlags(name, args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		fmt.Fprintf(os.Stderr, "Usage:\n  %s [flags]\n", name)
		os.Exit(1)
	}
	logf("%s (pyrke test stand-in for v1.28) starting with %d flags", name, len(args))
	if err := run(flags); err != nil {
		// klog's fatal style: one line saying what failed, then exit 1
		fmt.Fprintf(os.Stderr, "E %s: %v\n", name, err)
		os.Exit(1)
	}
}

// Flags are the parsed command-line flags of one component.
type Flags struct {
	binary string
	values map[string]string
}

// parseFlags accepts what pflag accepts for these binaries: --name=value, --name value, a bare
// --name (a boolean), and -v=N. An approximation: without the real flag types, a bare flag
// followed by a word takes that word as its value. Names outside the real list are refused.
func parseFlags(binary string, args []string) (*Flags, error) {
	data, err := flagLists.ReadFile("flags/" + binary + ".txt")
	if err != nil {
		return nil, fmt.Errorf("no flag list for %s: %v", binary, err)
	}
	known := map[string]bool{"v": true, "h": true, "help": true}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "--") {
			known[strings.TrimPrefix(line, "--")] = true
		}
	}
	flags := &Flags{binary: binary, values: map[string]string{}}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
			return nil, fmt.Errorf("%q does not take any arguments, got %q", binary, args[i:])
		}
		body := strings.TrimLeft(arg, "-")
		name, value, hasValue := strings.Cut(body, "=")
		if !known[name] {
			if strings.HasPrefix(arg, "--") {
				return nil, fmt.Errorf("unknown flag: --%s", name)
			}
			return nil, fmt.Errorf("unknown shorthand flag: %q in %s", name[:1], arg)
		}
		if !hasValue {
			value = "true"
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				value = args[i+1]
				i++
			}
		}
		flags.values[name] = value
	}
	return flags, nil
}

// Get is the flag's value, or def when it was not given.
func (f *Flags) Get(name, def string) string {
	if value, ok := f.values[name]; ok {
		return value
	}
	return def
}

// Has says whether the flag was given.
func (f *Flags) Has(name string) bool {
	_, ok := f.values[name]
	return ok
}

// Bool is a boolean flag's value (pflag's parsing: true/false/1/0).
func (f *Flags) Bool(name string, def bool) bool {
	switch strings.ToLower(f.Get(name, "")) {
	case "true", "1", "t":
		return true
	case "false", "0", "f":
		return false
	}
	return def
}

// Require returns the flag's value or an error naming the flag, as the real binaries refuse
// to start without, e.g., --etcd-servers.
func (f *Flags) Require(name string) (string, error) {
	value := f.Get(name, "")
	if value == "" {
		return "", fmt.Errorf("--%s must be specified", name)
	}
	return value, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "I "+format+"\n", args...)
}
