package swarmimport

import (
	"slices"
	"strings"
	"testing"
)

// hostSwarm is a host of four nodes, one per type, running Traefik, the
// database and the api; streams adds its services to it.
func hostSwarm(streams ...Service) *Snapshot {
	return &Snapshot{
		Nodes: []Node{
			{Hostname: "h-1", Addr: "192.0.2.10", Role: "manager", Labels: map[string]string{"type": "frontend", "edge": "true"}},
			{Hostname: "h-2", Addr: "192.0.2.11", Role: "worker", Labels: map[string]string{"type": "worker-job"}},
			{Hostname: "h-3", Addr: "192.0.2.12", Role: "worker", Labels: map[string]string{"type": "worker-db"}},
			{Hostname: "h-4", Addr: "192.0.2.13", Role: "worker", Labels: map[string]string{"type": "worker-streams"}},
		},
		Services: append([]Service{
			{Name: "traefik_traefik", Stack: "traefik", Short: "traefik", Image: "traefik:v3.3.6", Replicas: 1, Networks: []string{"traefik-public"}},
			{Name: "db_es", Stack: "db", Short: "es", Image: "nuvla/es:8.11.3.0", Replicas: 1, Networks: []string{"nuvla-backend"}},
			{Name: "nuvla_api", Stack: "nuvla", Short: "api", Image: "nuvla/api:6.18.0", Replicas: 1, Networks: []string{"nuvla-backend", "traefik-public"},
				Env:    []string{"KAFKA_PRODUCER_INIT=yes", "KAFKA_ENDPOINTS=kafka:9092"},
				Labels: map[string]string{"traefik.http.routers.api.rule": "Host(`nuvla.example.org`) && PathPrefix(`/api`)", "traefik.swarm.network": "traefik-public"}},
		}, streams...),
		Networks: []Network{{Name: "nuvla-backend"}, {Name: "traefik-public"}},
	}
}

// TestAdoptStreams: import recognises the streams stack by what its
// services run, whatever the stack and the services are called, and
// keeps the Swarm's stack name and Kafka's node type.
func TestAdoptStreams(t *testing.T) {
	backend := []string{"nuvla-backend"}
	for _, tc := range []struct {
		name    string
		snap    *Snapshot
		want    []string // in the site file
		absent  []string // not in the site file
		notes   []string
		changes []string
	}{{
		name:   "no streams",
		snap:   hostSwarm(),
		absent: []string{"enabled"},
	}, {
		name: "upstream's single file",
		snap: hostSwarm(
			Service{Name: "streams_kafka", Stack: "streams", Short: "kafka", Image: "confluentinc/cp-kafka:7.2.1", Replicas: 1, Networks: backend},
			Service{Name: "streams_ksqldb-server", Stack: "streams", Short: "ksqldb-server", Image: "confluentinc/cp-ksqldb-server:7.2.1", Replicas: 1, Networks: backend},
			Service{Name: "streams_notify-email", Stack: "streams", Short: "notify-email", Image: "nuvla/kafka-notify:0.10.0", Replicas: 1, Networks: backend},
		),
		want:    []string{"streams: {\n\t\t\tenabled: true\n\t\t}"},
		absent:  []string{"nodeType", "stackNames"},
		notes:   []string{"streams: on, the Swarm runs streams_kafka, streams_ksqldb-server, streams_notify-email", "streams.nodeType: Kafka is not pinned"},
		changes: []string{"service streams_kafka: changed", "service streams_notify-slack: created", "service streams_subs-notifs: created"},
	}, {
		name: "renamed, brokers of other names, on the job node",
		snap: hostSwarm(
			Service{Name: "events_kafka1", Stack: "events", Short: "kafka1", Image: "confluentinc/cp-kafka:6.1.0", Replicas: 1, Networks: backend,
				Constraints: []string{"node.labels.type == worker-job"}},
			Service{Name: "events_kafka2", Stack: "events", Short: "kafka2", Image: "confluentinc/cp-kafka:6.1.0", Replicas: 1, Networks: backend,
				Constraints: []string{"node.labels.type == worker-job"}},
			Service{Name: "events_ksql", Stack: "events", Short: "ksql", Image: "confluentinc/ksqldb-server:0.15.0", Replicas: 1, Networks: backend},
		),
		want:    []string{"enabled:  true", `nodeType: "worker-job"`, `streams: "events"`},
		notes:   []string{"streams: 2 Kafka brokers (events_kafka1, events_kafka2)", "stackNames.streams: events, the Swarm's stack of 3 of its services"},
		changes: []string{"service events_kafka: created", "service events_kafka1: left behind", "service events_ksql: left behind"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Adopt(tc.snap, Options{SiteName: "h"})
			if err != nil {
				t.Fatalf("%v\n%s", err, r.Site)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(r.Site), w) {
					t.Errorf("the site file lacks %s:\n%s", w, r.Site)
				}
			}
			for _, w := range tc.absent {
				if strings.Contains(string(r.Site), w) {
					t.Errorf("the site file has %s:\n%s", w, r.Site)
				}
			}
			for _, w := range tc.notes {
				if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, w) }) {
					t.Errorf("no note says %q: %q", w, r.Notes)
				}
			}
			for _, w := range tc.changes {
				if !slices.ContainsFunc(r.Changes, func(n string) bool { return strings.HasPrefix(n, w) }) {
					t.Errorf("no change says %q: %q", w, r.Changes)
				}
			}
		})
	}
}
