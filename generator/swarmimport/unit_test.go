package swarmimport

import (
	"errors"
	"slices"
	"strings"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/site"
)

func TestRepository(t *testing.T) {
	for _, tc := range []struct{ in, repo, pinned string }{
		{"traefik:v3.3", "traefik", "traefik:v3.3"},
		{"google/cadvisor", "google/cadvisor", "google/cadvisor"},
		{"docker.io/nuvla/api:6.18.0@sha256:" + strings.Repeat("a", 64), "nuvla/api", "docker.io/nuvla/api:6.18.0"},
		{"nuvla/api@sha256:" + strings.Repeat("b", 64), "nuvla/api", "nuvla/api@sha256:" + strings.Repeat("b", 64)},
		{"registry:5000/minio/minio:RELEASE.x", "registry:5000/minio/minio", "registry:5000/minio/minio:RELEASE.x"},
	} {
		if got := repository(tc.in); got != tc.repo {
			t.Errorf("repository(%q) = %q, want %q", tc.in, got, tc.repo)
		}
		if got := withoutDigest(tc.in); got != tc.pinned {
			t.Errorf("withoutDigest(%q) = %q, want %q", tc.in, got, tc.pinned)
		}
	}
}

// targetSwarm is a one-node target: Minio behind Traefik, on its
// domain and its S3 domain.
func targetSwarm() *Snapshot {
	return &Snapshot{
		Nodes: []Node{{Hostname: "t-1", Addr: "203.0.113.10", Role: "manager", Labels: map[string]string{"nfs-server": "true", "type": "frontend"}}},
		Services: []Service{
			{Name: "minio_minio", Stack: "minio", Short: "minio", Image: "minio/minio:RELEASE.2022-10-24T18-35-07Z@sha256:" + strings.Repeat("c", 64), Replicas: 1,
				Networks: []string{"edge-net"}, Labels: map[string]string{
					"traefik.http.routers.console.rule": "Host(`t.example.org`) && PathPrefix(`/minio`)",
					"traefik.http.routers.s3.rule":      "Host(`s3.t.example.org`)",
					"traefik.swarm.network":             "edge-net",
				}},
			{Name: "traefik_traefik", Stack: "traefik", Short: "traefik", Image: "traefik:v3.3.6", Replicas: 1, Networks: []string{"edge-net"}},
		},
		Networks: []Network{{Name: "edge-net"}},
	}
}

// TestAdopt: what each kind of Swarm makes of the site file, and what
// import refuses.
func TestAdopt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		snap  func() *Snapshot
		want  []string // in the site file
		notes []string // in the notes
		err   string
	}{{
		name:  "target",
		snap:  targetSwarm,
		want:  []string{`domain: "t.example.org"`, `nfsServer: true`, `public: "edge-net"`, `"t-1": {`},
		notes: []string{"label type=frontend left out", "groups.nuvla: guessed 203.0.113.0/24"},
	}, {
		name: "target without nfs-server label",
		snap: func() *Snapshot {
			s := targetSwarm()
			s.Nodes[0].Labels = nil
			return s
		},
		want:  []string{`nfsServer: true`},
		notes: []string{"no node is labelled nfs-server=true: guessed t-1"},
	}, {
		name: "an image other than the pin, by digest",
		snap: func() *Snapshot {
			s := targetSwarm()
			s.Services[1].Image = "traefik:v3.4.0@sha256:" + strings.Repeat("d", 64)
			return s
		},
		want:  []string{`traefik: "traefik:v3.4.0"`},
		notes: []string{"images.traefik: traefik:v3.4.0, what traefik_traefik runs"},
	}, {
		name: "no Nuvla service",
		snap: func() *Snapshot {
			s := targetSwarm()
			s.Services = s.Services[1:]
			return s
		},
		err: "cannot tell the site's kind",
	}, {
		name: "no IPv4 manager",
		snap: func() *Snapshot {
			s := targetSwarm()
			s.Nodes[0].Addr = "2001:db8::1"
			return s
		},
		err: "no manager has an IPv4 address",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Adopt(tc.snap(), Options{SiteName: "t"})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(r.Site), w) {
					t.Errorf("the site file lacks %s:\n%s", w, r.Site)
				}
			}
			for _, w := range tc.notes {
				if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, w) }) {
					t.Errorf("no note says %q: %q", w, r.Notes)
				}
			}
		})
	}
}

// TestAdoptDoesNotLoad: a Swarm whose site the model refuses still gets
// its file, and the loader's positioned errors.
func TestAdoptDoesNotLoad(t *testing.T) {
	s := targetSwarm()
	s.Nodes[0].Hostname = "Not_A_Name"
	r, err := Adopt(s, Options{SiteName: "t", File: "t.cue"})
	var le *LoadError
	if !errors.As(err, &le) || r == nil || len(r.Site) == 0 {
		t.Fatalf("want the file and a *LoadError, got %v", err)
	}
	if !strings.HasPrefix(le.Lines[0], "t.cue:") {
		t.Errorf("the error is not positioned in the file: %q", le.Lines)
	}
}

// TestMaskEnv: no value of either side survives, and the words say
// whether the values differ.
func TestMaskEnv(t *testing.T) {
	l := &spec{Environment: map[string]string{"SAME": "s3cret", "DIFF": "old-secret", "GONE": "x", "FROM_ENV": "hunter2"}}
	g := &spec{Environment: map[string]string{"SAME": "s3cret", "DIFF": "new-secret", "NEW": "y", "FROM_ENV": "${FROM_ENV:?the password}"}}
	maskEnv(l, g)
	wantL := map[string]string{"SAME": valueSet, "DIFF": valueSwarm, "GONE": valueSet, "FROM_ENV": valueDeploy}
	wantG := map[string]string{"SAME": valueSet, "DIFF": valueSite, "NEW": valueSet, "FROM_ENV": valueDeploy}
	for _, side := range []struct {
		got, want map[string]string
	}{{l.Environment, wantL}, {g.Environment, wantG}} {
		for k, w := range side.want {
			if side.got[k] != w {
				t.Errorf("%s = %q, want %q", k, side.got[k], w)
			}
		}
	}
	one := &spec{Environment: map[string]string{"A": "s3cret"}}
	maskEnv(one, nil)
	if one.Environment["A"] != valueSet {
		t.Errorf("a service on one side keeps its value %q", one.Environment["A"])
	}
}

// TestAdoptStackNames: with a model whose sites name their stacks, the
// Swarm's names of the model's stacks are written where they differ.
func TestAdoptStackNames(t *testing.T) {
	model := append(nuvlacue.Schema(), nuvlacue.File{Name: "stacknames.cue", Data: []byte(`package nuvla
#SiteInput: stackNames: [string]: string
`)})
	l, err := site.NewLoaderFromFiles(model)
	if err != nil {
		t.Fatal(err)
	}
	s := targetSwarm()
	s.Services = append(s.Services, Service{Name: "prom_grafana", Stack: "prom", Short: "grafana", Image: "grafana/grafana:7.4.3", Replicas: 1})
	r, err := Adopt(s, Options{SiteName: "t", Loader: l})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Site), "stackNames: {\n\t\t\tmonitoring: \"prom\"\n\t\t}") || strings.Contains(string(r.Site), `minio: "minio"`) {
		t.Errorf("want the monitoring stack named prom, and no other:\n%s", r.Site)
	}
}

func TestGraphic(t *testing.T) {
	for in, want := range map[string]string{"plain é": "plain é", "a\x1b[31mb": `a\x1b[31mb`, "l\nn": `l\nn`} {
		if got := graphic(in); got != want {
			t.Errorf("graphic(%q) = %q, want %q", in, got, want)
		}
	}
}
