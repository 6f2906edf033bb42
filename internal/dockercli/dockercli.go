// Package dockercli runs the real docker CLI against the engine, for the
// tests that deploy to a real Swarm (internal/swarmtest,
// internal/runtimetest, internal/clustertest). Its environment is built here, not inherited.
package dockercli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CLI runs docker with only PATH, a scratch HOME (no operator
// config.json, no contexts) and DOCKER_HOST when the caller set one.
type CLI struct {
	env []string
}

// New returns a CLI whose HOME is home.
func New(home string) *CLI {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		env = append(env, "DOCKER_HOST="+h)
	}
	return &CLI{env: env}
}

// NewHost returns a CLI whose HOME is home that talks to the daemon at
// host (DOCKER_HOST's syntax, unix:///path), whatever the caller's
// DOCKER_HOST says: for a daemon the test started itself
// (internal/clustertest's nodes).
func NewHost(home, host string) *CLI {
	return &CLI{env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "DOCKER_HOST=" + host}}
}

// CmdError is a failed docker command with what it printed on stderr,
// which the failure tests match.
type CmdError struct {
	Args   []string
	Err    error
	Stderr string
}

func (e *CmdError) Error() string {
	return fmt.Sprintf("docker %s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Stderr))
}

func (e *CmdError) Unwrap() error { return e.Err }

// Opts are the optional parts of one command.
type Opts struct {
	Dir   string
	Env   []string // added to the base environment
	Stdin []byte
	// Stderr, when set, also receives what the command prints there.
	Stderr io.Writer
	// Timeout bounds the command; 90 seconds when zero.
	Timeout time.Duration
}

// Exec runs one docker command and returns its stdout; a failure is a
// *CmdError.
func (d *CLI) Exec(o Opts, args ...string) (string, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir = o.Dir
	cmd.Env = append(append([]string{}, d.env...), o.Env...)
	if o.Stdin != nil {
		cmd.Stdin = bytes.NewReader(o.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if o.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&stderr, o.Stderr)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), &CmdError{Args: args, Err: err, Stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// IsNotFound says whether a docker command failed because what it named
// does not exist (the daemon says "not found" or "no such").
func IsNotFound(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "not found") || strings.Contains(s, "no such")
}

// Run is Exec without options.
func (d *CLI) Run(args ...string) (string, error) { return d.Exec(Opts{}, args...) }

// Inspect runs `docker <kind> inspect` on names and decodes the JSON array
// it prints.
func (d *CLI) Inspect(kind string, names ...string) ([]map[string]any, error) {
	if len(names) == 0 {
		return nil, nil
	}
	return d.InspectJSON(append([]string{kind, "inspect"}, names...)...)
}

// InspectJSON runs a docker command that prints a JSON array of objects
// and decodes it, numbers kept as written.
func (d *CLI) InspectJSON(args ...string) ([]map[string]any, error) {
	out, err := d.Run(args...)
	if err != nil {
		return nil, err
	}
	var v []map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("docker %s: %w", strings.Join(args, " "), err)
	}
	return v, nil
}

// Lines runs a listing command and returns its non-empty output lines.
func (d *CLI) Lines(args ...string) ([]string, error) {
	out, err := d.Run(args...)
	if err != nil {
		return nil, err
	}
	var l []string
	for s := range strings.SplitSeq(out, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			l = append(l, s)
		}
	}
	return l, nil
}

// Env is the environment docker runs in: for a script that runs docker
// itself (deploy.sh), so that it sees the engine as the tests do.
func (d *CLI) Env() []string { return append([]string{}, d.env...) }
