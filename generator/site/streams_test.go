package site

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/diag"
)

// TestStreams: the streams stack is off unless a host site turns it on;
// on, it is deployed between the database and the core, named by
// stackNames.streams, placed by streams.nodeType, and the api gets its
// Kafka variables. What the model refuses, it refuses at the site file.
func TestStreams(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	const host = `package nuvla
sites: h: {
	kind:   "host"
	domain: "nuvla.example.org"
	nodes: {
		m1: {address: "192.0.2.10", role: "manager", labels: type: "frontend"}
		w1: {address: "192.0.2.11", role: "worker", labels: type: "worker-job"}
		w2: {address: "192.0.2.12", role: "worker", labels: type: "worker-db"}
		%s
	}
	groups: management: ["198.51.100.0/28"]
	%s
}
`
	const streamsNode = `w3: {address: "192.0.2.13", role: "worker", labels: type: "worker-streams"}`
	const target = `package nuvla
sites: t: {
	kind:   "target"
	domain: "t.example.org"
	nodes: m1: {address: "203.0.113.10", role: "manager", nfsServer: true}
	groups: {management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32"]}
	%s
}
`
	for _, tc := range []struct {
		name, src string
		// order is the deploy order of the stacks; "" when the site
		// must not load.
		order string
		// constraint is the placement of Kafka.
		constraint string
		// err is a line the errors must hold.
		err string
	}{
		{name: "off by default", src: sprintf(host, streamsNode, ""), order: "traefik prometheus db nuvla"},
		{name: "off", src: sprintf(host, "", "streams: enabled: false"), order: "traefik prometheus db nuvla"},
		{name: "on", src: sprintf(host, streamsNode, "streams: enabled: true"), order: "traefik prometheus db streams nuvla",
			constraint: "node.labels.type == worker-streams"},
		{name: "on, another node type, renamed", src: sprintf(host, "", `streams: {enabled: true, nodeType: "worker-job"}, stackNames: streams: "events"`),
			order: "traefik prometheus db events nuvla", constraint: "node.labels.type == worker-job"},
		{name: "on without a streams node", src: sprintf(host, "", "streams: enabled: true"),
			err: `h.cue:5:2: stack streams, service kafka: no node satisfies node.labels.type == worker-streams (give a node labels: "type": "worker-streams")`},
		{name: "unknown node type", src: sprintf(host, streamsNode, `streams: {enabled: true, nodeType: "worker-kafka"}`),
			err: `h.cue:12:37: sites.h.streams.nodeType: "worker-kafka" is not allowed; want one of "frontend", "worker-db", "worker-job", "worker-streams"`},
		{name: "renamed while off", src: sprintf(host, streamsNode, `stackNames: streams: "events"`), order: "traefik prometheus db nuvla"},
		{name: "renamed as another stack", src: sprintf(host, streamsNode, `streams: enabled: true, stackNames: streams: "db"`),
			err: `h.cue:12:47: stackNames: db and streams are both called "db": each stack needs its own name`},
		{name: "on a target", src: sprintf(target, "streams: enabled: true"),
			err: `t.cue:7:2: sites.t.streams: only a host site has this field (this site is a target)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sites, err := l.Load("h.cue", []byte(tc.src))
			if strings.HasPrefix(tc.src, "package nuvla\nsites: t:") {
				sites, err = l.Load("t.cue", []byte(tc.src))
			}
			if tc.err != "" {
				lines := diag.Lines(err, "")
				if !slices.Contains(lines, tc.err) {
					t.Fatalf("errors:\n%s\nwant the line\n%s", strings.Join(lines, "\n"), tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(strings.Join(diag.Lines(err, ""), "\n"))
			}
			s := sites[0]
			var names []string
			var streams *Stack
			for i, st := range s.Stacks {
				names = append(names, st.Name)
				if st.Role == "streams" {
					streams = &s.Stacks[i]
				}
			}
			if got := strings.Join(names, " "); got != tc.order {
				t.Errorf("deploy order %q, want %q", got, tc.order)
			}
			if s.Streams.Enabled != (tc.constraint != "") || (streams != nil) != s.Streams.Enabled {
				t.Fatalf("streams enabled %v, stack %v; want on: %v", s.Streams.Enabled, streams != nil, tc.constraint != "")
			}
			env := apiEnvironment(t, s)
			kafka := env["KAFKA_PRODUCER_INIT"] + " " + env["KAFKA_ENDPOINTS"]
			if !s.Streams.Enabled {
				if strings.TrimSpace(kafka) != "" {
					t.Errorf("streams off, the api has Kafka variables %q", kafka)
				}
				return
			}
			if kafka != "yes kafka:9092" {
				t.Errorf("the api's KAFKA_PRODUCER_INIT and KAFKA_ENDPOINTS are %q, want \"yes kafka:9092\"", kafka)
			}
			if c, _ := s.ServiceConstraints(streams.Name, "kafka"); !slices.Equal(c, []string{tc.constraint}) {
				t.Errorf("kafka's constraints %v, want [%s]", c, tc.constraint)
			}
			if len(streams.Files) != 1 || streams.Files[0].Name != "statements.sql" || !streams.Files[0].Text ||
				!strings.Contains(string(streams.Files[0].Data), "CREATE STREAM NOTIFICATIONS_S") {
				t.Errorf("the streams stack's files are not ksqlDB's statements as text: %+v", streams.Files)
			}
		})
	}
}

func sprintf(format string, a ...string) string {
	for _, s := range a {
		format = strings.Replace(format, "%s", s, 1)
	}
	return format
}

// apiEnvironment is the environment of the core stack's api.
func apiEnvironment(t *testing.T, s *Site) map[string]string {
	t.Helper()
	for _, st := range s.Stacks {
		if st.Role != "core" {
			continue
		}
		var c struct {
			Services map[string]struct {
				Environment map[string]string `json:"environment"`
			} `json:"services"`
		}
		if err := json.Unmarshal(st.Compose, &c); err != nil {
			t.Fatal(err)
		}
		return c.Services["api"].Environment
	}
	t.Fatal("no core stack")
	return nil
}
