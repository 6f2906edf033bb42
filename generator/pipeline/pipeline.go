// Package pipeline ties the generators together: from loaded sites to the
// complete set of files of an output directory. Rendering is pure: it
// returns files by relative path and never touches the disk.
package pipeline

import (
	"fmt"
	"maps"
	"path"
	"sort"
	"sync"

	"cuelang.org/go/cue/errors"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/configfile"
	"github.com/nuvla/nuvlagen/generator/configure"
	"github.com/nuvla/nuvlagen/generator/exports"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/graphviz"
	"github.com/nuvla/nuvlagen/generator/nfsconf"
	"github.com/nuvla/nuvlagen/generator/registration"
	"github.com/nuvla/nuvlagen/generator/scripts"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/sitedoc"
	"github.com/nuvla/nuvlagen/generator/stackcheck"
	"github.com/nuvla/nuvlagen/generator/topology"
)

// Files maps slash-separated paths, relative to the output directory, to
// file contents.
type Files map[string][]byte

// Paths returns the paths in lexical order.
func (f Files) Paths() []string {
	out := make([]string, 0, len(f))
	for p := range f {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Previous returns the bytes a previous run wrote to a site's file (rel
// relative to the site's directory), or nil: where a picture whose graph
// did not change is taken from rather than drawn again.
type Previous func(site, rel string) []byte

// renderSite renders a site's files and returns, with them, the findings
// that do not stop generation (the firewall's fixes of the seed's tables
// and rules that overlap), positioned. prev may be nil.
func renderSite(s *site.Site, prev Previous) (Files, []errors.Error, error) {
	if site.Linked(s) && s.Link == nil {
		// Its Nuvla sources come from the host: rendered alone, its
		// firewall would admit nobody.
		return nil, nil, errors.Newf(s.Pos("host"), "site %s: its host %s was not loaded with it: give the host's site file too", s.Name, s.Host)
	}
	header := compose.Header(s.File)
	files := Files{}
	env := CheckEnv(s)

	// Rendering and checking the compose files works on bytes only, so
	// the stacks go in parallel.
	type job struct {
		stack string
		dir   string
		data  []byte
		local map[string][]byte
		out   []byte
		err   error
	}
	jobs := make([]*job, len(s.Stacks))
	for i, st := range s.Stacks {
		j := &job{stack: st.Name, dir: path.Join("stacks", st.Name), local: map[string][]byte{}}
		for _, f := range st.Files {
			b, err := configfile.Render(s.File, f)
			if err != nil {
				return nil, nil, fmt.Errorf("site %s, stack %s: %w", s.Name, st.Name, err)
			}
			j.local[f.Name] = b
			files[path.Join(j.dir, f.Name)] = b
		}
		j.data = st.Compose
		jobs[i] = j
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			out, _, err := compose.Render(s.File, j.stack, j.data, j.local)
			if err != nil {
				j.err = fmt.Errorf("site %s: %w", s.Name, err)
				return
			}
			// Load the result back before anything is written, as both
			// compose-go and `docker stack deploy` would.
			if err := stackcheck.Check(path.Join(s.Name, j.dir, compose.FileName), out, env); err != nil {
				j.err = fmt.Errorf("site %s: generated file fails validation: %w", s.Name, err)
				return
			}
			j.out = out
		})
	}
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			return nil, nil, j.err
		}
		files[path.Join(j.dir, compose.FileName)] = j.out
	}
	nodeFiles, err := renderNodeFiles(s)
	if err != nil {
		return nil, nil, err
	}
	sh, err := scripts.Render(s, nodeFiles)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range []map[string][]byte{nodeFiles, sh} {
		for p, b := range m {
			files[p] = b
		}
	}
	reg, err := registration.Render(s) // target sites only
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(files, reg)
	cfg, err := configure.Render(s) // host sites that configure something
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(files, cfg)
	rules, err := firewall.Compile(s)
	if err != nil {
		return nil, nil, err // positioned at the site or the tables
	}
	for p, b := range firewall.Render(header, rules) {
		files[p] = b
	}
	pictures, err := renderPicture(s, rules, prev, files)
	if err != nil {
		return nil, nil, err
	}
	doc, err := sitedoc.Render(s, pictures)
	if err != nil {
		return nil, nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	files["README.md"] = doc
	warnings := make([]errors.Error, len(rules.Warnings))
	for i, w := range rules.Warnings {
		warnings[i] = w.Err()
	}
	warnings = append(warnings, exports.Warnings(s)...)
	warnings = append(warnings, scripts.Warnings(s)...)
	return files, warnings, nil
}

// renderPicture adds the site's pictures to files, each as DOT and SVG:
// its topology, and a host's deployment. It returns their file names
// for the README: the topology's is "" when the graph places nothing
// (then there is no picture, and the README says why). An SVG is drawn
// only when its DOT differs from the one prev's picture was drawn from.
func renderPicture(s *site.Site, rules *firewall.Ruleset, prev Previous, files Files) (sitedoc.Pictures, error) {
	var pics sitedoc.Pictures
	draw := func(dot []byte, dotFile, svgFile string) error {
		var old []byte
		if prev != nil {
			old = prev(s.Name, svgFile)
		}
		svg, _, err := graphviz.Picture(artifact.Notice(s.File), dot, old)
		if err != nil {
			return fmt.Errorf("site %s: drawing %s: %w", s.Name, svgFile, err)
		}
		files[dotFile] = dot
		files[svgFile] = svg
		return nil
	}
	g, err := topology.Build(s, rules)
	if err != nil {
		return pics, err
	}
	if g.Placed() > 0 {
		if err := draw(g.DOT(s.File), topology.DOTFile, topology.File); err != nil {
			return pics, err
		}
		pics.Topology = topology.File
	}
	if d := topology.DeploymentOf(s); d != nil {
		if err := draw(d.DOT(s.File), topology.DeploymentDOTFile, topology.DeploymentFile); err != nil {
			return pics, err
		}
		pics.Deployment = topology.DeploymentFile
	}
	return pics, nil
}

// CheckEnv is a deploy environment in which every variable the site
// requires, and every secret's name deploy.sh sets, is set, to validate
// files the way an operator's deployment would load them.
func CheckEnv(s *site.Site) map[string]string {
	env := map[string]string{}
	for _, v := range s.Variables {
		env[v.Name] = "set-by-operator"
	}
	// deploy.sh's names of the secrets' versions (compose.SecretVariable).
	for _, sec := range s.Secrets {
		env[compose.SecretVariable(sec.Name)] = sec.Name + "_0123456789ab"
	}
	return env
}

// renderNodeFiles renders what is installed on the nodes rather than
// deployed on the Swarm: the NFS exports and daemon configuration.
func renderNodeFiles(s *site.Site) (map[string][]byte, error) {
	files := map[string][]byte{}
	if s.NFS == nil {
		return files, nil
	}
	ex, err := exports.Render(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	files["nfs/exports"] = ex
	conf, err := nfsconf.Render(s)
	if err != nil {
		return nil, err
	}
	// The firewall opens exactly the ports the configuration pins.
	if err := nfsconf.CheckFirewallModel(s); err != nil {
		return nil, err
	}
	for p, b := range conf {
		files[p] = b
	}
	return files, nil
}

// renderRooted renders a site with its files under its own directory, as
// they lie in an output directory.
func renderRooted(s *site.Site, prev Previous) (Rendered, error) {
	files, warnings, err := renderSite(s, prev)
	if err != nil {
		return Rendered{}, err
	}
	rooted := make(Files, len(files))
	for p, b := range files {
		rooted[path.Join(s.Name, p)] = b
	}
	return Rendered{Name: s.Name, Stacks: len(s.Stacks), Files: rooted, Warnings: warnings}, nil
}

// Draw formats for nuvlagen draw.
const (
	DrawSVG = "svg"
	DrawDOT = "dot"
	DrawPNG = "png"
)

// NothingToDrawError is Draw's error for a site whose services are placed
// on no node: generate writes a note instead of its picture.
type NothingToDrawError struct{ Site string }

func (e *NothingToDrawError) Error() string {
	return fmt.Sprintf("site %s: none of its services is placed on a node: nothing to draw", e.Site)
}

// Draw returns the picture of s in format (DrawSVG, DrawDOT or DrawPNG),
// the same as generate writes (PNG converted from it).
func Draw(s *site.Site, format string) ([]byte, error) {
	g, err := topology.Of(s)
	if err != nil {
		return nil, err
	}
	if g.Placed() == 0 {
		return nil, &NothingToDrawError{Site: s.Name}
	}
	dot := g.DOT(s.File)
	if format == DrawDOT {
		return dot, nil
	}
	svg, _, err := graphviz.Picture(artifact.Notice(s.File), dot, nil)
	if err != nil || format == DrawSVG {
		return svg, err
	}
	return graphviz.PNG(svg)
}
