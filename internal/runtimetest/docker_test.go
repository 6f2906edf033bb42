package runtimetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// dockerCLI runs the real docker CLI against the engine. Its environment
// is built here, not inherited: only PATH, a scratch HOME (no operator
// config.json, no contexts) and DOCKER_HOST when the caller set one.
type dockerCLI struct {
	env []string
}

func newDockerCLI(home string) *dockerCLI {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		env = append(env, "DOCKER_HOST="+h)
	}
	return &dockerCLI{env: env}
}

// cmdError is a failed docker command with what it printed on stderr,
// which the failure tests match.
type cmdError struct {
	args   []string
	err    error
	stderr string
}

func (e *cmdError) Error() string {
	return fmt.Sprintf("docker %s: %v: %s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.stderr))
}

// runOpts are the optional parts of one command.
type runOpts struct {
	dir   string
	env   []string // added to the base environment
	stdin []byte
	// stderr, when set, also receives what the command prints there.
	stderr io.Writer
	// timeout bounds the command; 90 seconds when zero.
	timeout time.Duration
}

// exec runs one docker command and returns its stdout.
func (d *dockerCLI) exec(o runOpts, args ...string) (string, error) {
	timeout := o.timeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir = o.dir
	cmd.Env = append(append([]string{}, d.env...), o.env...)
	if o.stdin != nil {
		cmd.Stdin = bytes.NewReader(o.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if o.stderr != nil {
		cmd.Stderr = io.MultiWriter(&stderr, o.stderr)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), &cmdError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// run runs one docker command with no options.
func (d *dockerCLI) run(args ...string) (string, error) {
	return d.exec(runOpts{}, args...)
}

// lines runs a listing command and returns its non-empty output lines.
func (d *dockerCLI) lines(args ...string) ([]string, error) {
	out, err := d.run(args...)
	if err != nil {
		return nil, err
	}
	var l []string
	for _, s := range strings.Split(out, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			l = append(l, s)
		}
	}
	return l, nil
}
