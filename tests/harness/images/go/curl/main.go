// Command curl is a TEST DOUBLE for the curl that the real rancher/rke-tools image (alpine)
// carries. It speaks the subset of curl's command line that pyrke's health probes use, with
// curl's meaning and curl's exit codes, so a probe that works here works with real curl:
//
//	curl [-s] [-S] [-k] [-f] [--max-time SECONDS] [--cacert FILE] [--cert FILE] [--key FILE]
//	     [-o FILE] [-w '%{http_code}'] URL
//
// Exit codes (as curl documents them): 0 an answer came (any HTTP status unless -f), 2 bad
// usage, 6 host not resolved, 7 connection refused, 22 HTTP >= 400 with -f, 28 timed out,
// 35 TLS handshake failed, 58 client certificate unusable, 60 peer certificate not trusted
// (without -k), 23 output file not writable.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	insecure, fail, silent bool
	maxTime                float64
	cacert, cert, key      string
	output, writeOut, url  string
}

func parse(args []string) (options, error) {
	o := options{maxTime: 0}
	value := func(i *int) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("option %s: requires parameter", args[*i])
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var err error
		switch arg {
		case "-s", "--silent":
			o.silent = true
		case "-S", "--show-error":
		case "-k", "--insecure":
			o.insecure = true
		case "-f", "--fail":
			o.fail = true
		case "-sk", "-ks":
			o.silent, o.insecure = true, true
		case "--max-time", "-m":
			var text string
			if text, err = value(&i); err == nil {
				o.maxTime, err = strconv.ParseFloat(text, 64)
			}
		case "--cacert":
			o.cacert, err = value(&i)
		case "--cert", "-E":
			o.cert, err = value(&i)
		case "--key":
			o.key, err = value(&i)
		case "-o", "--output":
			o.output, err = value(&i)
		case "-w", "--write-out":
			o.writeOut, err = value(&i)
		default:
			if strings.HasPrefix(arg, "-") {
				return o, fmt.Errorf("option %s: is unknown", arg)
			}
			o.url = arg
		}
		if err != nil {
			return o, err
		}
	}
	if o.url == "" {
		return o, errors.New("no URL specified")
	}
	return o, nil
}

func fail(code int, silent bool, format string, args ...any) {
	if !silent {
		fmt.Fprintf(os.Stderr, "curl: (%d) "+format+"\n", append([]any{code}, args...)...)
	}
	os.Exit(code)
}

func main() {
	o, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "curl: %v\n", err)
		os.Exit(2)
	}
	config := &tls.Config{InsecureSkipVerify: o.insecure}
	if o.cacert != "" {
		pem, err := os.ReadFile(o.cacert)
		if err != nil {
			fail(77, o.silent, "error setting certificate file: %s", o.cacert)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		config.RootCAs = pool
	}
	if o.cert != "" {
		key := o.key
		if key == "" {
			key = o.cert
		}
		pair, err := tls.LoadX509KeyPair(o.cert, key)
		if err != nil {
			fail(58, o.silent, "could not load PEM client certificate %s: %v", o.cert, err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: config}}
	if o.maxTime > 0 {
		client.Timeout = time.Duration(o.maxTime * float64(time.Second))
	}
	resp, err := client.Get(o.url)
	if err != nil {
		fail(exitCode(err), o.silent, "%v", err)
	}
	defer resp.Body.Close()
	out := io.Writer(os.Stdout)
	if o.output != "" && o.output != "-" {
		file, err := os.Create(o.output)
		if err != nil {
			fail(23, o.silent, "failed writing body to %s", o.output)
		}
		defer file.Close()
		out = file
	}
	if o.fail && resp.StatusCode >= 400 {
		fail(22, o.silent, "The requested URL returned error: %d", resp.StatusCode)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		fail(exitCode(err), o.silent, "%v", err)
	}
	if o.writeOut != "" {
		fmt.Print(strings.ReplaceAll(o.writeOut, "%{http_code}", fmt.Sprintf("%03d", resp.StatusCode)))
	}
}

func exitCode(err error) int {
	var netErr net.Error
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &dnsErr):
		return 6
	case errors.Is(err, syscall.ECONNREFUSED):
		return 7
	case errors.As(err, &netErr) && netErr.Timeout():
		return 28
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &certInvalid):
		return 60
	case strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "remote error"):
		return 35
	}
	return 7
}
