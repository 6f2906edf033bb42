package runtimetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/e2eimage"
)

// The images and Traefik's version, as internal/e2eimage builds them.
const (
	traefikVersion = e2eimage.TraefikVersion
	traefikImage   = e2eimage.TraefikImage
	standinRepo    = e2eimage.StandinRepo
	// prometheusImage is built here: only this package runs the real
	// Prometheus.
	prometheusImage = "nuvlagen-e2e/prometheus:debian"
)

// standinImage is the stand-in's tag for the model's image key.
func standinImage(key string) string { return e2eimage.Standin(key) }

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
	if err := e2eimage.CheckTraefik(bin); err != nil {
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
			if _, err := d.Run("image", "rm", "--force", img); err != nil && !dockercli.IsNotFound(err) {
				t.Errorf("removing image %s: %v", img, err)
			}
			if left, err := d.Lines("image", "ls", "--quiet", img); err != nil || len(left) > 0 {
				t.Errorf("image %s is left: %v %v", img, left, err)
			}
		}
	})

	start := time.Now()
	if err := e2eimage.BuildTraefik(d, t.TempDir(), traefik); err != nil {
		t.Fatal(err)
	}
	t.Logf("built image %s in %v", traefikImage, time.Since(start).Round(time.Millisecond))

	ctxDir := t.TempDir()
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
		if err := e2eimage.LinkOrCopy(src, filepath.Join(ctxDir, name)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&pb, "COPY %s %s\n", name, f)
	}
	fmt.Fprintf(&pb, "ENTRYPOINT [%q]\n", prometheusBinary)
	dockerBuild(t, d, ctxDir, pb.String(), prometheusImage)

	start = time.Now()
	if err := e2eimage.BuildStandin(d, t.TempDir(), entrypoints, standins...); err != nil {
		t.Fatal(err)
	}
	t.Logf("built image %v in %v", standins, time.Since(start).Round(time.Millisecond))
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
	start := time.Now()
	if err := e2eimage.Build(d, dir, dockerfile, tags...); err != nil {
		t.Fatal(err)
	}
	t.Logf("built image %v in %v", tags, time.Since(start).Round(time.Millisecond))
}

// sortedUnique sorts and compacts a list of names.
func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
