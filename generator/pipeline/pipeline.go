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

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/configfile"
	"github.com/nuvla/nuvlagen/generator/configure"
	"github.com/nuvla/nuvlagen/generator/exports"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/nfsconf"
	"github.com/nuvla/nuvlagen/generator/registration"
	"github.com/nuvla/nuvlagen/generator/scripts"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/sitedoc"
	"github.com/nuvla/nuvlagen/generator/stackcheck"
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

// renderSite renders a site's files and returns, with them, the findings
// that do not stop generation (the firewall's fixes of the seed's tables
// and rules that overlap), positioned.
func renderSite(s *site.Site) (Files, []errors.Error, error) {
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
			b, err := configfile.Render(header, f)
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
	doc, err := sitedoc.Render(s)
	if err != nil {
		return nil, nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	files["README.md"] = doc
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
	warnings := make([]errors.Error, len(rules.Warnings))
	for i, w := range rules.Warnings {
		warnings[i] = w.Err()
	}
	warnings = append(warnings, exports.Warnings(s)...)
	warnings = append(warnings, scripts.Warnings(s)...)
	return files, warnings, nil
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
func renderRooted(s *site.Site) (Rendered, error) {
	files, warnings, err := renderSite(s)
	if err != nil {
		return Rendered{}, err
	}
	rooted := make(Files, len(files))
	for p, b := range files {
		rooted[path.Join(s.Name, p)] = b
	}
	return Rendered{Name: s.Name, NamePos: s.Pos("name"), Stacks: len(s.Stacks), Files: rooted, Warnings: warnings}, nil
}
