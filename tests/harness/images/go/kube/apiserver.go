// kube-apiserver TEST DOUBLE. Checks at start (exit 1 listing every problem): the flags; the
// client CA; the serving certificate (matches its key, chains to the client CA, valid for
// 127.0.0.1, --advertise-address, the first service IP and kubernetes.default.svc); the etcd
// client certificate (chains to --etcd-cafile, client usage); the kubelet client and
// front-proxy client certificates; the service-account keys; every configuration file named.
// Then, for real: TLS on --bind-address:--secure-port (6443), clients authenticated by a
// certificate chaining to --client-ca-file (CN = user, O = groups), 401 without one when
// --anonymous-auth=false; etcd reached with the --etcd-* flags (write and read back a key
// every 2 s; /healthz, /livez and /readyz fail while that fails). Nodes live in etcd under
// <--etcd-prefix>/minions/<name>, so every apiserver of the cluster serves the same list:
// POST/GET /api/v1/nodes, GET/DELETE /api/v1/nodes/<name>, PATCH/PUT .../status. A node is
// Ready while its kubelet reported within the last 40 s (kube-controller-manager's
// --node-monitor-grace-period), Unknown after, as the node lifecycle controller marks it.
package main

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const nodeGracePeriod = 40 * time.Second

type apiServer struct {
	flags     *Flags
	clientCA  *CA
	anonymous bool
	etcd      *etcdClient
	prefix    string
	health    *health
}

func runAPIServer(flags *Flags) error {
	s := &apiServer{
		flags:     flags,
		anonymous: flags.Bool("anonymous-auth", true),
		prefix:    strings.TrimRight(flags.Get("etcd-prefix", "/registry"), "/"),
		health:    newHealth("ping", "log", "etcd"),
	}
	s.health.set("ping", nil)
	s.health.set("log", nil)
	var serving *Pair
	var requestHeaderCA *CA
	err := checkAll(
		func() (err error) {
			if flags.Has("client-ca-file") {
				s.clientCA, err = readCA(flags.Get("client-ca-file", ""))
			}
			return withFlag("client-ca-file", err)
		},
		func() (err error) {
			s.etcd, err = newEtcdClient(flags)
			return err
		},
		func() (err error) {
			if flags.Has("requestheader-client-ca-file") {
				requestHeaderCA, err = readCA(flags.Get("requestheader-client-ca-file", ""))
			}
			return withFlag("requestheader-client-ca-file", err)
		},
		func() (err error) {
			if flags.Has("kubelet-certificate-authority") {
				_, err = readCA(flags.Get("kubelet-certificate-authority", ""))
			}
			return withFlag("kubelet-certificate-authority", err)
		},
		func() error {
			for _, name := range []string{"admission-control-config-file", "audit-policy-file",
				"encryption-provider-config", "authentication-token-webhook-config-file", "cloud-config"} {
				if flags.Has(name) {
					if err := readNonEmpty(flags.Get(name, "")); err != nil {
						return withFlag(name, err)
					}
				}
			}
			return nil
		},
		func() error {
			if flags.Has("service-account-key-file") {
				if err := readPublicOrPrivateKey(flags.Get("service-account-key-file", "")); err != nil {
					return withFlag("service-account-key-file", err)
				}
			}
			if flags.Has("service-account-signing-key-file") {
				return withFlag("service-account-signing-key-file", readPrivateKey(flags.Get("service-account-signing-key-file", "")))
			}
			return nil
		},
	)
	if err != nil {
		return err
	}
	// certificates that must chain to the CAs read above
	err = checkAll(
		func() (err error) {
			if !flags.Has("tls-cert-file") {
				return nil // the real apiserver then makes a self-signed one
			}
			serving, err = readPair(flags.Get("tls-cert-file", ""), flags.Get("tls-private-key-file", ""))
			if err != nil || s.clientCA == nil {
				return withFlag("tls-cert-file", err)
			}
			hosts := []string{"127.0.0.1", "kubernetes.default.svc"}
			if ip, err := firstServiceIP(flags.Get("service-cluster-ip-range", "10.0.0.0/24")); err == nil {
				hosts = append(hosts, ip)
			} else {
				return err
			}
			if advertise := flags.Get("advertise-address", ""); advertise != "" {
				hosts = append(hosts, advertise)
			}
			return withFlag("tls-cert-file", serving.Verify(s.clientCA, x509.ExtKeyUsageServerAuth, hosts...))
		},
		func() error {
			if !flags.Has("kubelet-client-certificate") {
				return nil
			}
			pair, err := readPair(flags.Get("kubelet-client-certificate", ""), flags.Get("kubelet-client-key", ""))
			if err == nil && s.clientCA != nil {
				err = pair.Verify(s.clientCA, x509.ExtKeyUsageClientAuth)
			}
			return withFlag("kubelet-client-certificate", err)
		},
		func() error {
			if !flags.Has("proxy-client-cert-file") {
				return nil
			}
			pair, err := readPair(flags.Get("proxy-client-cert-file", ""), flags.Get("proxy-client-key-file", ""))
			if err == nil && requestHeaderCA != nil {
				err = pair.Verify(requestHeaderCA, x509.ExtKeyUsageClientAuth)
			}
			if allowed := flags.Get("requestheader-allowed-names", ""); err == nil && allowed != "" {
				err = pair.Subject(allowed, "")
			}
			return withFlag("proxy-client-cert-file", err)
		},
		func() error {
			path := flags.Get("audit-log-path", "")
			if path == "" || path == "-" {
				return nil
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return withFlag("audit-log-path", err)
			}
			file, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
			if err == nil {
				file.Close()
			}
			return withFlag("audit-log-path", err)
		},
	)
	if err != nil {
		return err
	}
	cert, err := selfSigned("kube-apiserver")
	if serving != nil {
		cert, err = serving.TLS, nil
	}
	if err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	every(2*time.Second, func() { s.checkEtcd(hostname) })
	addr := net.JoinHostPort(flags.Get("bind-address", "0.0.0.0"), flags.Get("secure-port", "6443"))
	return serveTLS(addr, cert, nil, s.routes())
}

// checkEtcd writes and reads back a key, as the real apiserver's etcd health check reads one.
func (s *apiServer) checkEtcd(hostname string) {
	key := fmt.Sprintf("%s/pyrke-standin/apiservers/%s", s.prefix, hostname)
	value := []byte(time.Now().UTC().Format(time.RFC3339Nano))
	err := s.etcd.put(key, value)
	if err == nil {
		var got []byte
		var found bool
		got, found, err = s.etcd.get(key)
		if err == nil && (!found || string(got) != string(value)) {
			err = fmt.Errorf("read back %q from %s, wrote %q", got, key, value)
		}
	}
	before := s.health.ok()
	s.health.set("etcd", err)
	if err != nil {
		logf("etcd check failed (servers %s): %v", strings.Join(s.etcd.endpoints, ","), err)
	} else if !before {
		logf("etcd answers: wrote and read back %s", key)
	}
}

type user struct {
	name   string
	groups []string
}

func (u user) in(group string) bool {
	for _, g := range u.groups {
		if g == group {
			return true
		}
	}
	return false
}

// authenticate maps a verified client certificate to a user; nil means 401.
func (s *apiServer) authenticate(r *http.Request) *user {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && s.clientCA != nil {
		leaf := r.TLS.PeerCertificates[0]
		intermediates := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			intermediates.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots: s.clientCA.Pool, Intermediates: intermediates,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err == nil {
			return &user{name: leaf.Subject.CommonName, groups: append([]string{"system:authenticated"}, leaf.Subject.Organization...)}
		}
		logf("client certificate CN=%s refused: %v", leaf.Subject.CommonName, err)
		return nil
	}
	if s.anonymous {
		return &user{name: "system:anonymous", groups: []string{"system:unauthenticated"}}
	}
	return nil
}

func (s *apiServer) routes() http.Handler {
	mux := http.NewServeMux()
	for _, path := range []string{"/healthz", "/livez", "/readyz"} {
		mux.Handle(path, s.health.handler(strings.TrimPrefix(path, "/")))
	}
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"major": "1", "minor": "28", "gitVersion": "v1.28.0-pyrke-standin", "platform": "linux/amd64"})
	})
	mux.HandleFunc("/api/v1/nodes", s.nodes)
	mux.HandleFunc("/api/v1/nodes/", s.node)
	mux.HandleFunc("/api/v1/services", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"kind": "ServiceList", "apiVersion": "v1", "metadata": map[string]any{}, "items": []any{}})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, 404, "NotFound", fmt.Sprintf("the server could not find the requested resource (%s %s)", r.Method, r.URL.Path))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := s.authenticate(r)
		if u == nil {
			writeStatus(w, 401, "Unauthorized", "Unauthorized")
			return
		}
		public := r.URL.Path == "/healthz" || r.URL.Path == "/livez" || r.URL.Path == "/readyz" || r.URL.Path == "/version"
		if u.name == "system:anonymous" && !public {
			writeStatus(w, 403, "Forbidden", fmt.Sprintf("forbidden: User \"system:anonymous\" cannot %s path %q", strings.ToLower(r.Method), r.URL.Path))
			return
		}
		writes := r.Method != http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/nodes")
		if writes && !u.in("system:masters") && !u.in("system:nodes") {
			writeStatus(w, 403, "Forbidden", fmt.Sprintf("nodes is forbidden: User %q cannot %s resource \"nodes\"", u.name, strings.ToLower(r.Method)))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *apiServer) nodeKey(name string) string { return s.prefix + "/minions/" + name }

func (s *apiServer) nodes(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		kvs, err := s.etcd.list(s.prefix+"/minions/", true)
		if err != nil {
			writeStatus(w, 500, "InternalError", fmt.Sprintf("etcd: %v", err))
			return
		}
		items := []any{}
		for _, kv := range kvs {
			var node map[string]any
			if json.Unmarshal(kv.Value, &node) == nil {
				items = append(items, withReadiness(node))
			}
		}
		writeJSON(w, 200, map[string]any{"kind": "NodeList", "apiVersion": "v1", "metadata": map[string]any{}, "items": items})
	case http.MethodPost:
		node, ok := readObject(w, r)
		if !ok {
			return
		}
		meta, _ := node["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		if name == "" {
			writeStatus(w, 422, "Invalid", "Node \"\" is invalid: metadata.name: Required value")
			return
		}
		if _, found, err := s.etcd.get(s.nodeKey(name)); err != nil || found {
			if err != nil {
				writeStatus(w, 500, "InternalError", fmt.Sprintf("etcd: %v", err))
			} else {
				writeStatus(w, 409, "AlreadyExists", fmt.Sprintf("nodes %q already exists", name))
			}
			return
		}
		uid := make([]byte, 16)
		_, _ = rand.Read(uid)
		meta["uid"] = hex.EncodeToString(uid)
		meta["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
		node["kind"], node["apiVersion"] = "Node", "v1"
		s.store(w, name, stampHeartbeat(node), 201)
	default:
		writeStatus(w, 405, "MethodNotAllowed", "method not allowed")
	}
}

func (s *apiServer) node(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/api/v1/nodes/")
	name, sub, _ := strings.Cut(rest, "/")
	if name == "" || (sub != "" && sub != "status") {
		writeStatus(w, 404, "NotFound", "the server could not find the requested resource")
		return
	}
	value, found, err := s.etcd.get(s.nodeKey(name))
	if err != nil {
		writeStatus(w, 500, "InternalError", fmt.Sprintf("etcd: %v", err))
		return
	}
	if !found {
		writeStatus(w, 404, "NotFound", fmt.Sprintf("nodes %q not found", name))
		return
	}
	var node map[string]any
	_ = json.Unmarshal(value, &node)
	switch {
	case r.Method == http.MethodGet:
		writeJSON(w, 200, withReadiness(node))
	case r.Method == http.MethodDelete && sub == "":
		var out map[string]any
		if err := s.etcd.call("/v3/kv/deleterange", map[string][]byte{"key": []byte(s.nodeKey(name))}, &out); err != nil {
			writeStatus(w, 500, "InternalError", fmt.Sprintf("etcd: %v", err))
			return
		}
		writeJSON(w, 200, node)
	case r.Method == http.MethodPatch || r.Method == http.MethodPut:
		patch, ok := readObject(w, r)
		if !ok {
			return
		}
		if r.Method == http.MethodPut {
			node["status"] = patch["status"]
			if sub == "" {
				node["spec"], node["metadata"] = patch["spec"], patch["metadata"]
			}
		} else {
			node = mergePatch(node, patch).(map[string]any)
		}
		s.store(w, name, stampHeartbeat(node), 200)
	default:
		writeStatus(w, 405, "MethodNotAllowed", "method not allowed")
	}
}

func (s *apiServer) store(w http.ResponseWriter, name string, node map[string]any, code int) {
	data, _ := json.Marshal(node)
	if err := s.etcd.put(s.nodeKey(name), data); err != nil {
		writeStatus(w, 500, "InternalError", fmt.Sprintf("etcd: %v", err))
		return
	}
	writeJSON(w, code, withReadiness(node))
}

func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var object map[string]any
	if err == nil {
		err = json.Unmarshal(data, &object)
	}
	if err != nil || object == nil {
		writeStatus(w, 400, "BadRequest", fmt.Sprintf("the request body is not a JSON object: %v", err))
		return nil, false
	}
	return object, true
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(target any, patch any) any {
	patchMap, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	targetMap, ok := target.(map[string]any)
	if !ok {
		targetMap = map[string]any{}
	}
	for key, value := range patchMap {
		if value == nil {
			delete(targetMap, key)
		} else {
			targetMap[key] = mergePatch(targetMap[key], value)
		}
	}
	return targetMap
}

func readyCondition(node map[string]any) map[string]any {
	status, _ := node["status"].(map[string]any)
	conditions, _ := status["conditions"].([]any)
	for _, c := range conditions {
		if condition, ok := c.(map[string]any); ok && condition["type"] == "Ready" {
			return condition
		}
	}
	return nil
}

// stampHeartbeat records when this server received the kubelet's Ready report: the node
// lifecycle controller likewise judges heartbeats by its own clock.
func stampHeartbeat(node map[string]any) map[string]any {
	if condition := readyCondition(node); condition != nil {
		condition["lastHeartbeatTime"] = time.Now().UTC().Format(time.RFC3339)
	}
	return node
}

func withReadiness(node map[string]any) map[string]any {
	condition := readyCondition(node)
	if condition == nil {
		return node
	}
	beat, err := time.Parse(time.RFC3339, fmt.Sprint(condition["lastHeartbeatTime"]))
	if err != nil || time.Since(beat) > nodeGracePeriod {
		condition["status"] = "Unknown"
		condition["reason"] = "NodeStatusUnknown"
		condition["message"] = "Kubelet stopped posting node status."
	}
	return node
}
