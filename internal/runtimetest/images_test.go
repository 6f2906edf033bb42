package runtimetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
)

// traefikModule and traefikVersion are the Traefik the test runs. The
// stacks pin traefik:v3.3.6, but the Go module proxy refuses that
// version (and v3.7.13, or a dependency of it); v3.6.12 is the newest
// v3.6 it serves whole. The labels and files the model writes use
// nothing newer than v3.3 (the swarm provider, traefik.swarm.network).
const (
	traefikModule  = "github.com/traefik/traefik/v3"
	traefikVersion = "v3.6.12"
)

// Image names the test builds and removes again.
const (
	traefikImage    = "nuvlagen-e2e/traefik:" + traefikVersion
	prometheusImage = "nuvlagen-e2e/prometheus:debian"
	// standinRepo tags the stand-in once for each image key it stands in
	// for: the generator tells services apart by image (Elasticsearch's,
	// for verify.sh), as it would the real ones.
	standinRepo = "nuvlagen-e2e/standin"
)

// standinImage is the stand-in's tag for the model's image key.
func standinImage(key string) string { return standinRepo + ":" + key }

// isLocal says whether img is one of the images the test builds.
func isLocal(img string) bool {
	return img == traefikImage || img == prometheusImage || strings.HasPrefix(img, standinRepo+":")
}

// prometheusBinary is Debian's Prometheus (package prometheus, 2.42 on
// bookworm): the stacks pin prom/prometheus:v2.25.2, which cannot be
// pulled here; 2.42 reads the same configuration and flags.
const prometheusBinary = "/usr/bin/prometheus"

// buildTimeout bounds Traefik's build: on two cores shared with other
// builds (a load of 27) the niced build took 49 minutes, of which the
// first 25 ran out a 25-minute bound; idle, it takes minutes. Inside a
// test binary it is cut to what the binary's -timeout leaves the tests
// (buildTimeoutFor).
const buildTimeout = 90 * time.Minute

// testsMargin is what a build leaves of the test binary's -timeout for
// the tests themselves, and minBuild the least time a build is started
// with: a shorter one would only fail, and the build is better left to
// `make runtime-traefik`.
const (
	testsMargin = 10 * time.Minute
	minBuild    = 15 * time.Minute
)

// buildTimeoutFor is the build's bound in a test binary whose -timeout
// is testTimeout (0: none), or 0 for no build: the build must not use up
// the time of the tests behind it, and then fails with its own message
// rather than the binary's panic.
func buildTimeoutFor(testTimeout time.Duration) time.Duration {
	if testTimeout == 0 {
		return buildTimeout
	}
	if bt := min(buildTimeout, testTimeout-testsMargin); bt >= minBuild {
		return bt
	}
	return 0
}

// TestTraefikBuild is what `make runtime-traefik` runs (CI does before
// make test): the binary must be there afterwards, built or found, and
// under NUVLAGEN_E2E_SWARM=1 its absence is a failure, never "no tests
// to run".
func TestTraefikBuild(t *testing.T) {
	bin := traefikBinary(t)
	if err := checkTraefik(bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("Traefik %s: %s", traefikVersion, bin)
}

// traefikBinary returns the Traefik binary TestMain found or built, or
// skips (fails) t with why there is none.
func traefikBinary(t *testing.T) string {
	t.Helper()
	if engine.traefikErr != nil {
		missing(t, "Traefik %s: %v", traefikVersion, engine.traefikErr)
	}
	return engine.traefik
}

// findTraefik returns the path of a static Traefik binary, built once
// from the module proxy into the user's cache directory (outside any
// repository) and reused while its version checks out: the build takes
// minutes on two idle cores, and has been seen to take over 25 on two
// cores shared with other builds; timeout bounds it.
func findTraefik(timeout time.Duration) (string, error) {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory for Traefik's build: %w", err)
		}
		dir = filepath.Join(home, ".cache")
	}
	dir = filepath.Join(dir, "nuvlagen", "traefik-"+traefikVersion)
	bin := filepath.Join(dir, "traefik")
	if err := checkTraefik(bin); err == nil {
		return bin, nil
	}
	if timeout == 0 {
		return "", fmt.Errorf("not built: the test binary's -timeout leaves less than %v for the build (`make runtime-traefik` builds it)", minBuild)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// One build at a time, from any work tree: a second run waits for
	// the first and then finds its binary.
	unlock, err := lock(filepath.Join(dir, "build.lock"), timeout)
	if err != nil {
		return "", fmt.Errorf("waiting for another build: %w", err)
	}
	defer unlock()
	if err := checkTraefik(bin); err == nil {
		return bin, nil
	} else if !os.IsNotExist(err) {
		fmt.Fprintf(os.Stderr, "runtimetest: rebuilding Traefik: %v\n", err)
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "runtimetest: building Traefik %s into %s (once; several minutes, at most %v)\n", traefikVersion, dir, timeout)
	if err := buildTraefik(dir, bin, timeout); err != nil {
		return "", fmt.Errorf("building (`make runtime-traefik` builds it with time to spare): %w", err)
	}
	if err := checkTraefik(bin); err != nil {
		return "", fmt.Errorf("the binary just built: %w", err)
	}
	fmt.Fprintf(os.Stderr, "runtimetest: built Traefik in %v\n", time.Since(start).Round(time.Second))
	return bin, nil
}

// checkTraefik runs `traefik version` and wants traefikVersion.
func checkTraefik(bin string) error {
	if _, err := os.Stat(bin); err != nil {
		return err
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s version: %v: %s", bin, err, out)
	}
	if !hasVersion(string(out)) {
		return fmt.Errorf("%s version says %q, want %s", bin, out, traefikVersion)
	}
	return nil
}

// hasVersion says whether `traefik version` printed traefikVersion on
// its "Version:" line.
func hasVersion(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Version:" && f[1] == traefikVersion {
			return true
		}
	}
	return false
}

// buildTraefik downloads the module, unpacks it, and builds cmd/traefik
// inside it: `go install` refuses a module with replace directives.
// The build runs niced, since the machine is shared.
func buildTraefik(dir, bin string, timeout time.Duration) error {
	var info struct{ Zip, Error string }
	out, err := exec.Command("go", "mod", "download", "-json", traefikModule+"@"+traefikVersion).Output()
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
	src := filepath.Join(tmp, traefikModule+"@"+traefikVersion)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nice", "-n", "10", "go", "build", "-trimpath",
		"-ldflags", "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version="+traefikVersion,
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

// buildImages builds the Traefik, Prometheus and stand-in images (the
// stand-in under each of its tags among images), removed again when t
// ends. Prometheus is Debian's binary with the
// shared libraries ldd names. The stand-in image also holds the stand-in at every
// entrypoint path the compose files name (/bin/sh of Minio's, the job
// scripts), so that each service starts it whatever its command.
func buildImages(t *testing.T, d *dockercli.CLI, traefik string, images, entrypoints []string) {
	t.Helper()
	var standins []string
	for _, img := range images {
		if strings.HasPrefix(img, standinRepo+":") {
			standins = append(standins, img)
		}
	}
	t.Cleanup(func() {
		for _, img := range append([]string{traefikImage, prometheusImage}, standins...) {
			if _, err := d.Run("image", "rm", "--force", img); err != nil && !isNotFound(err) {
				t.Errorf("removing image %s: %v", img, err)
			}
			if left, err := d.Lines("image", "ls", "--quiet", img); err != nil || len(left) > 0 {
				t.Errorf("image %s is left: %v %v", img, left, err)
			}
		}
	})

	ctxDir := t.TempDir()
	if err := linkOrCopy(traefik, filepath.Join(ctxDir, "traefik")); err != nil {
		t.Fatal(err)
	}
	dockerfile := "FROM scratch\nCOPY traefik /traefik\nENTRYPOINT [\"/traefik\"]\n"
	dockerBuild(t, d, ctxDir, dockerfile, traefikImage)

	ctxDir = t.TempDir()
	var pb strings.Builder
	pb.WriteString("FROM scratch\n")
	files, err := withLibraries(prometheusBinary)
	if err != nil {
		missing(t, "Prometheus (Debian package prometheus): %v", err)
	}
	for i, f := range files {
		// The file a link names goes in under the link's name.
		src, err := filepath.EvalSymlinks(f)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("f%d", i)
		if err := linkOrCopy(src, filepath.Join(ctxDir, name)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&pb, "COPY %s %s\n", name, f)
	}
	fmt.Fprintf(&pb, "ENTRYPOINT [%q]\n", prometheusBinary)
	dockerBuild(t, d, ctxDir, pb.String(), prometheusImage)

	ctxDir = t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(ctxDir, "standin"), "./standin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the stand-in: %v: %s", err, out)
	}
	var b strings.Builder
	b.WriteString("FROM scratch\nCOPY standin /standin\n")
	for _, p := range entrypoints {
		if p != "/standin" {
			fmt.Fprintf(&b, "COPY standin %s\n", p)
		}
	}
	b.WriteString("ENTRYPOINT [\"/standin\"]\n")
	dockerBuild(t, d, ctxDir, b.String(), standins...)
}

// withLibraries returns bin and the shared objects `ldd` says it loads.
func withLibraries(bin string) ([]string, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, err
	}
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	files := []string{bin}
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				files = append(files, f)
			}
		}
	}
	return sortedUnique(files), nil
}

func dockerBuild(t *testing.T, d *dockercli.CLI, dir, dockerfile string, tags ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	args := []string{"build", "--quiet"}
	for _, tag := range tags {
		args = append(args, "--tag", tag)
	}
	if _, err := d.Exec(dockercli.Opts{Dir: dir, Timeout: 5 * time.Minute}, append(args, ".")...); err != nil {
		t.Fatalf("docker build %v: %v", tags, err)
	}
	t.Logf("built image %v in %v", tags, time.Since(start).Round(time.Millisecond))
}

func linkOrCopy(src, dst string) error {
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

func isNotFound(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "not found") || strings.Contains(s, "no such")
}

// sortedUnique sorts and compacts a list of names.
func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
