package loopfile

// Ports and volumes of container(): "8080:80/udp" and "data:/data:ro".

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
)

// portMaps reads a list of ports to publish: an int (the same port on both
// sides) or a "[HOST:]CONTAINER[/PROTO]" string.
func (a *args) portMaps(name string) []model.PortMap {
	seq := a.list(name, "list of ports")
	if seq == nil {
		return nil
	}
	var out []model.PortMap
	for i := range seq.Len() {
		var pm model.PortMap
		switch x := seq.Index(i).(type) {
		case starlark.Int:
			n, ok := x.Int64()
			if !ok || n < 1 || n > 65535 {
				a.fail(name, "", "element %d: port %s out of range 1-65535", i, x)
				return nil
			}
			pm = model.PortMap{Host: int(n), Container: int(n), Protocol: "tcp"}
		case starlark.String:
			var err error
			if pm, err = parsePortMap(string(x)); err != nil {
				a.fail(name, portHint, "element %d: %v", i, err)
				return nil
			}
		default:
			a.fail(name, portHint, "element %d: got %s, want int or string", i, x.Type())
			return nil
		}
		for _, prev := range out {
			if prev.Host == pm.Host && prev.Protocol == pm.Protocol {
				a.fail(name, "publish each host port once", "element %d: host port %d/%s published twice", i, pm.Host, pm.Protocol)
				return nil
			}
		}
		out = append(out, pm)
	}
	return out
}

// parsePortMap parses "[HOST:]CONTAINER[/PROTO]".
func parsePortMap(s string) (model.PortMap, error) {
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return model.PortMap{}, fmt.Errorf("port %q: unknown protocol %q (want tcp or udp)", s, proto)
	}
	parts := strings.Split(spec, ":")
	if len(parts) == 1 {
		parts = append(parts, parts[0])
	}
	if len(parts) != 2 {
		return model.PortMap{}, fmt.Errorf("invalid port %q (a host address is not supported)", s)
	}
	var ns [2]int
	for j, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return model.PortMap{}, fmt.Errorf("invalid port %q", s)
		}
		ns[j] = n
	}
	return model.PortMap{Host: ns[0], Container: ns[1], Protocol: proto}, nil
}

// volumes reads a list of "SOURCE:TARGET[:ro|:rw]" mounts. A source that
// starts with ".", "/" or a drive letter is a host path (relative to the
// project directory); anything else names a volume.
func (a *args) volumes(s *evalState, name string) []model.Volume {
	seq := a.list(name, "list of strings")
	if seq == nil {
		return nil
	}
	var out []model.Volume
	for i := range seq.Len() {
		x, ok := seq.Index(i).(starlark.String)
		if !ok {
			a.fail(name, volumeHint, "element %d: got %s, want string", i, seq.Index(i).Type())
			return nil
		}
		v, err := parseVolume(s, string(x))
		if err != nil {
			a.fail(name, volumeHint, "element %d: %v", i, err)
			return nil
		}
		for _, prev := range out {
			if prev.Target == v.Target {
				a.fail(name, "mount one volume per container path", "element %d: %s mounted twice", i, v.Target)
				return nil
			}
		}
		out = append(out, v)
	}
	return out
}

// parseVolume parses spec (parseVolumeSpec) and makes a host source
// absolute.
func parseVolume(s *evalState, spec string) (model.Volume, error) {
	v, err := parseVolumeSpec(spec)
	if err == nil && !v.Named {
		v.Source = s.abs(v.Source)
	}
	return v, err
}

// parseVolumeSpec parses "SOURCE:TARGET[:ro|:rw]", leaving a host source
// as written. A source that starts with ".", "/" or a drive letter
// ("C:\", "C:/") is a host path; the drive's colon is part of it, as
// Docker Compose reads specs on Windows. A Loopfile on Linux has no drive
// letters, but the rule is the same on every OS (so a one-letter volume
// name cannot be followed by an absolute target written with "/"; Compose
// refuses it too).
func parseVolumeSpec(spec string) (model.Volume, error) {
	drive := ""
	if hasDriveLetter(spec) {
		drive, spec = spec[:2], spec[2:]
	}
	parts := strings.Split(spec, ":")
	parts[0] = drive + parts[0]
	spec = drive + spec
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return model.Volume{}, fmt.Errorf("invalid volume %q", spec)
	}
	v := model.Volume{Target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return model.Volume{}, fmt.Errorf("volume %q: unknown option %q (want ro or rw)", spec, parts[2])
		}
	}
	if !path.IsAbs(v.Target) {
		return model.Volume{}, fmt.Errorf("volume %q: target %q is not an absolute path", spec, v.Target)
	}
	v.Target = path.Clean(v.Target)
	switch src := parts[0]; {
	case drive != "" || strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/"):
		v.Source = src
	case namePattern.MatchString(src):
		v.Source, v.Named = src, true
	default:
		return model.Volume{}, fmt.Errorf("volume %q: invalid volume name %q", spec, src)
	}
	return v, nil
}

// hasDriveLetter reports whether p starts with a Windows drive: one ASCII
// letter, a colon and a separator ("C:\", "c:/").
func hasDriveLetter(p string) bool {
	if len(p) < 3 || p[1] != ':' || (p[2] != '\\' && p[2] != '/') {
		return false
	}
	c := p[0]
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
