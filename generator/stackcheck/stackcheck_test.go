package stackcheck

import (
	"strings"
	"testing"
)

// The cases where compose-go and the docker CLI's stack loader disagree
// are the reason both run: each must be caught by the right one.
func TestCheck(t *testing.T) {
	const ok = "services:\n  a:\n    image: a:1\n"
	tests := []struct {
		name, in string
		env      map[string]string
		wantErr  string // substring; "" means valid
	}{
		{name: "valid", in: ok},
		{name: "top-level name", in: "name: x\n" + ok, wantErr: "docker stack: (root): additional property 'name' is not allowed"},
		{name: "long-form depends_on", in: "services:\n  a:\n    image: a:1\n    depends_on:\n      b:\n        condition: service_started\n  b:\n    image: b:1\n", wantErr: "docker stack: services.a.depends_on: must be a list"},
		{name: "deploy key outside the stack list", in: "services:\n  a:\n    image: a:1\n    deploy:\n      replicas: 1\n      foo: bar\n", wantErr: "deploy"},
		{name: "host IP in long-form ports", in: "services:\n  a:\n    image: a:1\n    ports:\n      - target: 80\n        published: 80\n        host_ip: 127.0.0.1\n", wantErr: "docker stack"},
		{name: "restart is ignored by Swarm", in: "services:\n  a:\n    image: a:1\n    restart: always\n", wantErr: "ignores restart"},
		{name: "privileged is ignored by Swarm", in: "services:\n  a:\n    image: a:1\n    privileged: true\n", wantErr: "ignores privileged"},
		{name: "container_name is deprecated", in: "services:\n  a:\n    image: a:1\n    container_name: xy\n", wantErr: "deprecated container_name"},
		{name: "forbidden extends", in: "services:\n  a:\n    image: a:1\n    extends:\n      service: b\n  b:\n    image: b:1\n", wantErr: "forbids extends: Support for `extends` is not implemented yet."},
		{name: "undefined network", in: "services:\n  a:\n    image: a:1\n    networks: [nope]\n", wantErr: "compose-go"},
		{name: "undefined secret", in: "services:\n  a:\n    image: a:1\n    secrets: [nope]\n", wantErr: "compose-go"},
		{name: "required variable unset", in: "services:\n  a:\n    image: a:1\n    environment:\n      X: ${X:?set X}\n", wantErr: "set X"},
		{name: "required variable set", in: "services:\n  a:\n    image: a:1\n    environment:\n      X: ${X:?set X}\n", env: map[string]string{"X": "1"}},
		{name: "not YAML", in: "services: [\n", wantErr: "yaml: line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check("stack.yml", []byte(tt.in), tt.env)
			// The shortcut path must give the loaders' own verdict.
			slow := Compose("stack.yml", []byte(tt.in), tt.env)
			if slow == nil {
				slow = Stack("stack.yml", []byte(tt.in), tt.env)
			}
			if (err == nil) != (slow == nil) {
				t.Fatalf("Check says %v; compose-go then the docker CLI's loader say %v", err, slow)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("accepted; want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}
