package devcontainer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tailscale/hujson"

	"github.com/loopdev/loop/internal/model"
)

const mountHint = `e.g. "source=${localWorkspaceFolder}/data,target=/data,type=bind"`

// runFlag is a `docker run` flag loop maps from runArgs.
type runFlag struct {
	names []string // long name first
	value bool     // takes a value
}

var runFlags = []runFlag{
	{names: []string{"--env", "-e"}, value: true},
	{names: []string{"--publish", "-p"}, value: true},
	{names: []string{"--volume", "-v"}, value: true},
	{names: []string{"--cap-add"}, value: true},
	{names: []string{"--privileged"}},
	{names: []string{"--init"}},
}

func supportedRunFlags() string {
	var names []string
	for _, f := range runFlags {
		names = append(names, strings.Join(f.names, "/"))
	}
	return "loop supports " + strings.Join(names, ", ") + "; use the matching devcontainer.json property where there is one"
}

func lookupRunFlag(name string) *runFlag {
	for i := range runFlags {
		for _, n := range runFlags[i].names {
			if n == name {
				return &runFlags[i]
			}
		}
	}
	return nil
}

// runArgs maps the supported `docker run` flags; any other is an error at
// its array element.
func (p *parser) runArgs(m member) error {
	arr, err := p.src.array(m.val, m.name)
	if err != nil {
		return err
	}
	els := arr.Elements
	for i := 0; i < len(els); i++ {
		el := &els[i]
		arg, err := p.str(el, fmt.Sprintf("runArgs[%d]", i))
		if err != nil {
			return err
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
			return p.src.errAt(el, supportedRunFlags(), "runArgs: unexpected argument %q", arg)
		}
		name, val, inline := strings.Cut(arg, "=")
		if !strings.HasPrefix(arg, "--") && len(arg) > 2 {
			// -e=FOO=bar, -eFOO=bar
			name, val, inline = arg[:2], strings.TrimPrefix(arg[2:], "="), true
		}
		f := lookupRunFlag(name)
		if f == nil {
			return p.src.errAt(el, supportedRunFlags(), "runArgs: flag %s is not supported by loop", name)
		}
		if f.value && !inline {
			if i+1 == len(els) {
				return p.src.errAt(el, "", "runArgs: flag %s needs a value", name)
			}
			i++
			if val, err = p.str(&els[i], fmt.Sprintf("runArgs[%d]", i)); err != nil {
				return err
			}
		}
		if err := p.runFlag(f.names[0], val, inline, el); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) runFlag(name, val string, inline bool, el *hujson.Value) error {
	switch name {
	case "--env":
		k, v, ok := strings.Cut(val, "=")
		if !ok {
			// -e VAR copies VAR from the local environment, if set.
			if v, ok = p.vars.env[k]; !ok {
				return nil
			}
		}
		if p.runEnv == nil {
			p.runEnv = map[string]string{}
		}
		p.runEnv[k] = v
	case "--publish":
		pm, warn, err := parsePublish(val)
		if err != nil {
			return p.src.errAt(el, `e.g. "-p", "8080:80"`, "runArgs: %s %s: %v", name, val, err)
		}
		if warn != "" {
			p.warn(el, "runArgs: %s", warn)
		}
		p.addPort(pm)
	case "--volume":
		vol, warns, err := p.parseVolumeFlag(val)
		if err != nil {
			return p.src.errAt(el, `e.g. "-v", "cache:/root/.cache"`, "runArgs: %s %s: %v", name, val, err)
		}
		for _, w := range warns {
			p.warn(el, "runArgs: %s", w)
		}
		p.c.Volumes = append(p.c.Volumes, vol)
	case "--cap-add":
		p.addCap(val)
	case "--privileged", "--init":
		b := true
		if inline {
			var err error
			if b, err = strconv.ParseBool(val); err != nil {
				return p.src.errAt(el, "", "runArgs: %s=%s: want true or false", name, val)
			}
		}
		if name == "--init" {
			p.c.Init = b
		} else {
			p.c.Privileged = b
		}
	}
	return nil
}

// parseVolumeFlag reads -v SOURCE:TARGET[:OPTIONS]. A source with a slash
// or a leading dot is a host path (relative to the project), anything else
// a volume name.
func (p *parser) parseVolumeFlag(s string) (model.Volume, []string, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return model.Volume{}, nil, errors.New("want SOURCE:TARGET[:ro]; anonymous volumes are not supported, name the volume")
	}
	vol := model.Volume{Source: parts[0], Target: parts[1]}
	if vol.Source == "" || !strings.HasPrefix(vol.Target, "/") {
		return vol, nil, errors.New("want SOURCE:TARGET with an absolute TARGET")
	}
	if strings.Contains(vol.Source, "/") || strings.HasPrefix(vol.Source, ".") {
		vol.Source = p.abs(p.opts.ProjectDir, vol.Source)
	} else {
		vol.Named = true
	}
	var warns []string
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro", "readonly":
				vol.ReadOnly = true
			case "rw", "cached", "delegated", "consistent", "":
			default:
				warns = append(warns, fmt.Sprintf("volume option %q is not supported by loop; ignored", o))
			}
		}
	}
	return vol, warns, nil
}

// parseMount reads a --mount style string: type=bind|volume, source (src),
// target (destination, dst), readonly (ro). A nil volume means the mount
// was skipped (tmpfs), with a warning.
func (p *parser) parseMount(s string) (*model.Volume, []string, error) {
	var vol model.Volume
	typ := "volume" // docker's default
	var warns []string
	for _, field := range strings.Split(s, ",") {
		k, v, hasVal := strings.Cut(strings.TrimSpace(field), "=")
		switch strings.ToLower(k) {
		case "type":
			typ = v
		case "source", "src":
			vol.Source = v
		case "target", "destination", "dst":
			vol.Target = v
		case "readonly", "ro":
			if !hasVal {
				vol.ReadOnly = true
				break
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, nil, fmt.Errorf("%s=%s: want true or false", k, v)
			}
			vol.ReadOnly = b
		case "consistency", "":
			// consistency is a no-op outside old Docker Desktop releases.
		default:
			warns = append(warns, fmt.Sprintf("mount option %q is not supported by loop; ignored", k))
		}
	}
	if !strings.HasPrefix(vol.Target, "/") {
		return nil, nil, errors.New("the mount needs an absolute target=")
	}
	switch typ {
	case "bind":
		if vol.Source == "" {
			return nil, nil, errors.New("a bind mount needs source=")
		}
		vol.Source = p.abs(p.opts.ProjectDir, vol.Source)
	case "volume":
		if vol.Source == "" {
			return nil, nil, errors.New("anonymous volumes are not supported: name the volume with source=")
		}
		vol.Named = true
	case "tmpfs":
		return nil, append(warns, fmt.Sprintf("tmpfs mount at %s is not supported by loop; ignored", vol.Target)), nil
	default:
		return nil, nil, fmt.Errorf("mount type %q is not supported; use bind or volume", typ)
	}
	return &vol, warns, nil
}

// mounts reads `mounts`: --mount strings or {source, target, type} objects.
func (p *parser) mounts(m member) error {
	arr, err := p.src.array(m.val, m.name)
	if err != nil {
		return err
	}
	for i := range arr.Elements {
		el := &arr.Elements[i]
		what := fmt.Sprintf("mounts[%d]", i)
		var spec string
		switch el.Value.(type) {
		case *hujson.Object:
			var fields []string
			for _, fm := range members(el.Value.(*hujson.Object)) {
				if isNull(fm.val) {
					continue
				}
				v, err := p.src.scalar(fm.val, what+"."+fm.name)
				if err != nil {
					return err
				}
				fields = append(fields, fm.name+"="+p.vars.expand(v))
			}
			spec = strings.Join(fields, ",")
		default:
			if spec, err = p.str(el, what); err != nil {
				return err
			}
		}
		vol, warns, err := p.parseMount(spec)
		if err != nil {
			return p.src.errAt(el, mountHint, "%s: %v", what, err)
		}
		for _, w := range warns {
			p.warn(el, "%s: %s", what, w)
		}
		if vol != nil {
			p.c.Volumes = append(p.c.Volumes, *vol)
		}
	}
	return nil
}

// parsePublish reads [[IP:]HOST:]CONTAINER[/PROTO].
func parsePublish(s string) (pm model.PortMap, warn string, err error) {
	spec, proto, hasProto := strings.Cut(s, "/")
	pm.Protocol = "tcp"
	if hasProto {
		if proto != "tcp" && proto != "udp" {
			return pm, "", fmt.Errorf("protocol %q is not supported; use tcp or udp", proto)
		}
		pm.Protocol = proto
	}
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return pm, "", errors.New("want [HOST:]CONTAINER")
	}
	if len(parts) == 3 {
		if parts[0] != "" {
			warn = fmt.Sprintf("host address %s in %q is not supported by loop; ignored", parts[0], s)
		}
		parts = parts[1:]
	}
	if pm.Container, err = portNumber(parts[len(parts)-1]); err != nil {
		return pm, "", err
	}
	if len(parts) == 2 && parts[0] != "" {
		if pm.Host, err = portNumber(parts[0]); err != nil {
			return pm, "", err
		}
	}
	return pm, warn, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (ranges are not supported)", s)
	}
	return n, nil
}

// addPort publishes pm once and records its host port.
func (p *parser) addPort(pm model.PortMap) {
	key := fmt.Sprintf("%d:%d/%s", pm.Host, pm.Container, pm.Protocol)
	if _, ok := p.seenPort[key]; ok {
		return
	}
	p.seenPort[key] = len(p.c.Ports)
	p.c.Ports = append(p.c.Ports, pm)
	host := pm.Host
	if host == 0 {
		host = pm.Container
	}
	for _, h := range p.res.Ports {
		if h == host {
			return
		}
	}
	p.res.Ports = append(p.res.Ports, host)
}

// forwardPorts reads ports (numbers or "host:port" strings); only local
// ports can be published, so "db:5432" is a warning.
func (p *parser) forwardPorts(m member) error {
	arr, err := p.src.array(m.val, m.name)
	if err != nil {
		return err
	}
	for i := range arr.Elements {
		el := &arr.Elements[i]
		what := fmt.Sprintf("forwardPorts[%d]", i)
		if !isString(el) {
			n, err := p.src.integer(el, what)
			if err != nil {
				return err
			}
			if n < 1 || n > 65535 {
				return p.src.errAt(el, "", "%s: %d is not a port number", what, n)
			}
			p.addPort(model.PortMap{Host: n, Container: n, Protocol: "tcp"})
			continue
		}
		s, _ := p.str(el, what)
		host, port, hasHost := strings.Cut(s, ":")
		if !hasHost {
			host, port = "", s
		}
		switch host {
		case "", "localhost", "127.0.0.1", "0.0.0.0":
		default:
			p.warn(el, "%s: %q forwards a port of another host; loop only publishes the container's own ports; ignored", what, s)
			continue
		}
		n, err := portNumber(port)
		if err != nil {
			return p.src.errAt(el, `e.g. 3000 or "localhost:3000"`, "%s: %v", what, err)
		}
		p.addPort(model.PortMap{Host: n, Container: n, Protocol: "tcp"})
	}
	return nil
}

// appPort reads a port, a "host:container" string, or an array of them.
func (p *parser) appPort(m member) error {
	els := []*hujson.Value{m.val}
	if arr, ok := m.val.Value.(*hujson.Array); ok {
		els = els[:0]
		for i := range arr.Elements {
			els = append(els, &arr.Elements[i])
		}
	}
	for _, el := range els {
		var pm model.PortMap
		if isString(el) {
			s, _ := p.str(el, "appPort")
			var warn string
			var err error
			if pm, warn, err = parsePublish(s); err != nil {
				return p.src.errAt(el, `e.g. 8080 or "8080:80"`, "appPort: %v", err)
			}
			if warn != "" {
				p.warn(el, "appPort: %s", warn)
			}
		} else {
			n, err := p.src.integer(el, "appPort")
			if err != nil {
				return err
			}
			if n < 1 || n > 65535 {
				return p.src.errAt(el, "", "appPort: %d is not a port number", n)
			}
			pm = model.PortMap{Host: n, Container: n, Protocol: "tcp"}
		}
		p.addPort(pm)
	}
	return nil
}
