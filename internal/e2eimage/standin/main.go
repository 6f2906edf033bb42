// Command standin stands in for every image of a site that the runtime
// test cannot pull: it listens on the ports the routed services use and
// answers each request with what it received, as JSON, so that a client
// on the far side of Traefik can tell which service, port and path a
// router delivered it to.
//
// Its arguments are ignored: the compose files give each image its own
// command, and the image holds the stand-in at each entrypoint path.
// One command is read: a healthcheck's `/bin/sh -c "nc -z HOST PORT"`
// (Kafka's, ksqlDB's), where the image's /bin/sh is the stand-in too,
// probes the port as nc would and exits 0 or 1.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// ports are where the routed services listen in the real images: api
// 8200, ui 80, grafana 3000, prometheus 9090, minio's console 9001 and
// S3 9000; 8080, 9100 and 9114 are scrape targets (cadvisor,
// node-exporter, a host's Elasticsearch exporter); Kafka's 9092 and
// ksqlDB's 8088 and 1099 (JMX), which their healthchecks probe.
var ports = []string{"80", "1099", "3000", "8080", "8088", "8200", "9000", "9001", "9090", "9092", "9100", "9114"}

// ncProbe reads a shell command `nc -z HOST PORT`, with an optional
// `|| exit 1` after it.
func ncProbe(cmd string) (addr string, ok bool) {
	f := strings.Fields(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(cmd), "|| exit 1")))
	if len(f) != 4 || f[0] != "nc" || f[1] != "-z" {
		return "", false
	}
	return net.JoinHostPort(f[2], f[3]), true
}

// Answer is what the stand-in replies with.
type Answer struct {
	Method string      `json:"method"`
	Host   string      `json:"host"`
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Header http.Header `json:"header"`
	// Local is the address the connection arrived on: the task's IP on
	// the network the router used, and the port.
	Local string `json:"local"`
	// Padding makes every answer longer than the compress middleware's
	// threshold (1024 bytes), so that compression is observable.
	Padding string `json:"padding"`
}

func main() {
	log.SetFlags(0)
	if len(os.Args) == 3 && os.Args[1] == "-c" {
		if addr, ok := ncProbe(os.Args[2]); ok {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				log.Printf("standin: %s: %v", os.Args[2], err)
				os.Exit(1)
			}
			c.Close()
			os.Exit(0)
		}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		a := Answer{Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header, Padding: strings.Repeat("x", 2048)}
		if local != nil {
			a.Local = local.String()
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(a); err != nil {
			log.Printf("answering %s: %v", r.URL, err)
		}
	})
	errs := make(chan error, len(ports))
	for _, p := range ports {
		srv := &http.Server{Addr: ":" + p, Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { errs <- fmt.Errorf("port %s: %w", p, srv.ListenAndServe()) }()
	}
	log.Printf("standin: listening on %s", strings.Join(ports, ", "))
	log.Fatal(<-errs)
}
