package vet

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/gcsetting"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// Both benchmarks report files/s, the wall-clock throughput, and
// files/cpu-s, files per second of CPU time used: on a machine shared with
// other work the first drops with the load and the second much less.
// `make bench-vet` prints both and their ratios.

// benchFiles are the files both benchmarks check: the corpus, in the
// styles of public documentation (small files, a third of them with
// findings), and every compose file of out/, the stacks nuvlagen
// generates for the example sites (four times the corpus's size on
// average, and valid).
func benchFiles(tb testing.TB) []string {
	tb.Helper()
	names, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.yml"))
	out, _ := filepath.Glob(filepath.Join(golden.Root(tb), "out", "*", "stacks", "*", "docker-compose.yml"))
	if len(names) < 30 || len(out) < 10 {
		tb.Fatalf("%d corpus files, %d compose files in out/", len(names), len(out))
	}
	return append(names, out...)
}

// BenchmarkVet measures vet's throughput over benchFiles, on all CPUs,
// with the garbage collector set as the vet command sets it.
func BenchmarkVet(b *testing.B) {
	var inputs []Input
	for _, n := range benchFiles(b) {
		data, err := os.ReadFile(n)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, Input{Name: n, Data: data})
	}
	defer gcsetting.Set(GCPercent, MemoryLimit)() // as nuvlagen vet runs
	start := cpuTime()
	for b.Loop() {
		Files(inputs, nil)
	}
	files := float64(len(inputs) * b.N)
	b.ReportMetric(files/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(files/(cpuTime()-start).Seconds(), "files/cpu-s")
}

// BenchmarkDockerStackConfig runs `docker stack config -c FILE` once per
// file of benchFiles, one after the other, as a script checking files with the
// docker CLI would. It needs no daemon.
func BenchmarkDockerStackConfig(b *testing.B) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		b.Skip("no docker CLI")
	}
	names := benchFiles(b)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir()}
	var cpu time.Duration
	for b.Loop() {
		for _, n := range names {
			cmd := exec.Command(docker, "stack", "config", "-c", n)
			cmd.Env = env
			_ = cmd.Run() // files with errors fail; the time is what counts
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
	}
	files := float64(len(names) * b.N)
	b.ReportMetric(files/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(files/cpu.Seconds(), "files/cpu-s")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
