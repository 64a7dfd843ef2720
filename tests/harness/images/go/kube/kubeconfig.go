// Kubeconfig files as the stand-ins use them: server, certificate-authority and the client
// certificate and key (paths or inline -data), then an HTTPS client that presents that
// certificate. Go's standard library has no YAML parser; this reads the block-style YAML that
// kubectl and RKE write (one `key: value` a line, values plain, single- or double-quoted) and
// takes the first cluster and user, which is all an RKE component kubeconfig holds.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Kubeconfig is what a component takes from its kubeconfig file.
type Kubeconfig struct {
	Path   string
	Server string
	CA     *CA
	Client *Pair
}

func yamlScalar(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case strings.HasPrefix(raw, `"`):
		var s string
		err := json.Unmarshal([]byte(raw), &s)
		return s, err
	case strings.HasPrefix(raw, "'"):
		return strings.ReplaceAll(strings.Trim(raw, "'"), "''", "'"), nil
	}
	return raw, nil
}

func parseKubeconfigFields(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{
		"server": true, "certificate-authority": true, "certificate-authority-data": true,
		"client-certificate": true, "client-certificate-data": true,
		"client-key": true, "client-key-data": true, "kind": true,
	}
	fields := map[string]string{}
	for n, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimLeft(strings.TrimSpace(line), "- ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, value, ok := strings.Cut(trimmed, ":")
		if !ok {
			return nil, fmt.Errorf("error loading config file %q: yaml: line %d: could not find expected ':'", path, n+1)
		}
		if !wanted[key] || strings.TrimSpace(value) == "" {
			continue
		}
		if _, seen := fields[key]; seen {
			continue // the first cluster and user only
		}
		scalar, err := yamlScalar(value)
		if err != nil {
			return nil, fmt.Errorf("error loading config file %q: line %d: %v", path, n+1, err)
		}
		fields[key] = scalar
	}
	if fields["kind"] != "Config" {
		return nil, fmt.Errorf("error loading config file %q: kind is %q, not Config", path, fields["kind"])
	}
	return fields, nil
}

// materialize writes inline -data to a temporary file so the file readers apply to both forms.
func materialize(fields map[string]string, key string) (string, error) {
	if path := fields[key]; path != "" {
		return path, nil
	}
	data, ok := fields[key+"-data"]
	if !ok {
		return "", fmt.Errorf("no %s or %s-data", key, key)
	}
	decoded, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return "", fmt.Errorf("%s-data: %v", key, err)
	}
	file, err := os.CreateTemp("", "kubeconfig-*")
	if err != nil {
		return "", err
	}
	defer file.Close()
	_, err = file.Write(decoded)
	return file.Name(), err
}

// loadKubeconfig reads the kubeconfig and every file it names; the client certificate must
// match its key and chain to the kubeconfig's CA.
func loadKubeconfig(path string) (*Kubeconfig, error) {
	fields, err := parseKubeconfigFields(path)
	if err != nil {
		return nil, err
	}
	server := fields["server"]
	if u, err := url.Parse(server); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%s: server %q is not an https:// URL", path, server)
	}
	paths := map[string]string{}
	for _, key := range []string{"certificate-authority", "client-certificate", "client-key"} {
		if paths[key], err = materialize(fields, key); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
	}
	ca, err := readCA(paths["certificate-authority"])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	client, err := readPair(paths["client-certificate"], paths["client-key"])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := client.Verify(ca, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &Kubeconfig{Path: path, Server: strings.TrimRight(server, "/"), CA: ca, Client: client}, nil
}

// HTTP is a client for the kubeconfig's server: verifies it against the CA for the server's
// host name, presents the client certificate.
func (k *Kubeconfig) HTTP() *http.Client {
	u, _ := url.Parse(k.Server)
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:      k.CA.Pool,
			Certificates: []tls.Certificate{k.Client.TLS},
			ServerName:   u.Hostname(),
			MinVersion:   tls.VersionTLS12,
		}},
	}
}
