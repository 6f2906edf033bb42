package clustertest

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/cli"
	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/pipeline/pipelinetest"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/e2eimage"
)

// deployment is an example site as the test deploys it: the embedded
// file with the local images (and a target's NFS share in the test's
// directory) added, rendered into a directory as generate writes it.
type deployment struct {
	site  *site.Site
	file  string // the site file's name, cue/sites/NAME.cue
	src   []byte
	dir   string // the rendered site: deploy.sh, firewall/, stacks/
	files pipeline.Files
	// projects are the generated compose files, loaded, by stack.
	projects   map[string]*types.Project
	secretsDir string
}

// embeddedCompanions are the files beside any input: the embedded
// examples (a target's host among them).
func embeddedCompanions(pipeline.Input) []pipeline.Input { return pipeline.Inputs(nuvlacue.Sites()) }

// exampleFile is the embedded file of the example site name.
func exampleFile(t *testing.T, name string) nuvlacue.File {
	t.Helper()
	for _, f := range nuvlacue.Sites() {
		if f.Name == path.Join(nuvlacue.Dir, "sites", name+".cue") {
			return f
		}
	}
	t.Fatalf("no embedded example site %s", name)
	return nuvlacue.File{}
}

// loadSite loads one site file, linked with the embedded examples.
func loadSite(t *testing.T, file string, src []byte, name string) *site.Site {
	t.Helper()
	sites, err := pipeline.Load([]pipeline.Input{{Name: file, Data: src}}, embeddedCompanions)
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	for _, s := range sites {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("%s holds no site %s", file, name)
	return nil
}

// newDeployment renders the example site name with every image mapped
// to a local one (Traefik's to Traefik, every other to the stand-in
// under the image's key) and, on a target, the NFS share in dir: the
// lines the test adds to the example's file, which CUE unifies with it;
// nothing else of the example changes.
func newDeployment(t *testing.T, name, dir string) *deployment {
	t.Helper()
	f := exampleFile(t, name)
	example := loadSite(t, f.Name, f.Data, name)
	var b strings.Builder
	b.Write(f.Data)
	fmt.Fprintf(&b, "\n// Added by internal/clustertest: the images the cluster has.\nsites: %s: {\n\timages: {\n", strconv.Quote(name))
	for _, k := range slices.Sorted(maps.Keys(example.Images)) {
		fmt.Fprintf(&b, "\t\t%s: %s\n", strconv.Quote(k), strconv.Quote(localImage(k)))
	}
	b.WriteString("\t}\n")
	if example.Kind == site.KindTarget {
		fmt.Fprintf(&b, "\tnfs: share: %s\n", strconv.Quote(filepath.Join(dir, "nfs")))
	}
	b.WriteString("}\n")
	dp := &deployment{file: f.Name, src: []byte(b.String()), dir: filepath.Join(dir, "out"), projects: map[string]*types.Project{}}
	dp.site = loadSite(t, dp.file, dp.src, name)
	res := pipelinetest.Render(t, pipeline.Options{}, pipeline.Input{Name: dp.file, Data: dp.src})
	dp.files = pipelinetest.Site(t, res, name)
	for p, b := range dp.files {
		dst := filepath.Join(dp.dir, filepath.FromSlash(p))
		must(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		must(t, os.WriteFile(dst, b, mode))
	}
	for _, st := range dp.site.Stacks {
		p, err := compose.Project(st.Name, dp.files[path.Join("stacks", st.Name, compose.FileName)])
		if err != nil {
			t.Fatalf("loading stack %s: %v", st.Name, err)
		}
		dp.projects[st.Name] = p
	}
	if dp.site.Kind == site.KindTarget {
		must(t, os.MkdirAll(filepath.Join(dir, "nfs"), 0o755))
	}
	return dp
}

// localImage is the local image for the model's image key: Traefik's
// own, or the stand-in; Elasticsearch's stand-in is tagged as a nuvla/es
// image, which a host with snapshots must run (its entrypoint adds the S3
// keys to the keystore).
func localImage(key string) string {
	switch key {
	case "traefik":
		return e2eimage.TraefikImage
	case "elasticsearch":
		return "nuvlagen-e2e/nuvla/es:standin"
	}
	return e2eimage.Standin(key)
}

// images are the images of every service and their entrypoints.
func (dp *deployment) images() (images, entrypoints []string) {
	for _, p := range dp.projects {
		for _, svc := range p.Services {
			images = append(images, svc.Image)
			if len(svc.Entrypoint) > 0 {
				entrypoints = append(entrypoints, svc.Entrypoint[0])
			}
			// A CMD-SHELL healthcheck runs /bin/sh -c, which the stand-in
			// reads (nc -z HOST PORT).
			if hc := svc.HealthCheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] == "CMD-SHELL" {
				entrypoints = append(entrypoints, "/bin/sh")
			}
		}
	}
	slices.Sort(images)
	slices.Sort(entrypoints)
	return slices.Compact(images), slices.Compact(entrypoints)
}

// secretsInit runs `nuvlagen secrets init` for the site, as an operator
// would, with the site's file among the other examples (a target's host
// is looked up beside it).
func (dp *deployment) secretsInit(dir string) error {
	sites := filepath.Join(dir, "sites")
	if err := os.MkdirAll(sites, 0o700); err != nil {
		return err
	}
	for _, f := range nuvlacue.Sites() {
		data := f.Data
		if f.Name == dp.file {
			data = dp.src
		}
		if err := os.WriteFile(filepath.Join(sites, path.Base(f.Name)), data, 0o600); err != nil {
			return err
		}
	}
	dp.secretsDir = filepath.Join(dir, "secrets")
	var stdout, stderr bytes.Buffer
	siteFile := filepath.Join(sites, path.Base(dp.file))
	if code := cli.Main([]string{"secrets", "init", dp.secretsDir, "--site", siteFile, "--site-name", dp.site.Name}, &stdout, &stderr); code != cli.ExitOK {
		return fmt.Errorf("nuvlagen secrets init: exit %d\n%s", code, stderr.String())
	}
	if st, err := os.Stat(filepath.Join(dp.secretsDir, dp.site.Name)); err == nil && st.IsDir() {
		dp.secretsDir = filepath.Join(dp.secretsDir, dp.site.Name) // a deployment's directory
	}
	// What secrets init cannot know (a host's S3 keys for Elasticsearch's
	// snapshots) the operator writes in; deploy.sh refuses the
	// placeholder.
	for _, sec := range dp.site.Secrets {
		if sec.Kind == "placeholder" {
			if err := os.WriteFile(filepath.Join(dp.secretsDir, sec.Name), []byte("clustertest-"+sec.Name), 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// script runs one of the generated scripts for real, with the docker
// CLI pointed at node n's daemon.
func (dp *deployment) script(n *node, name string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(dp.dir, name)}, args...)...)
	cmd.Env = n.d.Env()
	cmd.WaitDelay = 10 * time.Second
	out := &stamped{start: time.Now(), bol: true}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s of site %s: %v\n%s", name, dp.site.Name, err, out)
	}
	return out.String(), nil
}

// stamped collects a script's output, each line prefixed with the time
// since the script started: how long each stack took to converge. (Not
// an embedded bytes.Buffer, whose ReadFrom io.Copy would use instead of
// Write.)
type stamped struct {
	buf   bytes.Buffer
	start time.Time
	bol   bool
}

func (s *stamped) Write(p []byte) (int, error) {
	for _, c := range p {
		if s.bol {
			fmt.Fprintf(&s.buf, "[%6.1fs] ", time.Since(s.start).Seconds())
		}
		s.buf.WriteByte(c)
		s.bol = c == '\n'
	}
	return len(p), nil
}

func (s *stamped) String() string { return s.buf.String() }
