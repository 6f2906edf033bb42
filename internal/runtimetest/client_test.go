package runtimetest

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// client talks to the node's published ports, whatever host a URL
// names: the Host header and the TLS server name stay the site's, the
// connection goes to this machine. It trusts only the site's CA, follows
// no redirect, and asks for no compression unless told.
type client struct {
	http *http.Client
}

func newClient(roots *x509.CertPool) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
		TLSClientConfig:    &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		DisableCompression: true,
		DisableKeepAlives:  true,
	}
	return &client{http: &http.Client{
		Transport:     tr,
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// reply is one response, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
	tls    *tls.ConnectionState
}

// request is one request of a check.
type request struct {
	url        string
	user, pass string
	gzip       bool
	header     http.Header
}

func (c *client) do(r request) (*reply, error) {
	req, err := http.NewRequest(http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	if r.gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %w", r.url, err)
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: body, tls: resp.TLS}, nil
}

// answer is what the stand-in replies (standin.Answer).
type answer struct {
	Method string      `json:"method"`
	Host   string      `json:"host"`
	Path   string      `json:"path"`
	Header http.Header `json:"header"`
	Local  string      `json:"local"`
}

// answer decodes a stand-in's reply, gunzipping it when it is
// compressed.
func (r *reply) answer() (*answer, error) {
	body := r.body
	if r.header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(strings.NewReader(string(body)))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("not a stand-in's answer (%v): %.200q", err, body)
	}
	return &a, nil
}
