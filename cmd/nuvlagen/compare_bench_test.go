package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/internal/synthetic"
)

// These benchmarks run whole processes, the way an operator would, and
// report each figure as a ratio against a peer measured in the same run:
//
//	go test -run '^$' -bench . -benchtime 3x ./cmd/nuvlagen/
//
// They need the docker CLI and the cue CLI on PATH (make bench installs
// cue at the version go.mod pins) and skip without them.

func buildNuvlagen(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "nuvlagen")
	// A release's version: a development build reuses no site
	// (BenchmarkIncremental measures a release's reuse).
	out, err := exec.Command("go", "build", "-ldflags", "-X github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/buildinfo.Version=v0.0.0-bench", "-o", bin, ".").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func need(b *testing.B, tools ...string) {
	b.Helper()
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			b.Skipf("%s not on PATH: comparison not run", t)
		}
	}
}

// run runs a command and returns its wall time and peak resident memory.
func run(b *testing.B, dir string, env []string, name string, args ...string) (time.Duration, int64) {
	b.Helper()
	elapsed, ps := execute(b, dir, env, name, args...)
	var rss int64
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024 // Linux reports KiB
	}
	return elapsed, rss
}

// runCPU runs a command and returns its wall time and CPU time.
func runCPU(b *testing.B, dir string, env []string, name string, args ...string) (time.Duration, time.Duration) {
	b.Helper()
	elapsed, ps := execute(b, dir, env, name, args...)
	return elapsed, ps.UserTime() + ps.SystemTime()
}

// execute runs a command in dir with env added, failing b when it fails,
// and returns its wall time and what the process used.
func execute(b *testing.B, dir string, env []string, name string, args ...string) (time.Duration, *os.ProcessState) {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return elapsed, cmd.ProcessState
}

// variableRef is a ${VAR} reference of a compose file, VAR its group.
var variableRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// BenchmarkVsScriptedPipeline compares `nuvlagen generate --full` of one
// example site (load, render, validate twice, write; also README) with
// what a user would otherwise script for the same compose files: `cue
// export` of the same model, then `docker stack config` on each compose
// file. The target's host is in a file beside it, as generate needs.
func BenchmarkVsScriptedPipeline(b *testing.B) {
	need(b, "cue", "docker")
	bin := buildNuvlagen(b)
	work := b.TempDir()
	for _, f := range nuvlacue.Sites() {
		if err := os.WriteFile(filepath.Join(work, filepath.Base(f.Name)), f.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cueDir, err := filepath.Abs(filepath.Join("..", "..", "cue"))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"example-host", "example-target"} {
		b.Run(name, func(b *testing.B) { benchmarkVsScriptedPipeline(b, bin, work, cueDir, name) })
	}
}

func benchmarkVsScriptedPipeline(b *testing.B, bin, work, cueDir, name string) {
	file := name + ".cue"
	// The compose files docker stack config reads, rendered once up front.
	ref, out := "ref-"+name, "out-"+name
	run(b, work, nil, bin, "generate", "--site", file, "--out", ref, "-q")
	composeFiles, _ := filepath.Glob(filepath.Join(work, ref, name, "stacks", "*", "docker-compose.yml"))
	if len(composeFiles) == 0 {
		b.Fatal("no compose files rendered")
	}
	// Every variable a file requires is set, as deploy.sh and the
	// operator would: the site's secrets' Swarm names among them.
	env := map[string][]string{}
	for _, f := range composeFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range variableRef.FindAllSubmatch(data, -1) {
			env[f] = append(env[f], string(m[1])+"=x")
		}
	}

	var ours, theirs time.Duration
	for b.Loop() {
		// --full: the site is rendered every time, not found unchanged.
		d, _ := run(b, work, nil, bin, "generate", "--full", "--site", file, "--out", out, "-q")
		ours += d
		d, _ = run(b, cueDir, nil, "cue", "export", "./sites", "-e", fmt.Sprintf("sites[%q].stacks", name), "--out", "json")
		theirs += d
		for _, f := range composeFiles {
			d, _ = run(b, filepath.Dir(f), env[f], "docker", "stack", "config", "-c", "docker-compose.yml")
			theirs += d
		}
	}
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()*1000/n, "nuvlagen-ms")
	b.ReportMetric(theirs.Seconds()*1000/n, "pipeline-ms")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "nuvlagen/pipeline")
}

// BenchmarkScale renders 10, 100 and 1,000 synthetic target sites of 10
// nodes each, one file per site, with `nuvlagen generate --sites`, and
// reports wall time, peak memory, and t(1000)/t(100) (linear is 10).
func BenchmarkScale(b *testing.B) {
	bin := buildNuvlagen(b)
	sizes := []int{10, 100, 1000}
	dirs := map[int]string{}
	for _, n := range sizes {
		dir := filepath.Join(b.TempDir(), "sites")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for _, in := range synthetic.Targets(n, 10) {
			if err := os.WriteFile(filepath.Join(dir, in.Name), in.Data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		dirs[n] = dir
	}
	wall := map[int]time.Duration{}
	peak := map[int]int64{}
	for b.Loop() {
		for _, n := range sizes {
			out := filepath.Join(b.TempDir(), "out")
			d, rss := run(b, dirs[n], nil, bin, "generate", "--sites", ".", "--out", out, "-q")
			wall[n] += d
			peak[n] = max(peak[n], rss)
		}
	}
	for _, n := range sizes {
		b.ReportMetric(wall[n].Seconds()/float64(b.N), fmt.Sprintf("s/%d-sites", n))
		b.ReportMetric(float64(peak[n])/(1<<20), fmt.Sprintf("MiB/%d-sites", n))
	}
	b.ReportMetric(wall[1000].Seconds()/wall[100].Seconds(), "t1000/t100")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
}

// BenchmarkIncremental is the fleet's pull request: 1,000 synthetic
// target sites of 10 nodes, generated once (reported as s/cold), then,
// each iteration, one site file edited (a node's address: its firewall,
// scripts and picture change) and `generate --sites` and `check --sites`
// run on the whole directory, each a whole process; also check with an
// empty cache (a fresh clone: every file hashed, none known by its stat
// data). Wall and CPU time (user + system) per run.
func BenchmarkIncremental(b *testing.B) {
	const n = 1000
	bin := buildNuvlagen(b)
	work := b.TempDir()
	dir := filepath.Join(work, "sites")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	files := synthetic.Targets(n, 10)
	for _, in := range files {
		if err := os.WriteFile(filepath.Join(dir, in.Name), in.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	out := filepath.Join(work, "out")
	env := []string{"XDG_CACHE_HOME=" + filepath.Join(work, "cache")}
	cold, _ := run(b, dir, env, bin, "generate", "--sites", ".", "--out", out, "-q")
	var gen, check, fresh, genCPU, checkCPU, freshCPU time.Duration
	k := 0
	for b.Loop() {
		// A different site each time, its first worker's address moved.
		in := files[(k*37)%n]
		k++
		edited := strings.Replace(string(in.Data), `"203.0.113.2"`, fmt.Sprintf(`"203.0.113.%d"`, 100+k%100), 1)
		if err := os.WriteFile(filepath.Join(dir, in.Name), []byte(edited), 0o644); err != nil {
			b.Fatal(err)
		}
		d, c := runCPU(b, dir, env, bin, "generate", "--sites", ".", "--out", out, "-q")
		gen, genCPU = gen+d, genCPU+c
		d, c = runCPU(b, dir, env, bin, "check", "--sites", ".", "--out", out)
		check, checkCPU = check+d, checkCPU+c
		d, c = runCPU(b, dir, []string{"XDG_CACHE_HOME=" + b.TempDir()}, bin, "check", "--sites", ".", "--out", out)
		fresh, freshCPU = fresh+d, freshCPU+c
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	b.ReportMetric(cold.Seconds(), "s/cold")
	b.ReportMetric(per(gen), "s/generate")
	b.ReportMetric(per(genCPU), "cpu-s/generate")
	b.ReportMetric(per(check), "s/check")
	b.ReportMetric(per(checkCPU), "cpu-s/check")
	b.ReportMetric(per(fresh), "s/check-no-cache")
	b.ReportMetric(per(freshCPU), "cpu-s/check-no-cache")
}
