package pipeline

import (
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/nuvla/nuvlagen/generator/site"
)

// render renders sites loaded already, with Run's duplicate-site policy
// (every error reported), for the tests that build or change sites by
// hand; the others go through Run.
func render(sites []*site.Site) (Files, error) {
	inputs := make([]Input, len(sites))
	results := make([]inputResult, len(sites))
	for i, s := range sites {
		inputs[i] = Input{Name: s.File}
		r, err := renderRooted(s, nil)
		if err != nil {
			results[i] = inputResult{err: err}
			continue
		}
		results[i] = inputResult{sites: []Rendered{r}}
	}
	res := collect(inputs, results, func(i int, _ string) token.Pos { return sites[i].Pos("name") })
	if err := res.Err(); err != nil {
		var list errors.Error
		for _, e := range res.Errors {
			list = errors.Append(list, errors.Promote(e, ""))
		}
		return nil, list
	}
	return res.Files(), nil
}

// renderOne renders one site's files, relative to its own directory.
func renderOne(s *site.Site) (Files, error) {
	files, _, err := renderSite(s, nil)
	return files, err
}
