// Package e2eimage builds the images the end-to-end tests deploy where
// no image can be pulled (internal/runtimetest, internal/clustertest):
// Traefik, built once from the Go module proxy into the user's cache
// directory, and the stand-in (./standin) for every other image of the
// model, each in a FROM scratch image.
package e2eimage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
)

// TraefikModule and TraefikVersion are the Traefik the tests run. The
// stacks pin traefik:v3.3.6, but the Go module proxy refuses that
// version (and v3.7.13, or a dependency of it); v3.6.12 is the newest
// v3.6 it serves whole. The labels and files the model writes use
// nothing newer than v3.3 (the swarm provider, traefik.swarm.network).
const (
	TraefikModule  = "github.com/traefik/traefik/v3"
	TraefikVersion = "v3.6.12"
)

// Image names the tests build and remove again.
const (
	TraefikImage = "nuvlagen-e2e/traefik:" + TraefikVersion
	// StandinRepo tags the stand-in once for each image key it stands in
	// for: the generator tells services apart by image (Elasticsearch's,
	// for verify.sh), as it would the real ones.
	StandinRepo = "nuvlagen-e2e/standin"
)

// Standin is the stand-in's tag for the model's image key.
func Standin(key string) string { return StandinRepo + ":" + key }

// standinPackage is the stand-in's import path: built from wherever
// the test runs inside the module.
const standinPackage = "github.com/nuvla/nuvlagen/internal/e2eimage/standin"

// TraefikPath is where Traefik's build goes:
// ${XDG_CACHE_HOME:-~/.cache}/nuvlagen/traefik-<version>/traefik,
// outside any repository.
func TraefikPath() (string, error) {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory for Traefik's build: %w", err)
		}
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "nuvlagen", "traefik-"+TraefikVersion, "traefik"), nil
}

// FindTraefik returns the path of a static Traefik binary, built once
// from the module proxy into TraefikPath and reused while its version
// checks out: the build takes minutes on two idle cores, and has been
// seen to take over 25 on two cores shared with other builds; timeout
// bounds it, and a timeout of 0 builds nothing.
func FindTraefik(timeout time.Duration) (string, error) {
	bin, err := TraefikPath()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(bin)
	if err := CheckTraefik(bin); err == nil {
		return bin, nil
	}
	if timeout == 0 {
		return "", errors.New("not built, and the test binary's -timeout leaves no time for the build (`make runtime-traefik` builds it)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// One build at a time, from any work tree: a second run waits for
	// the first and then finds its binary.
	unlock, err := Lock(filepath.Join(dir, "build.lock"), timeout)
	if err != nil {
		return "", fmt.Errorf("waiting for another build: %w", err)
	}
	defer unlock()
	if err := CheckTraefik(bin); err == nil {
		return bin, nil
	} else if !os.IsNotExist(err) {
		fmt.Fprintf(os.Stderr, "e2eimage: rebuilding Traefik: %v\n", err)
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "e2eimage: building Traefik %s into %s (once; several minutes, at most %v)\n", TraefikVersion, dir, timeout)
	if err := buildTraefik(bin, timeout); err != nil {
		return "", fmt.Errorf("building (`make runtime-traefik` builds it with time to spare): %w", err)
	}
	if err := CheckTraefik(bin); err != nil {
		return "", fmt.Errorf("the binary just built: %w", err)
	}
	fmt.Fprintf(os.Stderr, "e2eimage: built Traefik in %v\n", time.Since(start).Round(time.Second))
	return bin, nil
}

// CheckTraefik runs `traefik version` and wants TraefikVersion.
func CheckTraefik(bin string) error {
	if _, err := os.Stat(bin); err != nil {
		return err
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s version: %v: %s", bin, err, out)
	}
	if !HasVersion(string(out)) {
		return fmt.Errorf("%s version says %q, want %s", bin, out, TraefikVersion)
	}
	return nil
}

// HasVersion says whether `traefik version` printed TraefikVersion on
// its "Version:" line.
func HasVersion(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Version:" && f[1] == TraefikVersion {
			return true
		}
	}
	return false
}

// buildTraefik downloads the module, unpacks it, and builds cmd/traefik
// inside it: `go install` refuses a module with replace directives.
// The build runs niced, since the machine is shared.
func buildTraefik(bin string, timeout time.Duration) error {
	var info struct{ Zip, Error string }
	out, err := exec.Command("go", "mod", "download", "-json", TraefikModule+"@"+TraefikVersion).Output()
	if err != nil {
		return fmt.Errorf("go mod download: %v: %s", err, out)
	}
	if err := json.Unmarshal(out, &info); err != nil || info.Zip == "" {
		return fmt.Errorf("go mod download printed %q: %v %s", out, err, info.Error)
	}
	tmp, err := os.MkdirTemp("", "nuvlagen-traefik-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if out, err := exec.Command("unzip", "-q", info.Zip, "-d", tmp).CombinedOutput(); err != nil {
		return fmt.Errorf("unzip %s: %v: %s", info.Zip, err, out)
	}
	src := filepath.Join(tmp, TraefikModule+"@"+TraefikVersion)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nice", "-n", "10", "go", "build", "-trimpath",
		"-ldflags", "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version="+TraefikVersion,
		"-o", bin+".tmp", "./cmd/traefik")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	// On the timeout, the compilers go started go too, not nice alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %v", ctx.Err(), timeout)
		}
		return fmt.Errorf("go build ./cmd/traefik: %v: %s", err, out)
	}
	return os.Rename(bin+".tmp", bin)
}

// Lock takes an exclusive lock on path, waiting up to timeout; the
// kernel drops it if the process dies.
func Lock(path string, timeout time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another run holds %s: %v", path, err)
		}
		time.Sleep(time.Second)
	}
}

// Build writes dockerfile into the context directory dir and builds it
// with the tags.
func Build(d *dockercli.CLI, dir, dockerfile string, tags ...string) error {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	args := []string{"build", "--quiet"}
	for _, tag := range tags {
		args = append(args, "--tag", tag)
	}
	if _, err := d.Exec(dockercli.Opts{Dir: dir, Timeout: 5 * time.Minute}, append(args, ".")...); err != nil {
		return fmt.Errorf("docker build %v: %w", tags, err)
	}
	return nil
}

// BuildTraefik builds TraefikImage from the binary bin in the context
// directory dir.
func BuildTraefik(d *dockercli.CLI, dir, bin string) error {
	if err := LinkOrCopy(bin, filepath.Join(dir, "traefik")); err != nil {
		return err
	}
	return Build(d, dir, "FROM scratch\nCOPY traefik /traefik\nENTRYPOINT [\"/traefik\"]\n", TraefikImage)
}

// BuildStandin compiles the stand-in (static) into the context directory
// dir and builds its image with the tags; the image also holds the
// stand-in at every entrypoint path the compose files name (/bin/sh of
// Minio's, the job scripts), so that each service starts it whatever
// its command, and root's entries in /etc/passwd and /etc/group.
func BuildStandin(d *dockercli.CLI, dir string, entrypoints []string, tags ...string) error {
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "standin"), standinPackage)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the stand-in: %v: %s", err, out)
	}
	// A service may name its user (Kafka's user: root): the image has
	// root's entries.
	for name, line := range map[string]string{"passwd": "root:x:0:0:root:/:/bin/sh\n", "group": "root:x:0:\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(line), 0o644); err != nil {
			return err
		}
	}
	var b strings.Builder
	b.WriteString("FROM scratch\nCOPY standin /standin\nCOPY passwd group /etc/\n")
	for _, p := range entrypoints {
		if p != "/standin" {
			fmt.Fprintf(&b, "COPY standin %s\n", p)
		}
	}
	b.WriteString("ENTRYPOINT [\"/standin\"]\n")
	return Build(d, dir, b.String(), tags...)
}

// LinkOrCopy hard-links src to dst, or copies it where it cannot.
func LinkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
