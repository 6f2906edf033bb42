// Command standin stands in for every image of a site that the runtime
// test cannot pull: it listens on the ports the routed services use and
// answers each request with what it received, as JSON, so that a client
// on the far side of Traefik can tell which service, port and path a
// router delivered it to.
//
// Its arguments are ignored: the compose files give each image its own
// command, and the image holds the stand-in at each entrypoint path.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"
)

// ports are where the routed services listen in the real images: api
// 8200, ui 80, grafana 3000, prometheus 9090, minio's console 9001 and
// S3 9000; 8080, 9100 and 9114 are scrape targets (cadvisor,
// node-exporter, a host's Elasticsearch exporter).
var ports = []string{"80", "3000", "8080", "8200", "9000", "9001", "9090", "9100", "9114"}

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
