package backstage

import (
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	long := strings.Repeat("a", 62) + "-b"
	for _, tc := range []struct{ in, want string }{
		{"shop-api", "shop-api"},
		{"Payments Platform", "Payments-Platform"},
		{"my shop/api", "my-shop-api"},
		{"a__b..c", "a__b..c"}, // separators are kept as Backstage allows them
		{"-_.x.-", "x"},
		{"café", "caf"},
		{"!!", ""},
		{long, strings.Repeat("a", 62)}, // cut to 63, then the trailing "-" trimmed
	} {
		got := Name(tc.in)
		if got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got != "" && !ValidName(got) {
			t.Errorf("Name(%q) = %q is not a valid name", tc.in, got)
		}
	}
}

func TestTag(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"pci", "pci"},
		{"Card Payments", "card-payments"},
		{"grpc_v2", "grpc-v2"},
		{"--x--", "x"},
		{"ÜBER", "ber"},
		{"", ""},
		{strings.Repeat("ab-", 30), strings.Repeat("ab-", 20) + "ab"}, // cut to 63, trailing "-" trimmed
	} {
		got := Tag(tc.in)
		if got != tc.want {
			t.Errorf("Tag(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got != "" && !ValidTag(got) {
			t.Errorf("Tag(%q) = %q is not a valid tag", tc.in, got)
		}
	}
}

func TestOwnerRef(t *testing.T) {
	for _, tc := range []struct{ in, kind, want, err string }{
		{"payments", "group", "group:default/payments", ""},
		{"Data Team", "group", "group:default/Data-Team", ""},
		{"ana", "user", "user:default/ana", ""},
		{"ana.lopez@example.com", "user", "user:default/ana.lopez", ""},
		{"group:payments", "user", "group:default/payments", ""},
		{"Group:platform/payments", "user", "group:platform/payments", ""},
		{"user:default/ana", "group", "user:default/ana", ""},
		{"component:x", "user", "", "an owner is a group or a user, not a component"},
		{"group:Bad_NS/x", "user", "", `namespace "Bad_NS" is not a DNS label`},
		{"group:a b", "user", "", `"a b" is not a Backstage name`},
		{"group:", "user", "", `"" is not a Backstage name`},
		{"@@", "user", "", "no letter or digit"},
	} {
		got, err := OwnerRef(tc.in, tc.kind)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("OwnerRef(%q, %q) = %q, %v; want %q", tc.in, tc.kind, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("OwnerRef(%q, %q) = %q, %v; want an error with %q", tc.in, tc.kind, got, err, tc.err)
		}
	}
}
