package vet

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Both benchmarks report files/s, the wall-clock throughput, and
// files/cpu-s, files per second of CPU time used: on a machine shared with
// other work the first drops with the load and the second much less.
// `make bench-vet` prints both and their ratios.

// BenchmarkVet measures vet's throughput over the corpus, on all CPUs.
func BenchmarkVet(b *testing.B) {
	inputs := corpus(b)
	start := cpuTime()
	for b.Loop() {
		Files(inputs, nil)
	}
	files := float64(len(inputs) * b.N)
	b.ReportMetric(files/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(files/(cpuTime()-start).Seconds(), "files/cpu-s")
}

// BenchmarkDockerStackConfig runs `docker stack config -c FILE` once per
// corpus file, one after the other, as a script checking files with the
// docker CLI would. It needs no daemon.
func BenchmarkDockerStackConfig(b *testing.B) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		b.Skip("no docker CLI")
	}
	names, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.yml"))
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
