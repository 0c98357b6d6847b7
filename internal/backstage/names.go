package backstage

// Backstage's rules for names, tags and entity references
// (https://backstage.io/docs/features/software-catalog/descriptor-format):
// a name is 1 to 63 characters of [a-zA-Z0-9], possibly separated by
// -, _ or .; a tag is a DNS label (lowercase letters and digits separated
// by single dashes, at most 63); a reference is [kind:][namespace/]name.

import (
	"fmt"
	"regexp"
	"strings"
)

// MaxNameLength bounds names and tags.
const MaxNameLength = 63

var (
	nameRE      = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	notNameRE   = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
	tagRE       = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	notTagRE    = regexp.MustCompile(`[^a-z0-9]+`)
	namespaceRE = tagRE // a namespace is a DNS label too
)

// ValidName reports whether s is a valid entity name.
func ValidName(s string) bool { return len(s) <= MaxNameLength && nameRE.MatchString(s) }

// ValidTag reports whether s is a valid tag.
func ValidTag(s string) bool { return len(s) <= MaxNameLength && tagRE.MatchString(s) }

// Name makes s a valid entity name: each run of other characters becomes
// one "-", the ends are trimmed to a letter or digit, and the result is
// cut to 63 characters. It returns "" when nothing is left.
func Name(s string) string {
	n := notNameRE.ReplaceAllString(s, "-")
	n = trimToAlnum(n)
	if len(n) > MaxNameLength {
		n = trimToAlnum(n[:MaxNameLength])
	}
	return n
}

// Tag makes s a valid tag: lowercase, each run of other characters one
// "-", cut to 63 characters; "" when nothing is left.
func Tag(s string) string {
	t := strings.Trim(notTagRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(t) > MaxNameLength {
		t = strings.Trim(t[:MaxNameLength], "-")
	}
	return t
}

// trimToAlnum trims everything but ASCII letters and digits from both ends.
func trimToAlnum(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	})
}

// Ref is the full reference of an entity written by Export, which puts
// everything in the default namespace: "component:default/NAME".
func Ref(kind, name string) string { return strings.ToLower(kind) + ":default/" + name }

// OwnerRef makes the reference of an owner from what catalog() says: a
// reference as Backstage writes it ("group:payments",
// "user:default/ana"; only group and user own things) is checked and
// completed with the default namespace; an address becomes the user named
// by its part before "@"; anything else names an entity of defaultKind
// ("group" for a team, "user" for an owner), made a valid name.
func OwnerRef(s, defaultKind string) (string, error) {
	s = strings.TrimSpace(s)
	kind, rest, isRef := strings.Cut(s, ":")
	if !isRef {
		name := s
		if local, _, ok := strings.Cut(s, "@"); ok {
			name = local
		}
		n := Name(name)
		if n == "" {
			return "", fmt.Errorf("%q has no letter or digit to name a Backstage %s with", s, defaultKind)
		}
		return Ref(defaultKind, n), nil
	}
	kind = strings.ToLower(kind)
	if kind != "group" && kind != "user" {
		return "", fmt.Errorf("%q: an owner is a group or a user, not a %s", s, kind)
	}
	ns, name, hasNS := strings.Cut(rest, "/")
	if !hasNS {
		ns, name = "default", rest
	}
	switch {
	case !namespaceRE.MatchString(ns) || len(ns) > MaxNameLength:
		return "", fmt.Errorf("%q: namespace %q is not a DNS label (lowercase letters, digits and dashes)", s, ns)
	case !ValidName(name):
		return "", fmt.Errorf("%q: %q is not a Backstage name (at most 63 letters, digits, -, _ and .)", s, name)
	}
	return kind + ":" + ns + "/" + name, nil
}
