// Serving helpers shared by the stand-ins: self-signed serving certificates (what the real
// controller-manager, scheduler and kubelet make when no --tls-cert-file is given), health
// handlers in the apiserver's format, and Kubernetes Status errors.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func selfSigned(name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	hostname, _ := os.Hostname()
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: fmt.Sprintf("%s@%d", name, time.Now().Unix())},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", hostname},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// health is a set of named checks, rendered as the apiserver renders /healthz?verbose.
type health struct {
	mu     sync.Mutex
	order  []string
	errors map[string]error
}

func newHealth(names ...string) *health {
	h := &health{order: names, errors: map[string]error{}}
	for _, name := range names {
		h.errors[name] = fmt.Errorf("not checked yet")
	}
	return h
}

func (h *health) set(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errors[name] = err
}

func (h *health) ok() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, err := range h.errors {
		if err != nil {
			return false
		}
	}
	return true
}

func (h *health) handler(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		var body strings.Builder
		healthy := true
		for _, name := range h.order {
			if err := h.errors[name]; err != nil {
				healthy = false
				fmt.Fprintf(&body, "[-]%s failed: %v\n", name, err)
			} else {
				fmt.Fprintf(&body, "[+]%s ok\n", name)
			}
		}
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !healthy {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "%s%s check failed\n", body.String(), kind)
			return
		}
		if _, verbose := r.URL.Query()["verbose"]; verbose {
			fmt.Fprintf(w, "%s%s check passed\n", body.String(), kind)
			return
		}
		fmt.Fprint(w, "ok")
	}
}

func writeJSON(w http.ResponseWriter, code int, value any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(value)
}

// writeStatus writes a metav1.Status failure, as the apiserver does for every error.
func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	writeJSON(w, code, map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
}

// serveTLS listens on addr with cert and asks clients for a certificate: verified against
// clientCAs when given, else accepted for the handler to verify (the apiserver's authenticator
// answers 401 rather than failing the handshake).
func serveTLS(addr string, cert tls.Certificate, clientCAs *CA, handler http.Handler) error {
	config := &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert,
	}
	if clientCAs != nil {
		config.ClientCAs = clientCAs.Pool
		config.ClientAuth = tls.VerifyClientCertIfGiven
	}
	listener, err := tls.Listen("tcp", addr, config)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %v", addr, err)
	}
	logf("Serving securely on %s", addr)
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	return server.Serve(listener)
}

func serveHTTP(addr string, handler http.Handler) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %v", addr, err)
	}
	logf("Serving insecurely on %s", addr)
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return server.Serve(listener)
}

// every runs fn now and then every interval, forever, in the background.
func every(interval time.Duration, fn func()) {
	go func() {
		for {
			fn()
			time.Sleep(interval)
		}
	}()
}

// checkAll collects the errors of every check, so one start reports every bad file at once.
func checkAll(checks ...func() error) error {
	var errs []error
	for _, check := range checks {
		if err := check(); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

// withFlag prefixes an error with the flag it came from.
func withFlag(flag string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("--%s: %v", flag, err)
}
