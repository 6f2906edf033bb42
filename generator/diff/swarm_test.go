package diff

import (
	"strings"
	"testing"
)

// state is a Swarm of managers m1..mN and workers w1..wN with labels.
func state(managers, workers int, labels map[string]map[string]string) swarmState {
	s := swarmState{roles: map[string]string{}, labels: labels}
	for i := 1; i <= managers; i++ {
		s.roles["m"+string(rune('0'+i))] = "manager"
	}
	for i := 1; i <= workers; i++ {
		s.roles["w"+string(rune('0'+i))] = "worker"
	}
	return s
}

func TestSwarmChanges(t *testing.T) {
	edge := func(n string) map[string]map[string]string {
		return map[string]map[string]string{"edge": {n: "true"}}
	}
	for _, tc := range []struct {
		name     string
		old, new swarmState
		want     []string // "kind: text fragment", in order
	}{
		{"nothing", state(3, 1, edge("m1")), state(3, 1, edge("m1")), nil},
		{"edge moves", state(3, 0, edge("m1")), state(3, 0, edge("m2")),
			[]string{"placement: edge moves from m1 to m2: Traefik"}},
		{"nfs server moves", state(1, 1, map[string]map[string]string{"nfs-server": {"m1": "true"}}), state(1, 1, map[string]map[string]string{"nfs-server": {"w1": "true"}}),
			[]string{"placement: nfs-server moves from m1 to w1: Minio's data"}},
		{"type changes", state(1, 2, map[string]map[string]string{"type": {"w1": "worker-job", "w2": "worker-db"}}), state(1, 2, map[string]map[string]string{"type": {"w1": "worker-job", "w2": "worker-job"}}),
			[]string{"placement: type of w2: worker-db → worker-job"}},
		{"type removed", state(1, 1, map[string]map[string]string{"type": {"w1": "worker-db"}}), state(1, 1, map[string]map[string]string{}),
			[]string{"placement: type worker-db removed from w1"}},
		{"a new node's type is no move", state(1, 0, map[string]map[string]string{}), state(1, 1, map[string]map[string]string{"type": {"w1": "worker-db"}}), nil},
		{"one to three managers", state(1, 2, nil), state(3, 0, nil),
			[]string{"managers: managers: 1 → 3; deploy.sh does not change roles"}},
		{"three to two", state(3, 0, nil), state(2, 1, nil),
			[]string{"managers: managers: 3 → 2; deploy.sh", "quorum: managers: 3 → 2: the Swarm no longer survives the loss of a manager"}},
		{"three to one", state(3, 0, nil), state(1, 2, nil),
			[]string{"managers: managers: 3 → 1", "quorum: managers: 3 → 1: the Swarm no longer survives"}},
		{"three to four", state(3, 1, nil), state(4, 0, nil),
			[]string{"managers: managers: 3 → 4", "quorum: managers: 3 → 4, an even number: it tolerates no more lost managers than 3 (1)"}},
		{"five to three", state(5, 0, nil), state(3, 2, nil),
			[]string{"managers: managers: 5 → 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := swarmChanges("s", tc.old, tc.new)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d risks, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				kind, text, _ := strings.Cut(w, ": ")
				if got[i].Kind != kind || !strings.Contains(got[i].Text, text) || got[i].Site != "s" {
					t.Errorf("risk %d: %+v, want kind %s with %q", i, got[i], kind, text)
				}
			}
		})
	}
}

// TestHeadline: the topology of two Swarms in a line, and a line per
// change.
func TestHeadline(t *testing.T) {
	o := state(3, 3, map[string]map[string]string{"edge": {"m1": "true"}, "nfs-server": {"w1": "true"}, "type": {"w1": "a", "w2": "b"}})
	n := state(3, 2, map[string]map[string]string{"edge": {"m2": "true"}, "nfs-server": {"w1": "true"}, "type": {"w1": "b", "w2": "a"}})
	o.addresses = map[string]string{"m1": "10.0.0.1", "m2": "10.0.0.2", "m3": "10.0.0.3", "w1": "10.0.0.4", "w2": "10.0.0.5", "w3": "10.0.0.6"}
	n.addresses = map[string]string{"m1": "10.0.0.1", "m2": "10.0.0.9", "m3": "10.0.0.3", "w1": "10.0.0.4", "w2": "10.0.0.5", "w4": "10.0.0.7", "w5": "10.0.0.8"}
	n.roles["m3"] = "worker"
	n.roles["w4"], n.roles["w5"] = "worker", "worker"
	sd := &SiteDiff{Topology: nodeChanges(o, n)}
	var lines []string
	for _, c := range sd.Topology {
		lines = append(lines, string(c.Op)+" "+c.Text)
	}
	want := []string{
		"- node w3 removed (worker, 10.0.0.6)",
		"~ node m2: address 10.0.0.2 → 10.0.0.9",
		"~ node m3: role manager → worker",
		"+ node w4 added (worker, 10.0.0.7)",
		"+ node w5 added (worker, 10.0.0.8)",
		"~ edge moves from m1 to m2",
		"~ type of w1: a → b",
		"~ type of w2: b → a",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	sd.Topology = append(sd.Topology, imageChanges(map[string]string{"s/a": "x:1", "s/b": "x:1"}, map[string]string{"s/a": "x:2", "s/b": "x:2"})...)
	if got, want := sd.Headline(), "node w3 removed; nodes w4 and w5 added; m3 now a worker; address of m2 changed; edge moves to m2; types of w1 and w2 changed; image x 1 → 2"; got != want {
		t.Errorf("headline:\n%s\nwant\n%s", got, want)
	}
}
