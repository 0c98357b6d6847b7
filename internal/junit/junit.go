// Package junit writes the JUnit report of a project's test tasks (`loop
// ci --junit FILE`), the format CI systems (GitHub Actions reporters,
// GitLab's artifacts:reports) render: one testcase per task labelled
// "test".
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Write writes the JUnit XML report of p's test tasks to w. logs
// holds the last output lines of each failed task, by name; runErr, when
// the run failed before any task ran (a broken Loopfile), becomes a
// failing "Loopfile" testcase so the report is never silently empty.
func Write(w io.Writer, project string, p *api.Project, logs map[string][]string, runErr error, at time.Time) error {
	suite := junitSuite{Name: project, Timestamp: at.UTC().Format(time.RFC3339)}
	var total time.Duration
	if p != nil {
		for _, r := range p.TestTasks() {
			c := junitCase{Name: r.Name, Classname: project, Time: seconds(r.LastRun), File: declaredFile(r.Declared)}
			total += r.LastRun
			switch r.State {
			case api.StateReady:
			case api.StateFailed, api.StateCrashed:
				msg := r.Name + " " + r.State
				if r.Reason != "" {
					msg += ": " + r.Reason
				}
				c.Failure = &junitMessage{Message: msg, Type: r.State, Text: strings.Join(logs[r.Name], "\n")}
				suite.Failures++
			default:
				c.Skipped = &junitMessage{Message: fmt.Sprintf("did not finish (%s)", r.State)}
				suite.Skipped++
			}
			suite.Cases = append(suite.Cases, c)
		}
	}
	if runErr != nil && (p == nil || len(suite.Cases) == 0) {
		suite.Cases = append(suite.Cases, junitCase{Name: "Loopfile", Classname: project, Time: "0",
			Failure: &junitMessage{Message: "the project did not start", Type: "error", Text: runErr.Error()}})
		suite.Failures++
	}
	suite.Tests = len(suite.Cases)
	suite.Time = seconds(total)
	doc := junitSuites{Name: "loop ci", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}

// declaredFile is the file of a "file:line:col" position.
func declaredFile(pos string) string {
	f, _, _ := strings.Cut(pos, ":")
	return f
}
