package model

import (
	"errors"
	"testing"
)

func TestCheckEnv(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		ok          bool
	}{
		{"PATH", "/bin", true},
		{"EMPTY", "", true},
		{"lower_and.dots-ok", "a=b=c", true},
		{"", "x", false},
		{"A=B", "x", false},
		{"=", "", false},
		{"A\x00B", "x", false},
		{"A", "x\x00y", false},
		{"TOKEN", Secret{Name: "t", Source: SecretEnv, Ref: "T"}.Placeholder(), true},
		{"AUTH", "Bearer " + Secret{Name: "t", Source: SecretEnv, Ref: "T"}.Placeholder(), false},
	} {
		err := CheckEnv(tt.name, tt.value)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrBadEnv) {
			t.Errorf("CheckEnv(%q, %q) = %v, want ok %v", tt.name, tt.value, err, tt.ok)
		}
	}
}

func TestCheckEnviron(t *testing.T) {
	for _, tt := range []struct {
		env []string
		ok  bool
	}{
		{nil, true},
		{[]string{"A=1", "B=", "C=x=y", "=C:=C:\\dir"}, true},
		{[]string{"A"}, true},
		{[]string{"="}, false},
		{[]string{""}, false},
		{[]string{"A=1", "B=\x00"}, false},
		{[]string{"A\x00=1"}, false},
	} {
		if err := CheckEnviron(tt.env); (err == nil) != tt.ok {
			t.Errorf("CheckEnviron(%q) = %v, want ok %v", tt.env, err, tt.ok)
		}
	}
}
