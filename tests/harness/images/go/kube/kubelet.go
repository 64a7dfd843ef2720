// kubelet TEST DOUBLE. Checks at start: the flags; --kubeconfig with every file it names (client
// certificate matching its key, chaining to its CA, O=system:nodes); --client-ca-file;
// --tls-cert-file/--tls-private-key-file when given (chaining to the client CA, valid for this
// host's addresses); --root-dir is created; the CRI socket of --container-runtime-endpoint
// must accept connections within 30 s (rke-tools' entrypoint starts cri-dockerd). Then, as the
// real kubelet: http://--healthz-bind-address:--healthz-port/healthz (127.0.0.1:10248), the
// kubelet API on --address:--port (10250, HTTPS, --tls-cert-file or self-signed, client
// certificates from --client-ca-file, 401 without one when --anonymous-auth=false); it
// registers its Node (POST /api/v1/nodes through the kubeconfig's server, named
// --hostname-override or the host name, with --node-ip or this host's address, the
// --node-labels and --register-with-taints) and reports its status every 10 s
// (--node-status-update-frequency's default) with PATCH .../status.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
)

func runKubelet(flags *Flags) error {
	var kubeconfig *Kubeconfig
	var clientCA *CA
	err := checkAll(
		func() (err error) {
			path, err := flags.Require("kubeconfig")
			if err == nil {
				kubeconfig, err = loadKubeconfig(path)
			}
			if err == nil {
				err = kubeconfig.Client.Subject("", "system:nodes")
			}
			return withFlag("kubeconfig", err)
		},
		func() (err error) {
			if flags.Has("client-ca-file") {
				clientCA, err = readCA(flags.Get("client-ca-file", ""))
			}
			return withFlag("client-ca-file", err)
		},
		func() error {
			if flags.Has("cloud-config") {
				return withFlag("cloud-config", readNonEmpty(flags.Get("cloud-config", "")))
			}
			return nil
		},
		func() error {
			return withFlag("root-dir", os.MkdirAll(flags.Get("root-dir", "/var/lib/kubelet"), 0o750))
		},
	)
	if err != nil {
		return err
	}
	cert, err := servingCertificate(flags, "kubelet")
	if err != nil {
		return err
	}
	if endpoint := flags.Get("container-runtime-endpoint", ""); endpoint != "" {
		if err := waitRuntime(endpoint, 30*time.Second); err != nil {
			return err
		}
	}
	hostname, _ := os.Hostname()
	name := strings.ToLower(flags.Get("hostname-override", hostname))
	nodeIP := flags.Get("node-ip", "")
	if nodeIP == "" {
		if addrs := hostAddresses(); len(addrs) > 0 {
			nodeIP = addrs[0]
		}
	}
	go registerAndReport(kubeconfig, flags, name, nodeIP)
	healthz := http.NewServeMux()
	healthz.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	go func() {
		addr := net.JoinHostPort(flags.Get("address", "0.0.0.0"), flags.Get("port", "10250"))
		api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) && !flags.Bool("anonymous-auth", true) {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			healthz.ServeHTTP(w, r)
		})
		if err := serveTLS(addr, cert, clientCA, api); err != nil {
			fmt.Fprintf(os.Stderr, "E kubelet: %v\n", err)
			os.Exit(1)
		}
	}()
	addr := net.JoinHostPort(flags.Get("healthz-bind-address", "127.0.0.1"), flags.Get("healthz-port", "10248"))
	return serveHTTP(addr, healthz)
}

// waitRuntime waits for the CRI socket, as the real kubelet fails without a runtime.
func waitRuntime(endpoint string, timeout time.Duration) error {
	path := strings.TrimPrefix(endpoint, "unix://")
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("validate service connection: validate CRI v1 runtime API for endpoint %q: %v", endpoint, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func nodeObject(flags *Flags, name, nodeIP string) map[string]any {
	labels := map[string]any{
		"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH,
		"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": runtime.GOARCH,
	}
	for _, pair := range strings.Split(flags.Get("node-labels", ""), ",") {
		if key, value, ok := strings.Cut(pair, "="); ok {
			labels[key] = value
		}
	}
	taints := []any{}
	for _, taint := range strings.Split(flags.Get("register-with-taints", ""), ",") {
		keyValue, effect, ok := strings.Cut(taint, ":")
		if !ok {
			continue
		}
		key, value, _ := strings.Cut(keyValue, "=")
		taints = append(taints, map[string]any{"key": key, "value": value, "effect": effect})
	}
	return map[string]any{
		"kind": "Node", "apiVersion": "v1",
		"metadata": map[string]any{"name": name, "labels": labels},
		"spec":     map[string]any{"taints": taints},
		"status":   nodeStatus(name, nodeIP),
	}
}

func nodeStatus(name, nodeIP string) map[string]any {
	now := time.Now().UTC().Format(time.RFC3339)
	return map[string]any{
		"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "reason": "KubeletReady",
			"message":           "kubelet is posting ready status (pyrke test stand-in)",
			"lastHeartbeatTime": now, "lastTransitionTime": now,
		}},
		"addresses": []any{
			map[string]any{"type": "InternalIP", "address": nodeIP},
			map[string]any{"type": "Hostname", "address": name},
		},
		"nodeInfo": map[string]any{"kubeletVersion": "v1.28.0-pyrke-standin", "operatingSystem": "linux", "architecture": runtime.GOARCH},
	}
}

func send(client *http.Client, method, url, contentType string, body any) (int, string, error) {
	payload, _ := json.Marshal(body)
	request, _ := http.NewRequest(method, url, bytes.NewReader(payload))
	request.Header.Set("Content-Type", contentType)
	resp, err := client.Do(request)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(data)), nil
}

func registerAndReport(kubeconfig *Kubeconfig, flags *Flags, name, nodeIP string) {
	client := kubeconfig.HTTP()
	registered := false
	for {
		if !registered {
			code, body, err := send(client, "POST", kubeconfig.Server+"/api/v1/nodes", "application/json", nodeObject(flags, name, nodeIP))
			switch {
			case err != nil:
				logf("Unable to register node %q with API server %s: %v", name, kubeconfig.Server, err)
			case code == 201 || code == 409: // 409: registered before (a restart): report status
				logf("Successfully registered node %q", name)
				registered = true
			default:
				logf("Unable to register node %q with API server: %d %s", name, code, body)
			}
		}
		if registered {
			code, body, err := send(client, "PATCH", kubeconfig.Server+"/api/v1/nodes/"+name+"/status",
				"application/merge-patch+json", map[string]any{"status": nodeStatus(name, nodeIP)})
			if err != nil || code != 200 {
				logf("Error updating node status, will retry: %d %s %v", code, body, err)
				if code == 404 {
					registered = false // deleted from the API: register again, as the real one does
				}
			}
			time.Sleep(10 * time.Second)
			continue
		}
		time.Sleep(2 * time.Second)
	}
}
