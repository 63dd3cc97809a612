// Package specfile is the YAML reader shared by rtbench's input files (the
// checks file of `rtbench check -f` and the scenario file of bench/flow):
// strict decoding (unknown keys are errors that list the known ones), errors
// as file:line: message, the value types both use (durations, lists that
// may be one string) and ${VAR} expansion from the environment.
package specfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Read reads the file at path, refusing one larger than max bytes. what
// names the kind of file in the error ("a checks file").
func Read(path string, max int64, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes; %s is at most %d", path, st.Size(), what, max)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	return b, nil
}

// Format describes one kind of file for error messages.
type Format struct {
	// Doc is where the format is documented ("docs/check.md").
	Doc string
	// Keys lists the known keys of each YAML struct, by its Go type name
	// ("yamlCheck"), for the message about an unknown key.
	Keys map[string][]string
	// Types turns the decoder's Go type names into words ("into
	// check.yamlCheck" → "into a check"); may be nil.
	Types *strings.Replacer
}

// Decode decodes data into v, strictly (unknown keys are errors), and
// returns the document's node tree for line numbers. Errors are
// name:line: message.
func (f Format) Decode(name string, data []byte, v any) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return nil, f.yamlError(name, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, f.yamlError(name, err)
	}
	return &doc, nil
}

var (
	reLine    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	reUnknown = regexp.MustCompile(`^field (\S+) not found in type \w+\.(\w+)$`)
	basic     = strings.NewReplacer("into int", "into a whole number", "into float64", "into a number", "into bool", "into true or false", "into string", "into a string")
)

// yamlError rewrites the decoder's errors as file:line: message.
func (f Format) yamlError(name string, err error) error {
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		msgs := make([]string, 0, len(te.Errors))
		for _, e := range te.Errors {
			msgs = append(msgs, f.lineMsg(name, e))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s is empty: see %s for the format", name, f.Doc)
	}
	return errors.New(f.lineMsg(name, err.Error()))
}

func (f Format) lineMsg(name, msg string) string {
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return name + ": " + strings.TrimPrefix(msg, "yaml: ")
	}
	text := m[2]
	if u := reUnknown.FindStringSubmatch(text); u != nil {
		text = fmt.Sprintf("unknown key %q; known keys: %s", u[1], strings.Join(f.Keys[u[2]], ", "))
	}
	if f.Types != nil {
		text = f.Types.Replace(text)
	}
	text = basic.Replace(text)
	return name + ":" + m[1] + ": " + text
}

// Duration is a Go duration: 500ms, 5s, 1m30s.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %q is not a duration: write one such as 500ms, 5s or 1m30s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Scalar is a string that may be written as a number (status: 200).
type Scalar string

func (s *Scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a value such as 200 or 2xx", n.Line)
	}
	*s = Scalar(n.Value)
	return nil
}

// Strings is a list of strings, or one string.
type Strings []string

func (s *Strings) UnmarshalYAML(n *yaml.Node) error {
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

// Expand replaces ${VAR} and $VAR in v by getenv(VAR). keep, when not nil,
// may claim a variable for a later expansion: it returns what to write in
// its place. missing lists the ${VAR}s that are neither kept nor set.
func Expand(v string, getenv func(string) string, keep func(string) (string, bool)) (out string, missing []string) {
	out = os.Expand(v, func(k string) string {
		if keep != nil {
			if s, ok := keep(k); ok {
				return s
			}
		}
		val := ""
		if getenv != nil {
			val = getenv(k)
		}
		if val == "" {
			missing = append(missing, "${"+k+"}")
		}
		return val
	})
	return out, missing
}

// MappingValue returns the value node of key in the mapping n, or nil.
func MappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Root is the top-level node of a decoded document, or nil.
func Root(doc *yaml.Node) *yaml.Node {
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// KeyLine is the line of key in the mapping n, or of n itself.
func KeyLine(n *yaml.Node, key string) int {
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

// HasTopKey says whether data is a YAML mapping with one of keys at its top
// level: how a command tells a scenario from a checks file. Unparsable data
// says false.
func HasTopKey(data []byte, keys ...string) bool {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return false
	}
	for _, k := range keys {
		if MappingValue(Root(&doc), k) != nil {
			return true
		}
	}
	return false
}
