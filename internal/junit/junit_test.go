package junit

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
)

func TestWrite(t *testing.T) {
	p := &api.Project{Resources: []api.Resource{
		{Name: "unit", Kind: "task", State: api.StateReady, Labels: []string{"test"}, LastRun: 1500 * time.Millisecond, Declared: "/p/Loopfile:2:1"},
		{Name: "e2e", Kind: "task", State: api.StateFailed, Reason: "exit 1", Labels: []string{"test"}, LastRun: 2 * time.Second},
		{Name: "slow", Kind: "task", State: api.StateStarting, Labels: []string{"test"}},
		{Name: "build", Kind: "task", State: api.StateReady},
		{Name: "web", Kind: "service", State: api.StateReady, Labels: []string{"test"}},
	}}
	var b strings.Builder
	err := Write(&b, "shop", p, map[string][]string{"e2e": {"--- FAIL: TestCheckout", "want <200> & got 500"}}, nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	s := doc.Suites[0]
	if doc.Tests != 3 || s.Failures != 1 || s.Skipped != 1 || s.Time != "3.500" {
		t.Errorf("suite = %d tests, %d failures, %d skipped, time %s; want 3, 1, 1, 3.500\n%s", doc.Tests, s.Failures, s.Skipped, s.Time, b.String())
	}
	if c := s.Cases[0]; c.Name != "unit" || c.Time != "1.500" || c.Failure != nil || c.File != "/p/Loopfile" {
		t.Errorf("unit = %+v", c)
	}
	if c := s.Cases[1]; c.Failure == nil || c.Failure.Message != "e2e failed: exit 1" || !strings.Contains(c.Failure.Text, "want <200> & got 500") {
		t.Errorf("e2e = %+v", c)
	}
	if !strings.HasPrefix(b.String(), "<?xml") {
		t.Errorf("no XML header:\n%s", b.String())
	}
}

func TestWrite_RunError(t *testing.T) {
	var b strings.Builder
	if err := Write(&b, "shop", nil, nil, errors.New("Loopfile:3:1: bad"), time.Now()); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Failures != 1 || doc.Suites[0].Cases[0].Failure == nil || !strings.Contains(doc.Suites[0].Cases[0].Failure.Text, "bad") {
		t.Errorf("report of a run that never started:\n%s", b.String())
	}
}
