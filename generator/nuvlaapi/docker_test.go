package nuvlaapi

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/generator/configure"
)

// fakeDocker is a docker CLI that wants exactly the one-off container
// DockerTransport asks for (on the backend network, the image's curl as
// entry point) and runs the real curl with the arguments that follow,
// connected to addr when they name es:9200: what the container would do
// on the backend network.
const fakeDocker = `#!/bin/bash
set -euo pipefail
want=(run --rm -i --network nuvla-backend --entrypoint curl nuvla/es:8.11.3.0)
for w in "${want[@]}"; do
	if [[ ${1-} != "$w" ]]; then
		printf 'fake docker: got %q, want %q\n' "${1-}" "$w" >&2
		exit 125
	fi
	shift
done
exec curl --connect-to "es:9200:$FAKE_ES_ADDR" "$@"
`

func TestDockerTransport(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		// CI (which sets it, and installs curl in .ci/run) must not skip.
		if os.Getenv("NUVLAGEN_E2E_SWARM") != "" {
			t.Fatal("curl is missing (.ci/run installs it)")
		}
		t.Skip("curl is missing: the fake docker runs it")
	}
	docker := filepath.Join(t.TempDir(), "docker")
	if err := os.WriteFile(docker, []byte(fakeDocker), 0o755); err != nil {
		t.Fatal(err)
	}
	c := newConfigured(t)
	u, _ := url.Parse(c.es.srv.URL)
	t.Setenv("FAKE_ES_ADDR", u.Host)
	d := c.doc(t)
	e := d.Elasticsearch
	tr := &DockerTransport{Docker: docker, Network: e.Network, Image: e.Image}
	run := func(p *configure.Plan) ([]string, error) {
		var got []string
		err := Configure(context.Background(), c.nuvla.client(t), NewES(e.URL, &http.Client{Transport: tr}), p, func(r Result) { got = append(got, r.String()) })
		return got, err
	}
	if _, err := run(c.plan(t, d)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(esFresh, c.es.requests()); diff != "" {
		t.Errorf("requests through docker (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(toJSON(e.Repository.Body), toJSON(c.es.records()[1].Body)); diff != "" {
		t.Errorf("PUT _snapshot through docker (-want +got):\n%s", diff)
	}
	got, err := run(c.plan(t, d))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got[1], "unchanged") || !strings.HasPrefix(got[2], "unchanged") {
		t.Errorf("second run through docker: %q", got)
	}

	// Elasticsearch not up: curl's own message, and a hint.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_ES_ADDR", l.Addr().String())
	l.Close()
	_, err = run(c.plan(t, d))
	if err == nil || !strings.Contains(err.Error(), "curl: (7)") || !strings.Contains(err.Error(), "is the db stack up?") {
		t.Errorf("with Elasticsearch down: %v", err)
	}
}
