package site

import (
	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"
)

// rawFirewall mirrors the firewall section's CUE fields.
type rawFirewall struct {
	Ports map[string]struct {
		From      int       `json:"from"`
		To        int       `json:"to"`
		Protocols []string  `json:"protocols"`
		Sensitive *[]string `json:"sensitive"` // nil: anyone may be given it
	} `json:"ports"`
	Rules map[string]struct {
		Service string   `json:"service"`
		Ports   []string `json:"ports"`
		From    []string `json:"from"`
		Nodes   string   `json:"nodes"`
		Except  []string `json:"except"`
		Fix     string   `json:"fix"`
	} `json:"rules"`
	OpenToWorld      []string                   `json:"openToWorld"`
	SensitiveNumbers map[string]SensitiveNumber `json:"sensitiveNumbers"`
}

// decodeFirewall decodes the firewall section v of s.
func decodeFirewall(s *Site, v cue.Value) (*Firewall, error) {
	var raw rawFirewall
	if err := v.Decode(&raw); err != nil {
		return nil, err
	}
	fw := &Firewall{
		Ports:            make(map[string]FirewallPort, len(raw.Ports)),
		Rules:            make(map[string]FirewallRule, len(raw.Rules)),
		OpenToWorld:      raw.OpenToWorld,
		SensitiveNumbers: raw.SensitiveNumbers,
	}
	for name, p := range raw.Ports {
		fp := FirewallPort{From: p.From, To: p.To, Protocols: p.Protocols, Pos: s.defPos(v, "ports", name)}
		if p.Sensitive != nil {
			fp.Sensitive, fp.Allowed = true, *p.Sensitive
		}
		fw.Ports[name] = fp
	}
	for name, r := range raw.Rules {
		fw.Rules[name] = FirewallRule{
			Service: r.Service, Ports: r.Ports, From: r.From, Nodes: r.Nodes,
			Except: r.Except, Fix: r.Fix, Pos: s.defPos(v, "rules", name),
		}
	}
	return fw, nil
}

// defPos is where firewall.<field>.<name> is written: in the site file
// if it is there, else where the model defines it (not a schema's
// pattern), else the nearest field the site file sets (see Pos).
func (s *Site) defPos(fw cue.Value, field, name string) token.Pos {
	v := fw.LookupPath(cue.MakePath(cue.Str(field), cue.Str(name)))
	var first token.Pos
	if op, args := v.Expr(); op == cue.AndOp {
		for _, a := range args {
			p := a.Pos()
			if !p.IsValid() {
				continue
			}
			if p.Filename() == s.File {
				return p
			}
			if !first.IsValid() {
				first = p
			}
		}
	}
	if first.IsValid() {
		return first
	}
	return s.Pos("firewall", field, name)
}
