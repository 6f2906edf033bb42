package compose

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestForSwarm(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "drops the project name",
			in:   "name: x\nservices:\n  a:\n    image: a:1\n",
			want: "services:\n  a:\n    image: a:1\n",
		},
		{
			name: "published ports become integers",
			in:   "services:\n  a:\n    image: a:1\n    ports:\n      - target: 80\n        published: \"8080\"\n",
			want: "services:\n  a:\n    image: a:1\n    ports:\n      - target: 80\n        published: 8080\n",
		},
		{
			name: "byte sizes in units",
			in:   "services:\n  a:\n    deploy:\n      resources:\n        limits:\n          memory: \"134217728\"\n        reservations:\n          memory: \"1610612736\"\n    image: a:1\n",
			want: "services:\n  a:\n    image: a:1\n    deploy:\n      resources:\n        limits:\n          memory: 128M\n        reservations:\n          memory: 1536M\n",
		},
		{
			name: "odd byte sizes stay",
			in:   "services:\n  a:\n    image: a:1\n    deploy:\n      resources:\n        limits:\n          memory: \"1000\"\n",
			want: "services:\n  a:\n    image: a:1\n    deploy:\n      resources:\n        limits:\n          memory: \"1000\"\n",
		},
		{
			name: "option-less networks as a sorted list",
			in:   "services:\n  a:\n    image: a:1\n    networks:\n      z: null\n      b: null\n",
			want: "services:\n  a:\n    image: a:1\n    networks:\n      - b\n      - z\n",
		},
		{
			name: "networks with options stay a map",
			in:   "services:\n  a:\n    image: a:1\n    networks:\n      z: null\n      b:\n        aliases: [x]\n",
			want: "services:\n  a:\n    image: a:1\n    networks:\n      z: null\n      b:\n        aliases: [x]\n",
		},
		{
			name: "empty mount option maps go",
			in:   "services:\n  a:\n    image: a:1\n    volumes:\n      - type: bind\n        source: /x\n        target: /y\n        bind: {}\n",
			want: "services:\n  a:\n    image: a:1\n    volumes:\n      - type: bind\n        source: /x\n        target: /y\n",
		},
		{
			name: "service keys in reading order",
			in:   "services:\n  a:\n    deploy:\n      replicas: 2\n    networks: [n]\n    command: [x]\n    image: a:1\n",
			want: "services:\n  a:\n    image: a:1\n    command: [x]\n    networks: [n]\n    deploy:\n      replicas: 2\n",
		},
		{
			name: "long values are not folded",
			in:   "services:\n  a:\n    image: a:1\n    environment:\n      K: ${K:?" + strings.Repeat("word ", 30) + "}\n",
			want: "services:\n  a:\n    image: a:1\n    environment:\n      K: ${K:?" + strings.Repeat("word ", 29) + "word }\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ForSwarm([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, string(got)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestForSwarmRejectsNonMapping(t *testing.T) {
	for _, in := range []string{"- a\n- b\n", "just text\n"} {
		if _, err := ForSwarm([]byte(in)); err == nil {
			t.Errorf("ForSwarm(%q) succeeded", in)
		}
	}
}

func TestRenderNamesConfigsByContent(t *testing.T) {
	data := []byte(`{"services":{"a":{"image":"a:1","configs":[{"source":"c","target":"/c"}]}},"configs":{"c":{"file":"./c.yaml"}}}`)
	one, _, err := Render("s.cue", "st", data, map[string][]byte{"c.yaml": []byte("x: 1\n")})
	if err != nil {
		t.Fatal(err)
	}
	two, _, err := Render("s.cue", "st", data, map[string][]byte{"c.yaml": []byte("x: 2\n")})
	if err != nil {
		t.Fatal(err)
	}
	if string(one) == string(two) {
		t.Fatal("a changed config file kept its Swarm config name")
	}
	if !strings.Contains(string(one), "name: st_c-") {
		t.Errorf("config name not derived from stack and key:\n%s", one)
	}
	if _, _, err := Render("s.cue", "st", data, nil); err == nil || !strings.Contains(err.Error(), "not generated") {
		t.Errorf("a config whose file is not generated: err = %v", err)
	}
}

func TestHumanBytes(t *testing.T) {
	for in, want := range map[string]string{
		"1024": "1k", "1048576": "1M", "1073741824": "1G", "3221225472": "3G",
		"1536": "1536", "0": "0", "-1": "-1", "12abc": "12abc", "007": "007",
	} {
		if got := humanBytes(in); got != want {
			t.Errorf("humanBytes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecretVariable(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"nuvla_session_key", "NUVLA_SESSION_KEY_SECRET"},
		{"tls.crt", "TLS_CRT_SECRET"},
		{"a-b.c_9", "A_B_C_9_SECRET"},
	} {
		if got := SecretVariable(tc.name); got != tc.want {
			t.Errorf("SecretVariable(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestRenderNamesSecretsByVariable: an external secret is named by its
// variable, and two secrets one variable would name are refused.
func TestRenderNamesSecretsByVariable(t *testing.T) {
	data := []byte(`{"services":{"s":{"image":"x:1","secrets":["a.b"]}},"secrets":{"a.b":{"external":true}}}`)
	out, _, err := Render("site.cue", "st", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "name: ${A_B_SECRET:?" + SecretVariableHint + "}"; !strings.Contains(string(out), want) {
		t.Errorf("no %q in:\n%s", want, out)
	}
	data = []byte(`{"services":{"s":{"image":"x:1","secrets":["a.b","a_b"]}},"secrets":{"a.b":{"external":true},"a_b":{"external":true}}}`)
	if _, _, err := Render("site.cue", "st", data, nil); err == nil || !strings.Contains(err.Error(), "would both be named by $A_B_SECRET") {
		t.Errorf("colliding secrets: %v", err)
	}
}
