package vet

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkVet measures vet's throughput over the corpus, on all CPUs.
// Compare with BenchmarkDockerStackConfig: `make bench-vet` prints both
// and their ratio.
func BenchmarkVet(b *testing.B) {
	inputs := corpus(b)
	for b.Loop() {
		Files(inputs, nil)
	}
	b.ReportMetric(float64(len(inputs)*b.N)/b.Elapsed().Seconds(), "files/s")
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
	for b.Loop() {
		for _, n := range names {
			cmd := exec.Command(docker, "stack", "config", "-c", n)
			cmd.Env = env
			_ = cmd.Run() // files with errors fail; the time is what counts
		}
	}
	b.ReportMetric(float64(len(names)*b.N)/b.Elapsed().Seconds(), "files/s")
}
