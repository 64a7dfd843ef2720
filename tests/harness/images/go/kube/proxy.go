// kube-proxy TEST DOUBLE. Checks at start: the flags; --kubeconfig with every file it names
// (client certificate matching its key, chaining to its CA, CN=system:kube-proxy);
// --cluster-cidr parses. Then, as the real kube-proxy: it lists Services through the
// kubeconfig's server every 5 s (in place of syncing proxy rules), and serves
// http://--healthz-bind-address/healthz (default 0.0.0.0:10256; an address without a port gets
// 10256) with the real JSON body: 200 once the API answered within the last 60 s, 503 before.
package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

func runKubeProxy(flags *Flags) error {
	var kubeconfig *Kubeconfig
	err := checkAll(
		func() (err error) {
			path, err := flags.Require("kubeconfig")
			if err == nil {
				kubeconfig, err = loadKubeconfig(path)
			}
			if err == nil {
				err = kubeconfig.Client.Subject("system:kube-proxy", "")
			}
			return withFlag("kubeconfig", err)
		},
		func() error {
			if cidr := flags.Get("cluster-cidr", ""); cidr != "" {
				if _, _, err := net.ParseCIDR(cidr); err != nil {
					return withFlag("cluster-cidr", err)
				}
			}
			return nil
		},
	)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var lastSync time.Time
	client := kubeconfig.HTTP()
	every(5*time.Second, func() {
		if reach(client, kubeconfig.Server+"/api/v1/services") == nil {
			mu.Lock()
			lastSync = time.Now()
			mu.Unlock()
		}
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last := lastSync
		mu.Unlock()
		code := http.StatusOK
		if last.IsZero() || time.Since(last) > 60*time.Second {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]string{
			"lastUpdated": last.UTC().Format(time.RFC3339Nano), "currentTime": time.Now().UTC().Format(time.RFC3339Nano),
		})
	})
	addr := flags.Get("healthz-bind-address", "0.0.0.0:10256")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "10256")
	}
	return serveHTTP(addr, mux)
}
