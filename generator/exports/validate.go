package exports

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Severity tells a finding that stops generation from one worth a look.
type Severity int

// Severities.
const (
	Warning Severity = iota
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Finding is one problem in an export.
type Finding struct {
	Severity Severity
	Line     int // of the export, 0 when it was built in Go
	Msg      string
}

func (f Finding) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", f.Line, f.Severity, f.Msg)
	}
	return fmt.Sprintf("%s: %s", f.Severity, f.Msg)
}

// valueKind says whether an option takes "=value".
type valueKind int

const (
	noValue valueKind = iota
	needsValue
	optionalValue
)

// known are the options of exports(5) (nfs-utils 2.x) and whether they
// take a value.
var known = map[string]valueKind{
	"secure": noValue, "insecure": noValue,
	"rw": noValue, "ro": noValue,
	"async": noValue, "sync": noValue,
	"no_wdelay": noValue, "wdelay": noValue,
	"nohide": noValue, "hide": noValue,
	"crossmnt":         noValue,
	"no_subtree_check": noValue, "subtree_check": noValue,
	"insecure_locks": noValue, "no_auth_nlm": noValue,
	"secure_locks": noValue, "auth_nlm": noValue,
	"mountpoint": optionalValue, "mp": optionalValue,
	"fsid":       needsValue,
	"nordirplus": noValue,
	"refer":      needsValue, "replicas": needsValue,
	"pnfs": noValue, "no_pnfs": noValue,
	"security_label": noValue,
	"sec":            needsValue,
	"xprtsec":        needsValue,
	"root_squash":    noValue, "no_root_squash": noValue,
	"all_squash": noValue, "no_all_squash": noValue,
	"anonuid": needsValue, "anongid": needsValue,
}

// opposite groups the options that cancel each other, by the side they
// take: two options of one group on different sides contradict.
var opposite = map[string][2]string{}

func init() {
	for _, g := range []struct {
		group string
		a, b  []string
	}{
		{"access", []string{"ro"}, []string{"rw"}},
		{"write mode", []string{"sync"}, []string{"async"}},
		{"port check", []string{"secure"}, []string{"insecure"}},
		{"write delay", []string{"wdelay"}, []string{"no_wdelay"}},
		{"hide", []string{"hide"}, []string{"nohide"}},
		{"subtree check", []string{"subtree_check"}, []string{"no_subtree_check"}},
		{"lock authentication", []string{"secure_locks", "auth_nlm"}, []string{"insecure_locks", "no_auth_nlm"}},
		{"root squashing", []string{"root_squash"}, []string{"no_root_squash"}},
		{"squashing", []string{"all_squash"}, []string{"no_all_squash"}},
		{"pNFS", []string{"pnfs"}, []string{"no_pnfs"}},
	} {
		for _, o := range g.a {
			opposite[o] = [2]string{g.group, "a"}
		}
		for _, o := range g.b {
			opposite[o] = [2]string{g.group, "b"}
		}
	}
}

var (
	uuidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$|^[0-9a-fA-F]{32}$`)
	secFlavor = map[string]bool{"sys": true, "krb5": true, "krb5i": true, "krb5p": true}
	xprtsec   = map[string]bool{"none": true, "tls": true, "mtls": true}
)

// CheckOptions checks one option list (a client's or a line's defaults):
// names, values, repeats and contradictions. where names the list in
// messages.
func CheckOptions(where string, opts []string) []Finding {
	var out []Finding
	add := func(sev Severity, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Msg: where + ": " + fmt.Sprintf(format, args...)})
	}
	seen := map[string]string{}  // name -> full option
	sides := map[string]string{} // group -> first option seen
	for _, o := range opts {
		name, value, hasValue := strings.Cut(o, "=")
		if o == "" {
			add(Error, "empty option (a stray comma?)")
			continue
		}
		kind, ok := known[name]
		if !ok {
			add(Error, "unknown option %q%s", name, suggest(name))
			continue
		}
		switch {
		case kind == noValue && hasValue:
			add(Error, "option %s takes no value, got %q", name, o)
			continue
		case kind == needsValue && (!hasValue || value == ""):
			add(Error, "option %s needs a value (%s=...)", name, name)
			continue
		}
		if hasValue {
			if msg := checkValue(name, value); msg != "" {
				add(Error, "option %s: %s", o, msg)
				continue
			}
		}
		if prev, dup := seen[name]; dup {
			if prev != o {
				add(Error, "option %s contradicts %s", o, prev)
			} else {
				add(Warning, "option %s is repeated", o)
			}
			continue
		}
		seen[name] = o
		if g, ok := opposite[name]; ok {
			if prev, ok := sides[g[0]]; ok && opposite[prev][1] != g[1] {
				add(Error, "options %s and %s contradict each other (%s)", prev, name, g[0])
			} else if !ok {
				sides[g[0]] = name
			}
		}
		switch name {
		case "no_root_squash":
			add(Warning, "no_root_squash: root on a client is root on the share")
		case "insecure":
			add(Warning, "insecure: accepts requests from unprivileged source ports (any local user of a client)")
		}
	}
	return out
}

func checkValue(name, v string) string {
	switch name {
	case "anonuid", "anongid":
		if n, err := strconv.ParseUint(v, 10, 32); err != nil || n > 1<<32-1 {
			return "not a numeric id"
		}
	case "fsid":
		if v == "root" || uuidRE.MatchString(v) {
			return ""
		}
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return "want a number, root or a UUID"
		}
	case "sec":
		for _, f := range strings.Split(v, ":") {
			if !secFlavor[f] {
				return fmt.Sprintf("unknown security flavour %q (sys, krb5, krb5i, krb5p)", f)
			}
		}
	case "xprtsec":
		for _, f := range strings.Split(v, ":") {
			if !xprtsec[f] {
				return fmt.Sprintf("unknown transport security %q (none, tls, mtls)", f)
			}
		}
	case "mountpoint", "mp":
		if !path.IsAbs(v) {
			return "not an absolute path"
		}
	}
	return ""
}

// suggest names a known option close to a misspelt one.
func suggest(name string) string {
	n := strings.ReplaceAll(strings.ReplaceAll(name, "-", "_"), "nosub", "no_sub")
	if _, ok := known[n]; ok && n != name {
		return fmt.Sprintf("; did you mean %s?", n)
	}
	for k := range map[string]bool{"no_" + name: true, strings.TrimPrefix(name, "no"): true} {
		if _, ok := known[k]; ok && k != name {
			return fmt.Sprintf("; did you mean %s?", k)
		}
	}
	return ""
}

// worldWide reports whether a client specification admits any host.
func worldWide(host string) bool {
	switch host {
	case "", "*", "0.0.0.0/0", "::/0", "0/0":
		return true
	}
	if p, err := netip.ParsePrefix(host); err == nil {
		return p.Bits() == 0
	}
	return false
}

// Check checks every export: its option lists, and its clients.
// Exporting to the world is a warning, as is a client without options
// (exportfs then warns and applies its own defaults).
func Check(list []Export) []Finding {
	var out []Finding
	for _, e := range list {
		add := func(fs []Finding) {
			for _, f := range fs {
				f.Line = e.Line
				out = append(out, f)
			}
		}
		if e.Defaults != nil {
			add(CheckOptions(e.Path+" defaults", e.Defaults))
		}
		hosts := map[string]bool{}
		for _, c := range e.Clients {
			where := e.Path + " to " + c.Host
			if c.Host == "" {
				where = e.Path + " to the world"
			}
			if hosts[c.Host] {
				add([]Finding{{Severity: Warning, Msg: where + ": client listed twice (the first wins)"}})
			}
			hosts[c.Host] = true
			if worldWide(c.Host) {
				msg := where + ": exported to every host"
				if c.Host == "" {
					msg += ` ("host (opts)" with a blank is two clients; write "host(opts)")`
				}
				add([]Finding{{Severity: Warning, Msg: msg}})
			} else if strings.ContainsAny(c.Host, "*?") {
				add([]Finding{{Severity: Warning, Msg: where + ": wildcard host name admits any host whose name matches"}})
			}
			if c.Options == nil && e.Defaults == nil {
				add([]Finding{{Severity: Warning, Msg: where + ": no options: exportfs applies its defaults (ro, sync, root_squash, no_subtree_check) and warns"}})
				continue
			}
			add(CheckOptions(where, c.Options))
		}
	}
	return out
}
