// The stand-in apiserver's etcd client: etcd v3's JSON gateway (POST /v3/kv/put and
// /v3/kv/range, keys and values base64) over HTTPS with the --etcd-* client certificate,
// endpoints tried in order as the real client balances over --etcd-servers.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

type etcdClient struct {
	endpoints []string
	http      *http.Client
}

type keyValue struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
}

func newEtcdClient(flags *Flags) (*etcdClient, error) {
	servers, err := flags.Require("etcd-servers")
	if err != nil {
		return nil, err
	}
	// as the real client: TLS verified against --etcd-cafile when given, the client certificate
	// presented when given; an https:// server without them fails its handshake
	var errs []error
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	var ca *CA
	if flags.Has("etcd-cafile") {
		if ca, err = readCA(flags.Get("etcd-cafile", "")); err != nil {
			errs = append(errs, fmt.Errorf("--etcd-cafile: %v", err))
		} else {
			config.RootCAs = ca.Pool
		}
	}
	if flags.Has("etcd-certfile") || flags.Has("etcd-keyfile") {
		pair, err := readPair(flags.Get("etcd-certfile", ""), flags.Get("etcd-keyfile", ""))
		if err != nil {
			errs = append(errs, fmt.Errorf("--etcd-certfile/--etcd-keyfile: %v", err))
		} else {
			config.Certificates = []tls.Certificate{pair.TLS}
			if ca != nil {
				if err := pair.Verify(ca, x509.ExtKeyUsageClientAuth); err != nil {
					errs = append(errs, fmt.Errorf("--etcd-certfile: %v", err))
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	client := &etcdClient{endpoints: strings.Split(servers, ",")}
	client.http = &http.Client{
		Timeout: 5 * time.Second,
		// the server name comes from each endpoint URL: etcd's certificate must carry it
		Transport: &http.Transport{TLSClientConfig: config},
	}
	return client, nil
}

func (c *etcdClient) call(path string, body any, out any) error {
	payload, _ := json.Marshal(body)
	var errs []error
	for _, endpoint := range c.endpoints {
		resp, err := c.http.Post(strings.TrimRight(endpoint, "/")+path, "application/json", bytes.NewReader(payload))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errs = append(errs, fmt.Errorf("%s%s: %s: %s", endpoint, path, resp.Status, strings.TrimSpace(string(data))))
			continue
		}
		return json.Unmarshal(data, out)
	}
	return joinErrors(errs)
}

func (c *etcdClient) put(key string, value []byte) error {
	var out map[string]any
	return c.call("/v3/kv/put", keyValue{Key: []byte(key), Value: value}, &out)
}

// list returns every key-value whose key starts with prefix (or exactly key when !prefix).
func (c *etcdClient) list(key string, prefix bool) ([]keyValue, error) {
	request := map[string][]byte{"key": []byte(key)}
	if prefix {
		end := []byte(key)
		end[len(end)-1]++ // etcd's prefix range: [key, key with its last byte + 1)
		request["range_end"] = end
	}
	var out struct {
		Kvs []keyValue `json:"kvs"`
	}
	err := c.call("/v3/kv/range", request, &out)
	return out.Kvs, err
}

func (c *etcdClient) get(key string) ([]byte, bool, error) {
	kvs, err := c.list(key, false)
	if err != nil || len(kvs) == 0 {
		return nil, false, err
	}
	return kvs[0].Value, true, nil
}
