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
