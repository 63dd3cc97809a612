package check

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtbench/rtbench/transport"
)

// File is a checks file: several checks run at once under one total timeout.
// The format is documented in docs/check.md.
type File struct {
	// Timeout bounds the whole run, and is each check's default; 0 when
	// the file gives none.
	Timeout time.Duration
	Checks  []Spec
}

// MaxFileBytes bounds a checks file.
const MaxFileBytes = 1 << 20

// LoadFile reads and validates a checks file. ${VAR} in URLs, header values
// and bodies is replaced by getenv(VAR); a variable that is not set is an
// error. Errors name the file and the line.
func LoadFile(path string, getenv func(string) string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s is %d bytes; a checks file is at most %d", path, st.Size(), MaxFileBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	return ParseFile(path, b, getenv)
}

// The YAML shapes. Unknown keys are errors (KnownFields).
type yamlFile struct {
	Timeout yamlDuration `yaml:"timeout"`
	Checks  []yamlCheck  `yaml:"checks"`
}

type yamlCheck struct {
	Name        string            `yaml:"name"`
	URL         string            `yaml:"url"`
	Mode        string            `yaml:"mode"`
	Method      string            `yaml:"method"`
	Headers     map[string]string `yaml:"headers"`
	Data        string            `yaml:"data"`
	Send        yamlStrings       `yaml:"send"`
	Concurrency int               `yaml:"concurrency"`
	Timeout     yamlDuration      `yaml:"timeout"`
	Reconnect   string            `yaml:"reconnect"`
	Insecure    bool              `yaml:"insecure"`

	Status      yamlScalar   `yaml:"status"`
	ContentType string       `yaml:"content_type"`
	Events      int          `yaml:"events"`
	Within      yamlDuration `yaml:"within"`
	FirstEvent  yamlDuration `yaml:"first_event"`
	Expect      yamlStrings  `yaml:"expect"`
	ExpectFirst string       `yaml:"expect_first"`
	TTFT        yamlDuration `yaml:"ttft"`
	Complete    *bool        `yaml:"complete"`
	Echo        bool         `yaml:"echo"`
	Thresholds  yamlStrings  `yaml:"thresholds"`
}

// checkKeys are yamlCheck's keys, for error messages.
var checkKeys = []string{"name", "url", "mode", "method", "headers", "data", "send", "concurrency", "timeout", "reconnect", "insecure",
	"status", "content_type", "events", "within", "first_event", "expect", "expect_first", "ttft", "complete", "echo", "thresholds"}

// yamlDuration is a Go duration: 500ms, 5s, 1m30s.
type yamlDuration time.Duration

func (d *yamlDuration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %q is not a duration: write one such as 500ms, 5s or 1m30s", n.Line, n.Value)
	}
	*d = yamlDuration(v)
	return nil
}

// yamlScalar is a string that may be written as a number (status: 200).
type yamlScalar string

func (s *yamlScalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a value such as 200 or 2xx", n.Line)
	}
	*s = yamlScalar(n.Value)
	return nil
}

// yamlStrings is a list of strings, or one string.
type yamlStrings []string

func (s *yamlStrings) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = []string{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want a list of strings", c.Line)
			}
			out = append(out, c.Value)
		}
		*s = out
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

var (
	reLine    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	reUnknown = regexp.MustCompile(`^field (\S+) not found in type check\.yaml(\w+)$`)
)

// ParseFile parses a checks file's content; name is the file's name in
// errors.
func ParseFile(name string, data []byte, getenv func(string) string) (*File, error) {
	var f yamlFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, yamlError(name, err)
	}
	// Line numbers for the checks and their keys.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	items := checkNodes(&doc)
	if len(f.Checks) == 0 {
		return nil, fmt.Errorf("%s: no checks: add a list under checks: (see docs/check.md)", name)
	}
	out := &File{Timeout: time.Duration(f.Timeout)}
	seen := map[string]int{}
	for i, c := range f.Checks {
		var node *yaml.Node
		if i < len(items) {
			node = items[i]
		}
		at := func(key string) string {
			return fmt.Sprintf("%s:%d", name, keyLine(node, key))
		}
		s, err := c.spec(getenv, out.Timeout)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return nil, fmt.Errorf("%s: %s: %v", at(fe.Field), fe.Field, fe.Err)
			}
			return nil, fmt.Errorf("%s: %v", at(""), err)
		}
		if err := s.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return nil, fmt.Errorf("%s: %s: %v", at(fe.Field), fe.Field, fe.Err)
			}
			return nil, fmt.Errorf("%s: %v", at(""), err)
		}
		label := s.Name
		if label == "" {
			label = s.Request.URL
		}
		if j, dup := seen[label]; dup {
			return nil, fmt.Errorf("%s: checks %d and %d are both named %q: give each a name", at("name"), j+1, i+1, label)
		}
		seen[label] = i
		out.Checks = append(out.Checks, s)
	}
	return out, nil
}

// spec turns one YAML check into a Spec (not yet validated).
func (c *yamlCheck) spec(getenv func(string) string, timeout time.Duration) (Spec, error) {
	expand := func(field, v string) (string, error) {
		var missing []string
		out := os.Expand(v, func(k string) string {
			val := ""
			if getenv != nil {
				val = getenv(k)
			}
			if val == "" {
				missing = append(missing, "${"+k+"}")
			}
			return val
		})
		if len(missing) > 0 {
			return "", fieldErr(field, "%s is not set in the environment", strings.Join(missing, ", "))
		}
		return out, nil
	}
	if c.URL == "" {
		return Spec{}, fieldErr("url", "missing: every check needs a url")
	}
	u, err := expand("url", c.URL)
	if err != nil {
		return Spec{}, err
	}
	s := Spec{
		Name:        c.Name,
		Request:     transport.Request{URL: u, Method: strings.ToUpper(c.Method)},
		Mode:        c.Mode,
		Concurrency: c.Concurrency,
		Timeout:     time.Duration(c.Timeout),
		Reconnect:   transport.PolicyNever,
		HTTP:        transport.HTTPOptions{Insecure: c.Insecure},
		Assert: Assertions{
			Status: string(c.Status), ContentType: c.ContentType, Events: c.Events,
			Within: time.Duration(c.Within), FirstEvent: time.Duration(c.FirstEvent),
			Expect: c.Expect, ExpectFirst: c.ExpectFirst, TTFT: time.Duration(c.TTFT), Complete: c.Complete, Echo: c.Echo,
			Thresholds: c.Thresholds,
		},
	}
	if s.Timeout == 0 {
		s.Timeout = timeout
	}
	if c.Reconnect != "" {
		p, ok := transport.ParsePolicy(c.Reconnect)
		if !ok {
			return Spec{}, fieldErr("reconnect", "%q: want spec, always or never", c.Reconnect)
		}
		s.Reconnect = p
	}
	if c.Concurrency < 0 {
		return Spec{}, fieldErr("concurrency", "%d: want 1 or more", c.Concurrency)
	}
	if len(c.Headers) > 0 {
		s.Request.Header = http.Header{}
		names := make([]string, 0, len(c.Headers))
		for k := range c.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if k == "" || strings.ContainsAny(k, " \t:") {
				return Spec{}, fieldErr("headers", "%q is not a header name", k)
			}
			v, err := expand("headers", c.Headers[k])
			if err != nil {
				return Spec{}, err
			}
			s.Request.Header.Set(k, v)
		}
	}
	if c.Data != "" {
		d, err := expand("data", c.Data)
		if err != nil {
			return Spec{}, err
		}
		s.Request.Body = []byte(d)
	}
	var sends []*transport.SendTemplate
	for _, m := range c.Send {
		t, err := transport.ParseSendTemplate(m, func(k string) (string, bool) {
			v := ""
			if getenv != nil {
				v = getenv(k)
			}
			return v, v != ""
		})
		if err != nil {
			return Spec{}, &FieldError{Field: "send", Err: err}
		}
		sends = append(sends, t)
	}
	s.Request.Send = transport.NewSender(sends, 0)
	return s, nil
}

// yamlError rewrites the decoder's errors as file:line: message.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, 0, len(te.Errors))
		for _, e := range te.Errors {
			msgs = append(msgs, lineMsg(name, e))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s is empty: see docs/check.md for the format", name)
	}
	return errors.New(lineMsg(name, err.Error()))
}

func lineMsg(name, msg string) string {
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return name + ": " + strings.TrimPrefix(msg, "yaml: ")
	}
	text := m[2]
	if u := reUnknown.FindStringSubmatch(text); u != nil {
		keys := checkKeys
		if u[2] == "File" {
			keys = []string{"timeout", "checks"}
		}
		text = fmt.Sprintf("unknown key %q; known keys: %s", u[1], strings.Join(keys, ", "))
	}
	text = strings.NewReplacer("into []check.yamlCheck", "into a list of checks", "into check.yamlCheck", "into a check", "into int", "into a whole number", "into bool", "into true or false", "into string", "into a string").Replace(text)
	return name + ":" + m[1] + ": " + text
}

// checkNodes returns the nodes of the checks list, for their line numbers.
func checkNodes(doc *yaml.Node) []*yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "checks" && root.Content[i+1].Kind == yaml.SequenceNode {
			return root.Content[i+1].Content
		}
	}
	return nil
}

// keyLine is the line of key in a check's mapping, or of the check.
func keyLine(n *yaml.Node, key string) int {
	if n == nil {
		return 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}
