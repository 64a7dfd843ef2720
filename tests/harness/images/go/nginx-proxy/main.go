// Command nginx-proxy is a TEST DOUBLE for rke-tools' nginx-proxy, but its proxying is real:
// like RKE's nginx stream config it listens on port 6443 (every address) and forwards each TCP
// connection to the first control-plane host of CP_HOSTS (comma-separated, from the
// environment or a CP_HOSTS=... argument, as RKE passes both) whose 6443 accepts, trying the
// others in turn (nginx's proxy_next_upstream), with a 2 s connect timeout
// (proxy_connect_timeout). TLS passes through untouched, so clients see the apiserver's
// certificate and the apiserver sees their client certificates.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

const port = "6443"

func upstreams() []string {
	hosts := os.Getenv("CP_HOSTS")
	for _, arg := range os.Args[1:] {
		if strings.HasPrefix(arg, "CP_HOSTS=") {
			hosts = strings.TrimPrefix(arg, "CP_HOSTS=")
		}
	}
	var out []string
	for _, host := range strings.Split(hosts, ",") {
		if host = strings.TrimSpace(host); host != "" {
			out = append(out, net.JoinHostPort(host, port))
		}
	}
	return out
}

func main() {
	targets := upstreams()
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "nginx-proxy: CP_HOSTS is empty: no control-plane host to proxy to")
		os.Exit(1)
	}
	listener, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nginx: [emerg] bind() to 0.0.0.0:%s failed: %v\n", port, err)
		os.Exit(1)
	}
	log.Printf("nginx-proxy: listening on :%s, upstreams %s", port, strings.Join(targets, " "))
	var next uint32 // round robin start, as nginx balances over the upstream servers
	for {
		conn, err := listener.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			continue
		}
		start := int(atomic.AddUint32(&next, 1))
		go proxy(conn, targets, start)
	}
}

func proxy(client net.Conn, targets []string, start int) {
	defer client.Close()
	var upstream net.Conn
	for i := range targets {
		target := targets[(start+i)%len(targets)]
		conn, err := net.DialTimeout("tcp", target, 2*time.Second)
		if err == nil {
			upstream = conn
			break
		}
		log.Printf("upstream %s: %v", target, err)
	}
	if upstream == nil {
		log.Printf("no upstream answered for %s", client.RemoteAddr())
		return
	}
	defer upstream.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tcp, ok := dst.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(upstream, client)
	go pipe(client, upstream)
	<-done
	<-done
}
