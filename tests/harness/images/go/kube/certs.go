// Certificate checks of the stand-ins: every file is read and parsed the way the real
// binaries read it (PEM, x509, tls.X509KeyPair), then checked for what the component needs.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"strings"
)

// CA is a parsed CA bundle file.
type CA struct {
	Path  string
	Pool  *x509.CertPool
	Certs []*x509.Certificate
}

func readCA(path string) (*CA, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ca := &CA{Path: path, Pool: x509.NewCertPool()}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("%s: certificate %q is not a CA", path, cert.Subject.CommonName)
		}
		ca.Pool.AddCert(cert)
		ca.Certs = append(ca.Certs, cert)
	}
	if len(ca.Certs) == 0 {
		return nil, fmt.Errorf("unable to load client CA file %s: no valid certificate authority data seen", path)
	}
	return ca, nil
}

// Pair is a certificate with its matching key.
type Pair struct {
	CertPath string
	TLS      tls.Certificate
	Leaf     *x509.Certificate
}

func readPair(certPath, keyPath string) (*Pair, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("failed to load certificate %s with key %s: %v", certPath, keyPath, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", certPath, err)
	}
	pair.Leaf = leaf
	return &Pair{CertPath: certPath, TLS: pair, Leaf: leaf}, nil
}

// Verify checks the chain to `ca` for the usage (client or server auth); with `host` set, also
// that the certificate is valid for that IP or DNS name.
func (p *Pair) Verify(ca *CA, usage x509.ExtKeyUsage, hosts ...string) error {
	opts := x509.VerifyOptions{Roots: ca.Pool, KeyUsages: []x509.ExtKeyUsage{usage}}
	if _, err := p.Leaf.Verify(opts); err != nil {
		return fmt.Errorf("%s (CN=%s) does not chain to %s: %v", p.CertPath, p.Leaf.Subject.CommonName, ca.Path, err)
	}
	for _, host := range hosts {
		if err := p.Leaf.VerifyHostname(host); err != nil {
			return fmt.Errorf("%s lacks a SAN this host needs: %v", p.CertPath, err)
		}
	}
	return nil
}

// Subject checks CN (exact, or a prefix ending in ':' such as "system:node:") and O.
func (p *Pair) Subject(cn string, org string) error {
	got := p.Leaf.Subject.CommonName
	if cn != "" && got != cn && !(strings.HasSuffix(cn, ":") && strings.HasPrefix(got, cn)) {
		return fmt.Errorf("%s has CN %q, this component needs %q", p.CertPath, got, cn)
	}
	if org != "" {
		for _, o := range p.Leaf.Subject.Organization {
			if o == org {
				return nil
			}
		}
		return fmt.Errorf("%s has O %v, this component needs %q", p.CertPath, p.Leaf.Subject.Organization, org)
	}
	return nil
}

// readPrivateKey parses a PEM private key (service-account signing keys).
func readPrivateKey(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("%s: no PEM data", path)
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return nil
	}
	return fmt.Errorf("%s: not a private key (%s)", path, block.Type)
}

// readPublicOrPrivateKey parses what --service-account-key-file accepts: a public or private
// key, or a certificate.
func readPublicOrPrivateKey(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("%s: no PEM data", path)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParseCertificate(block.Bytes); err == nil {
		return nil
	}
	return readPrivateKey(path)
}

// readNonEmpty is for configuration files the stand-ins only need to exist with content.
func readNonEmpty(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return fmt.Errorf("%s is empty", path)
	}
	return nil
}

// hostAddresses are this host's non-loopback IP addresses (the containers run --net=host).
func hostAddresses() []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, addr := range addrs {
		if ipnet, ok := addr.(*net.IPNet); ok && !ipnet.IP.IsLoopback() && ipnet.IP.To4() != nil {
			out = append(out, ipnet.IP.String())
		}
	}
	return out
}

// firstServiceIP is the first address of a service CIDR (10.43.0.0/16 -> 10.43.0.1), which
// pods use to reach the apiserver and which its certificate must carry.
func firstServiceIP(cidr string) (string, error) {
	_, network, err := net.ParseCIDR(strings.Split(cidr, ",")[0])
	if err != nil {
		return "", fmt.Errorf("--service-cluster-ip-range: %v", err)
	}
	ip := make(net.IP, len(network.IP))
	copy(ip, network.IP)
	ip[len(ip)-1]++
	return ip.String(), nil
}

func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	messages := make([]string, len(errs))
	for i, err := range errs {
		messages[i] = err.Error()
	}
	return fmt.Errorf("%s", strings.Join(messages, "; "))
}
