// cri-dockerd TEST DOUBLE (rke-tools' entrypoint starts it beside kubelet when
// RKE_KUBELET_CRIDOCKERD=true). Checks the flags (the real v0.3.15 list) and that Docker answers
// on --docker-endpoint (a /_ping over the unix socket), then listens on
// --container-runtime-endpoint so kubelet finds a runtime socket. It speaks no CRI.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func runCRIDockerd(flags *Flags) error {
	docker := strings.TrimPrefix(flags.Get("docker-endpoint", "unix:///var/run/docker.sock"), "unix://")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", docker)
		},
	}}
	resp, err := client.Get("http://docker/_ping")
	if err != nil {
		return fmt.Errorf("Cannot connect to the Docker daemon at unix://%s: %v", docker, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "OK" {
		return fmt.Errorf("docker at %s answered %s %q to /_ping", docker, resp.Status, body)
	}
	socket := strings.TrimPrefix(flags.Get("container-runtime-endpoint", "unix:///var/run/cri-dockerd.sock"), "unix://")
	_ = os.Remove(socket) // a socket left by an earlier run
	listener, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	logf("cri-dockerd: Docker answers; listening on %s", socket)
	for {
		conn, err := listener.Accept()
		if err != nil {
			return err
		}
		conn.Close()
	}
}
