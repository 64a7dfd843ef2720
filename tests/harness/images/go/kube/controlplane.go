// kube-controller-manager and kube-scheduler TEST DOUBLES. Checks at start: the flags; the
// --kubeconfig (and --authentication-/--authorization-kubeconfig) with every file it names, its
// client certificate matching its key, chaining to its CA and carrying the component's CN
// (system:kube-controller-manager, system:kube-scheduler); the controller-manager's
// --root-ca-file, --service-account-private-key-file and --cluster-signing-* files. Then, as the
// real ones: HTTPS on --bind-address:--secure-port (10257, 10259) with --tls-cert-file or a
// self-signed certificate, /healthz, /livez and /readyz open to everyone (the real
// --authorization-always-allow-paths). Healthy once the API server of the kubeconfig has
// answered an authenticated request (every 5 s), as leader election needs it.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

func runControllerManager(flags *Flags) error {
	return runControlPlaneComponent(flags, "system:kube-controller-manager", "10257", func() error {
		return checkAll(
			func() error {
				if flags.Has("root-ca-file") {
					_, err := readCA(flags.Get("root-ca-file", ""))
					return withFlag("root-ca-file", err)
				}
				return nil
			},
			func() error {
				if flags.Has("service-account-private-key-file") {
					return withFlag("service-account-private-key-file", readPrivateKey(flags.Get("service-account-private-key-file", "")))
				}
				return nil
			},
			func() error {
				if flags.Has("cluster-signing-cert-file") {
					_, err := readPair(flags.Get("cluster-signing-cert-file", ""), flags.Get("cluster-signing-key-file", ""))
					return withFlag("cluster-signing-cert-file", err)
				}
				return nil
			},
			func() error {
				if flags.Has("cloud-config") {
					return withFlag("cloud-config", readNonEmpty(flags.Get("cloud-config", "")))
				}
				return nil
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
	})
}

func runScheduler(flags *Flags) error {
	return runControlPlaneComponent(flags, "system:kube-scheduler", "10259", func() error { return nil })
}

func runControlPlaneComponent(flags *Flags, cn, port string, extra func() error) error {
	var kubeconfig *Kubeconfig
	err := checkAll(
		func() (err error) {
			path, err := flags.Require("kubeconfig")
			if err == nil {
				kubeconfig, err = loadKubeconfig(path)
			}
			if err == nil {
				err = kubeconfig.Client.Subject(cn, "")
			}
			return withFlag("kubeconfig", err)
		},
		func() error {
			for _, name := range []string{"authentication-kubeconfig", "authorization-kubeconfig"} {
				if flags.Has(name) {
					if _, err := loadKubeconfig(flags.Get(name, "")); err != nil {
						return withFlag(name, err)
					}
				}
			}
			return nil
		},
		extra,
	)
	if err != nil {
		return err
	}
	cert, err := servingCertificate(flags, cn)
	if err != nil {
		return err
	}
	h := newHealth("ping", "apiserver")
	h.set("ping", nil)
	client := kubeconfig.HTTP()
	every(5*time.Second, func() { h.set("apiserver", reach(client, kubeconfig.Server+"/healthz")) })
	mux := http.NewServeMux()
	for _, path := range []string{"/healthz", "/livez", "/readyz"} {
		mux.Handle(path, h.handler(path[1:]))
	}
	addr := net.JoinHostPort(flags.Get("bind-address", "0.0.0.0"), flags.Get("secure-port", port))
	return serveTLS(addr, cert, nil, mux)
}

// servingCertificate is --tls-cert-file/--tls-private-key-file, else a self-signed one.
func servingCertificate(flags *Flags, name string) (cert tls.Certificate, err error) {
	if flags.Has("tls-cert-file") {
		pair, err := readPair(flags.Get("tls-cert-file", ""), flags.Get("tls-private-key-file", ""))
		if err != nil {
			return cert, withFlag("tls-cert-file", err)
		}
		if flags.Has("client-ca-file") {
			ca, err := readCA(flags.Get("client-ca-file", ""))
			if err != nil {
				return cert, withFlag("client-ca-file", err)
			}
			if err := pair.Verify(ca, x509.ExtKeyUsageServerAuth, hostAddresses()...); err != nil {
				return cert, withFlag("tls-cert-file", err)
			}
		}
		return pair.TLS, nil
	}
	return selfSigned(name)
}

// reach makes one authenticated GET; any answer but 2xx is an error with the answer.
func reach(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		logf("API server %s: %v", url, err)
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		err = fmt.Errorf("%s: %s: %s", url, resp.Status, body)
		logf("API server: %v", err)
	}
	return err
}
