package check

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtbench/rtbench/bench/specfile"
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
	b, err := specfile.Read(path, MaxFileBytes, "a checks file")
	if err != nil {
		return nil, err
	}
	return ParseFile(path, b, getenv)
}

// The YAML shapes. Unknown keys are errors (KnownFields).
type yamlFile struct {
	Timeout specfile.Duration `yaml:"timeout"`
	Checks  []yamlCheck       `yaml:"checks"`
}

type yamlCheck struct {
	Name        string            `yaml:"name"`
	URL         string            `yaml:"url"`
	Mode        string            `yaml:"mode"`
	Method      string            `yaml:"method"`
	Headers     map[string]string `yaml:"headers"`
	Data        string            `yaml:"data"`
	Send        specfile.Strings  `yaml:"send"`
	Concurrency int               `yaml:"concurrency"`
	Timeout     specfile.Duration `yaml:"timeout"`
	Reconnect   string            `yaml:"reconnect"`
	Insecure    bool              `yaml:"insecure"`

	Status      specfile.Scalar   `yaml:"status"`
	ContentType string            `yaml:"content_type"`
	Events      int               `yaml:"events"`
	Within      specfile.Duration `yaml:"within"`
	FirstEvent  specfile.Duration `yaml:"first_event"`
	Expect      specfile.Strings  `yaml:"expect"`
	ExpectFirst string            `yaml:"expect_first"`
	TTFT        specfile.Duration `yaml:"ttft"`
	Complete    *bool             `yaml:"complete"`
	Echo        bool              `yaml:"echo"`
	Thresholds  specfile.Strings  `yaml:"thresholds"`
}

// checkKeys are yamlCheck's keys, for error messages.
var checkKeys = []string{"name", "url", "mode", "method", "headers", "data", "send", "concurrency", "timeout", "reconnect", "insecure",
	"status", "content_type", "events", "within", "first_event", "expect", "expect_first", "ttft", "complete", "echo", "thresholds"}

// format is the checks file for specfile's messages.
var format = specfile.Format{
	Doc:   "docs/check.md",
	Keys:  map[string][]string{"yamlCheck": checkKeys, "yamlFile": {"timeout", "checks"}},
	Types: strings.NewReplacer("into []check.yamlCheck", "into a list of checks", "into check.yamlCheck", "into a check"),
}

// ParseFile parses a checks file's content; name is the file's name in
// errors.
func ParseFile(name string, data []byte, getenv func(string) string) (*File, error) {
	var f yamlFile
	doc, err := format.Decode(name, data, &f)
	if err != nil {
		return nil, err
	}
	// Line numbers for the checks and their keys.
	items := checkNodes(doc)
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
			return fmt.Sprintf("%s:%d", name, specfile.KeyLine(node, key))
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
		out, missing := specfile.Expand(v, getenv, nil)
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

// checkNodes returns the nodes of the checks list, for their line numbers.
func checkNodes(doc *yaml.Node) []*yaml.Node {
	if n := specfile.MappingValue(specfile.Root(doc), "checks"); n != nil && n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return nil
}
