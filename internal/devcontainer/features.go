package devcontainer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/tailscale/hujson"

	"github.com/loopdev/loop/internal/model"
)

// featureUse is one local Feature as devcontainer.json uses it, with its
// devcontainer-feature.json read.
type featureUse struct {
	key       string // as written: "./go"
	dir       string // absolute Feature directory
	id        string
	version   string
	options   []featureOption // defaults merged with the config's values
	env       map[string]string
	envOrder  []string // containerEnv keys in source order
	files     []string // every file under dir
	configPos *hujson.Value
	src       *source // its devcontainer-feature.json
	// dependsOn are the local Features this one needs installed first
	// (loaded with the options it gives them when the config does not
	// list them); installsAfter are Feature folders it installs after
	// when they are used at all.
	dependsOn     []featureDep
	installsAfter []string
}

// featureDep is one dependsOn entry of a devcontainer-feature.json.
type featureDep struct {
	dir string // absolute Feature directory
	m   member // its key and options, in the dependent's devcontainer-feature.json
}

type featureOption struct {
	name  string // option id as declared
	value string
	at    *hujson.Value // where the value comes from (for errors)
	src   *source
}

const featureHint = "vendor it as a local Feature: copy its folder next to devcontainer.json and refer to it as \"./<folder>\""

// featureList reads `features`: local Features only.
func (p *parser) featureList(m member) error {
	obj, err := p.src.object(m.val, m.name)
	if err != nil {
		return err
	}
	for _, fm := range members(obj) {
		if !isLocalFeature(fm.name) {
			return p.src.errAt(fm.key, featureHint, "feature %q: registry Features are not supported yet", fm.name)
		}
		f, err := p.loadFeature(fm, p.src)
		if err != nil {
			return err
		}
		p.features = append(p.features, f)
	}
	return p.orderFeatures(m)
}

func isLocalFeature(key string) bool {
	return strings.HasPrefix(key, "./") || strings.HasPrefix(key, "../")
}

// loadFeature reads one local Feature's metadata and merges its option
// defaults with the values given at fm, in the file in (devcontainer.json,
// or the devcontainer-feature.json whose dependsOn names it). The path is
// relative to devcontainer.json's folder either way, as in the Dev
// Containers CLI.
func (p *parser) loadFeature(fm member, in *source) (*featureUse, error) {
	f := &featureUse{key: fm.name, dir: filepath.Join(p.dir, fm.name), configPos: fm.key}
	// The config's value: options, or a string that sets "version".
	user := map[string]*hujson.Value{}
	var userOrder []string
	switch v := fm.val.Value.(type) {
	case *hujson.Object:
		for _, om := range members(v) {
			if isNull(om.val) {
				continue
			}
			user[om.name] = om.val
			userOrder = append(userOrder, om.name)
		}
	default:
		if !isString(fm.val) {
			if isNull(fm.val) {
				break
			}
			return nil, in.typeError(fm.val, "feature "+fm.name, "an object of options or a version string")
		}
		user["version"] = fm.val
		userOrder = append(userOrder, "version")
	}

	metaFile := filepath.Join(f.dir, "devcontainer-feature.json")
	text, err := readFile(metaFile)
	if err != nil {
		return nil, in.errAt(fm.key, "a local Feature is a folder with devcontainer-feature.json and install.sh",
			"feature %q: %v", fm.name, err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "install.sh")); err != nil {
		return nil, in.errAt(fm.key, "a local Feature is a folder with devcontainer-feature.json and install.sh",
			"feature %q has no install.sh", fm.name)
	}
	f.src = &source{file: metaFile, display: p.displayPath(metaFile), text: text}
	root, err := f.src.parse()
	if err != nil {
		return nil, err
	}
	meta, err := f.src.object(&root, "devcontainer-feature.json")
	if err != nil {
		return nil, err
	}
	var declared []member
	for _, mm := range members(meta) {
		if isNull(mm.val) {
			continue
		}
		var err error
		switch mm.name {
		case "id":
			f.id, err = f.src.rawString(mm.val, "id")
		case "version":
			f.version, err = f.src.rawString(mm.val, "version")
		case "options":
			var opts *hujson.Object
			if opts, err = f.src.object(mm.val, "options"); err == nil {
				declared = members(opts)
			}
		case "containerEnv":
			var env *hujson.Object
			if env, err = f.src.object(mm.val, "containerEnv"); err != nil {
				break
			}
			f.env = map[string]string{}
			for _, em := range members(env) {
				var s string
				if s, err = f.src.rawString(em.val, "containerEnv."+em.name); err != nil {
					break
				}
				// The Dockerfile's ENV takes the name unquoted.
				if err = model.CheckEnv(em.name, s); err == nil && strings.ContainsAny(em.name, " \t\r\n") {
					err = fmt.Errorf("%w: name %q contains white space", model.ErrBadEnv, em.name)
				}
				if err != nil {
					err = f.src.errAt(em.key, "name it with letters, digits and _: it becomes an ENV of the generated Dockerfile", "containerEnv: %v", err)
					break
				}
				f.env[em.name] = s
				f.envOrder = append(f.envOrder, em.name)
			}
		case "privileged":
			var b bool
			if b, err = f.src.boolean(mm.val, mm.name); b {
				p.c.Privileged = true
			}
		case "init":
			var b bool
			if b, err = f.src.boolean(mm.val, mm.name); b {
				p.c.Init = true
			}
		case "capAdd":
			var arr *hujson.Array
			if arr, err = f.src.array(mm.val, mm.name); err != nil {
				break
			}
			for i := range arr.Elements {
				var c string
				if c, err = f.src.rawString(&arr.Elements[i], fmt.Sprintf("capAdd[%d]", i)); err != nil {
					break
				}
				p.addCap(c)
			}
		case "dependsOn":
			err = f.readDependsOn(p.dir, mm)
		case "installsAfter":
			err = f.readInstallsAfter(p.dir, mm)
		case "$schema", "name", "description", "documentationURL", "licenseURL", "keywords", "legacyIds", "deprecated":
			// Metadata.
		default:
			p.res.Warnings = append(p.res.Warnings, f.src.warnAt(mm.key, "Feature property %s is not supported by loop; ignored", mm.name))
		}
		if err != nil {
			return nil, err
		}
	}
	if f.id == "" {
		return nil, f.src.errAt(&root, "add \"id\": the Feature's folder name", "devcontainer-feature.json has no id")
	}

	// Defaults in declaration order, then the config's values over them.
	index := map[string]int{}
	for _, om := range declared {
		def := ""
		if spec, ok := om.val.Value.(*hujson.Object); ok {
			for _, sm := range members(spec) {
				if sm.name == "default" && !isNull(sm.val) {
					d, err := f.src.scalar(sm.val, "options."+om.name+".default")
					if err != nil {
						return nil, err
					}
					def = d
				}
			}
		} else {
			return nil, f.src.typeError(om.val, "options."+om.name, "an object")
		}
		index[om.name] = len(f.options)
		f.options = append(f.options, featureOption{name: om.name, value: def, at: om.val, src: f.src})
	}
	for _, name := range userOrder {
		v := user[name]
		s, err := in.scalar(v, fmt.Sprintf("feature %s option %s", fm.name, name))
		if err != nil {
			return nil, err
		}
		opt := featureOption{name: name, value: p.vars.expand(s), at: v, src: in}
		if i, ok := index[name]; ok {
			f.options[i] = opt
		} else {
			index[name] = len(f.options)
			f.options = append(f.options, opt)
		}
	}

	err = filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			f.files = append(f.files, path)
		}
		return err
	})
	if err != nil {
		return nil, in.errAt(fm.key, "", "feature %q: %v", fm.name, err)
	}
	p.res.Files = append(p.res.Files, f.files...)
	p.rebuild = append(p.rebuild, f.dir)
	return f, nil
}

func (p *parser) displayPath(file string) string {
	if rel, err := filepath.Rel(p.opts.ProjectDir, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return file
}

// OptionEnvName is the environment variable a Feature option is passed to
// install.sh as: non-word characters become _, leading digits and
// underscores collapse into one _, and the result is upper-cased (the
// Features spec).
func OptionEnvName(option string) string {
	s := nonWord.ReplaceAllString(option, "_")
	s = leadingDigits.ReplaceAllString(s, "_")
	return strings.ToUpper(s)
}

var (
	nonWord       = regexp.MustCompile(`[^\w]`)
	leadingDigits = regexp.MustCompile(`^[\d_]+`)
	unsafeName    = regexp.MustCompile(`[^A-Za-z0-9._-]`)
)

// Where Features are copied in the image.
const featuresInImage = "/tmp/loop-features"

// imageUserArg is the build argument that names the base image's user, so
// that the Features image switches back to it; the runtime may set it after
// inspecting the base image (default root).
const imageUserArg = "_DEV_CONTAINERS_IMAGE_USER"

// baseImageArg names the image the Features image extends.
const baseImageArg = "LOOP_BASE_IMAGE"

// featureImage describes the image that installs the Features on top of
// base: a generated Dockerfile, and each Feature's folder copied to
// features/<n>-<id>/ in its build context. Nothing is written: the runtime
// assembles the context when it builds (model.GeneratedContext).
func (p *parser) featureImage(base string) (*model.Image, error) {
	gen := &model.GeneratedContext{}
	var df strings.Builder
	fmt.Fprintf(&df, "# Generated by loop from %s: installs its local Features. Do not edit.\n", p.src.display)
	fmt.Fprintf(&df, "ARG %s=%s\nFROM ${%s}\n", baseImageArg, base, baseImageArg)
	fmt.Fprintf(&df, "ARG %s=root\nUSER root\n", imageUserArg)
	containerUser := `"$` + imageUserArg + `"`
	if p.c.User != "" {
		containerUser = shellQuote(p.c.User)
	}
	remoteUser := containerUser
	if p.c.RemoteUser != "" {
		remoteUser = shellQuote(p.c.RemoteUser)
	}
	for n, f := range p.features {
		name := fmt.Sprintf("%d-%s", n, unsafeName.ReplaceAllString(f.id, "_"))
		gen.Copies = append(gen.Copies, model.ContextCopy{From: f.dir, To: "features/" + name})
		inImage := featuresInImage + "/" + name
		fmt.Fprintf(&df, "\n# %s (%s %s)\n", f.key, f.id, f.version)
		for _, k := range f.envOrder {
			fmt.Fprintf(&df, "ENV %s=%s\n", k, dockerQuote(f.env[k]))
		}
		fmt.Fprintf(&df, "COPY features/%s/ %s/\n", name, inImage)
		env := []string{"_REMOTE_USER=" + remoteUser, "_CONTAINER_USER=" + containerUser}
		for _, o := range f.options {
			if strings.ContainsAny(o.value, "\r\n") {
				return nil, o.src.errAt(o.at, "", "feature %s option %s: a value cannot span lines", f.key, o.name)
			}
			env = append(env, OptionEnvName(o.name)+"="+shellQuote(o.value))
		}
		fmt.Fprintf(&df, "RUN cd %s && chmod +x install.sh && %s ./install.sh\n", inImage, strings.Join(env, " "))
	}
	fmt.Fprintf(&df, "\nUSER ${%s}\n", imageUserArg)
	gen.Dockerfile = df.String()
	return &model.Image{
		Name:      p.opts.Name,
		Generated: gen,
		Pos:       p.pos(p.features[0].configPos),
	}, nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:=@+,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dockerQuote quotes an ENV value; ${VAR} references still expand.
func dockerQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
