package devcontainer

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// readDependsOn reads a Feature's dependsOn: an object of Feature → options.
// Only local Features can be installed; a registry one is an error at its
// key.
func (f *featureUse) readDependsOn(configDir string, m member) error {
	obj, err := f.src.object(m.val, "dependsOn")
	if err != nil {
		return err
	}
	for _, dm := range members(obj) {
		if !isLocalFeature(dm.name) {
			return f.src.errAt(dm.key, featureHint, "dependsOn %q: registry Features are not supported yet", dm.name)
		}
		f.dependsOn = append(f.dependsOn, featureDep{dir: filepath.Join(configDir, dm.name), m: dm})
	}
	return nil
}

// readInstallsAfter reads a Feature's installsAfter: Features to install
// before it when the config uses them. A registry id can never match a
// local Feature, so it is ignored (as the Dev Containers CLI does).
func (f *featureUse) readInstallsAfter(configDir string, m member) error {
	arr, err := f.src.array(m.val, "installsAfter")
	if err != nil {
		return err
	}
	for i := range arr.Elements {
		s, err := f.src.rawString(&arr.Elements[i], fmt.Sprintf("installsAfter[%d]", i))
		if err != nil {
			return err
		}
		if isLocalFeature(s) {
			f.installsAfter = append(f.installsAfter, filepath.Join(configDir, s))
		}
	}
	return nil
}

// orderFeatures loads the dependsOn Features the config does not list and
// sorts p.features into install order, as the Dev Containers CLI does: in
// rounds, each round installs every Feature whose dependsOn and (used)
// installsAfter Features are installed, sorted by folder path. The order of
// the keys in the config does not matter. A cycle is an error at
// `features`.
func (p *parser) orderFeatures(m member) error {
	byDir := map[string]*featureUse{}
	for _, f := range p.features {
		byDir[f.dir] = f
	}
	for i := 0; i < len(p.features); i++ { // p.features grows as dependencies load
		for _, d := range p.features[i].dependsOn {
			if byDir[d.dir] != nil {
				continue
			}
			dep, err := p.loadFeature(d.m, p.features[i].src)
			if err != nil {
				return err
			}
			byDir[d.dir] = dep
			p.features = append(p.features, dep)
		}
	}
	installed := map[string]bool{}
	ready := func(f *featureUse) bool {
		for _, d := range f.dependsOn {
			if !installed[d.dir] {
				return false
			}
		}
		for _, dir := range f.installsAfter {
			if byDir[dir] != nil && !installed[dir] {
				return false
			}
		}
		return true
	}
	left := p.features
	order := make([]*featureUse, 0, len(left))
	for len(left) > 0 {
		var round, rest []*featureUse
		for _, f := range left {
			if ready(f) {
				round = append(round, f)
			} else {
				rest = append(rest, f)
			}
		}
		if len(round) == 0 {
			keys := make([]string, len(rest))
			for i, f := range rest {
				keys[i] = f.key
			}
			return p.src.errAt(m.key, "remove one of the dependsOn or installsAfter entries that form the cycle",
				"features: %s depend on each other (dependsOn/installsAfter)", strings.Join(keys, ", "))
		}
		slices.SortStableFunc(round, func(a, b *featureUse) int { return collate(a.dir, b.dir) })
		for _, f := range round {
			installed[f.dir] = true
		}
		order = append(order, round...)
		left = rest
	}
	p.features = order
	return nil
}

// collate orders Feature paths as JavaScript's localeCompare does in the
// Dev Containers CLI, for the paths Features have: case is ignored first
// (lower case before upper on a tie), and "_" sorts before other
// punctuation, punctuation before digits, digits before letters.
func collate(a, b string) int {
	key := func(s string) []byte {
		k := []byte(strings.ToLower(s))
		for i, c := range k {
			if c == '_' {
				k[i] = ' ' // below "-", ".", "/" and digits
			}
		}
		return k
	}
	if c := strings.Compare(string(key(a)), string(key(b))); c != 0 {
		return c
	}
	return -strings.Compare(a, b) // "a" before "A"
}
