package flow

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtbench/rtbench/bench/specfile"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/client"
	"github.com/rtbench/rtbench/transport/match"
)

// Defaults and limits of a scenario.
const (
	// MaxFileBytes bounds a scenario file.
	MaxFileBytes = 1 << 20
	// DefaultTimeout bounds a request, poll or subscribe step that gives no
	// timeout (and a scenario that gives no default).
	DefaultTimeout = 30 * time.Second
	// DefaultInterval is a poll step's interval when it gives none.
	DefaultInterval = time.Second
	// MaxSteps bounds the steps of a scenario, nested ones included.
	MaxSteps = 1000
	// MaxRepeat bounds a repeat step's count.
	MaxRepeat = 1_000_000
	// MaxBody bounds the response body a request or poll step reads (for
	// captures and conditions); the rest is read and counted, not kept.
	MaxBody = 1 << 20
	// FailedPause is how long a closed-model session waits after a failed
	// pass before its next one, so a failing target is not hammered.
	FailedPause = time.Second
)

// Keys recognise a scenario file: a top-level steps: or scenario: key (a
// checks file has checks:).
var Keys = []string{"steps", "scenario"}

// IsScenario says whether data is a scenario rather than a checks file.
func IsScenario(data []byte) bool { return specfile.HasTopKey(data, Keys...) }

// Kind is what a step does.
type Kind uint8

const (
	KindRequest Kind = iota
	KindPoll
	KindSubscribe
	KindSleep
	KindThink
	KindRepeat
)

var kindNames = [...]string{"request", "poll", "subscribe", "sleep", "think", "repeat"}

func (k Kind) String() string { return kindNames[k] }

// Scenario is a parsed, validated scenario.
type Scenario struct {
	Name string
	// Base resolves the steps' relative URLs (/api/jobs).
	Base  string
	Steps []*Step
	// names are every step's name, nested ones included, by index.
	names []string
	// vars are the variables' names by slot; init their first values
	// (vars:, the built-in session), the rest empty until captured.
	vars []string
	init []string
}

// StepNames are the names of every step, nested ones included, in the
// order of their indexes (bench.Engine.Steps).
func (s *Scenario) StepNames() []string { return s.names }

// Step is one step.
type Step struct {
	Name  string
	Kind  Kind
	Line  int
	index int

	// request, poll, subscribe
	Method  string
	URL     tmpl
	Header  []header
	Body    tmpl
	status  specfile.Statuses
	Timeout time.Duration
	capture []capture

	// poll
	Interval time.Duration // 0 with LongPoll: again as soon as answered
	LongPoll bool
	ETag     bool
	until    *match.Expr
	untilT   *tmpl // an until with variables, parsed per pass
	doneAt   *match.Path
	startAt  *match.Path

	// subscribe
	Mode  string
	proto *transport.Protocol
	send  []tmpl
	Count int
	For   time.Duration

	// sleep, think
	Min, Max time.Duration

	// repeat
	Times int
	Steps []*Step
}

type header struct {
	name string
	val  tmpl
}

// capture takes a value from the answer into a variable.
type capture struct {
	slot   int
	name   string
	header string      // a response header; "" for a JSON path
	path   *match.Path // JSON
}

// The YAML shapes. Unknown keys are errors.
type yamlScenario struct {
	Scenario string            `yaml:"scenario"`
	Base     string            `yaml:"base"`
	Timeout  specfile.Duration `yaml:"timeout"`
	Vars     map[string]string `yaml:"vars"`
	Steps    []yamlStep        `yaml:"steps"`
}

type yamlStep struct {
	Name      string             `yaml:"name"`
	Request   *yamlHTTP          `yaml:"request"`
	Poll      *yamlPoll          `yaml:"poll"`
	Subscribe *yamlSubscribe     `yaml:"subscribe"`
	Sleep     *specfile.Duration `yaml:"sleep"`
	Think     *string            `yaml:"think"`
	Repeat    *int               `yaml:"repeat"`
	Steps     []yamlStep         `yaml:"steps"`
	Capture   map[string]string  `yaml:"capture"`
}

type yamlHTTP struct {
	Method  string            `yaml:"method"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	Status  specfile.Scalar   `yaml:"status"`
	Timeout specfile.Duration `yaml:"timeout"`
}

type yamlPoll struct {
	yamlHTTP  `yaml:",inline"`
	Interval  *specfile.Duration `yaml:"interval"`
	LongPoll  bool               `yaml:"long_poll"`
	ETag      bool               `yaml:"etag"`
	Until     string             `yaml:"until"`
	DoneAt    string             `yaml:"done_at"`
	StartedAt string             `yaml:"started_at"`
}

type yamlSubscribe struct {
	yamlHTTP  `yaml:",inline"`
	Mode      string            `yaml:"mode"`
	Send      specfile.Strings  `yaml:"send"`
	Until     string            `yaml:"until"`
	Count     int               `yaml:"count"`
	For       specfile.Duration `yaml:"for"`
	DoneAt    string            `yaml:"done_at"`
	StartedAt string            `yaml:"started_at"`
}

var httpKeys = []string{"method", "url", "headers", "body", "status", "timeout"}

var format = specfile.Format{
	Doc: "docs/scenarios.md",
	Keys: map[string][]string{
		"yamlScenario":  {"scenario", "base", "timeout", "vars", "steps"},
		"yamlStep":      {"name", "request", "poll", "subscribe", "sleep", "think", "repeat", "steps", "capture"},
		"yamlHTTP":      httpKeys,
		"yamlPoll":      append(slices.Clone(httpKeys), "interval", "long_poll", "etag", "until", "done_at", "started_at"),
		"yamlSubscribe": append(slices.Clone(httpKeys), "mode", "send", "until", "count", "for", "done_at", "started_at"),
	},
	Types: strings.NewReplacer("into []flow.yamlStep", "into a list of steps", "into flow.yamlStep", "into a step",
		"into flow.yamlHTTP", "into a request", "into flow.yamlPoll", "into a poll", "into flow.yamlSubscribe", "into a subscribe",
		"into map[string]string", "into a map of names to strings", "into flow.yamlScenario", "into a scenario"),
}

// Load reads and validates the scenario file at path (see Parse).
func Load(path string, getenv func(string) string) (*Scenario, error) {
	b, err := specfile.Read(path, MaxFileBytes, "a scenario file")
	if err != nil {
		return nil, err
	}
	return Parse(path, b, getenv, "")
}

// Parse reads a scenario; name is the file's name in errors. ${NAME} in
// URLs, headers, bodies, send messages and until conditions is a variable
// of the session when vars: declares it, a step before captures it, or it
// is the built-in session; otherwise it is replaced now by getenv(NAME),
// and an unset one is an error. base, when the file gives no base:,
// resolves relative URLs (the command's URL argument). Errors are
// file:line: step NAME: message.
func Parse(name string, data []byte, getenv func(string) string, base string) (*Scenario, error) {
	var y yamlScenario
	doc, err := format.Decode(name, data, &y)
	if err != nil {
		return nil, err
	}
	root := specfile.Root(doc)
	if len(y.Steps) == 0 {
		return nil, fmt.Errorf("%s:%d: no steps: list them under steps: (see docs/scenarios.md)", name, specfile.KeyLine(root, "steps"))
	}
	c := &compiler{file: name, getenv: getenv, slots: map[string]int{}, timeout: time.Duration(y.Timeout), names: map[string]bool{}}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	sc := &Scenario{Name: y.Scenario, Base: y.Base}
	c.sc = sc
	c.declare("session", "")
	for _, k := range slices.Sorted(mapKeys(y.Vars)) {
		if !isName(k) {
			return nil, fmt.Errorf("%s:%d: vars: %q is not a variable name: use letters, digits and _", name, specfile.KeyLine(specfile.MappingValue(root, "vars"), k), k)
		}
		v, missing := specfile.Expand(y.Vars[k], getenv, nil)
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s:%d: vars: %s: %s is not set in the environment", name, specfile.KeyLine(specfile.MappingValue(root, "vars"), k), k, strings.Join(missing, ", "))
		}
		c.declare(k, v)
	}
	if sc.Base == "" {
		sc.Base = base
	} else {
		b, missing := specfile.Expand(sc.Base, getenv, nil)
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s:%d: base: %s is not set in the environment", name, specfile.KeyLine(root, "base"), strings.Join(missing, ", "))
		}
		sc.Base = b
	}
	if sc.Base != "" {
		if u, err := url.Parse(sc.Base); err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("%s:%d: base: %q: want an absolute URL such as http://127.0.0.1:8080", name, specfile.KeyLine(root, "base"), transport.RedactURL(sc.Base))
		}
	}
	var nodes []*yaml.Node
	if n := specfile.MappingValue(root, "steps"); n != nil {
		nodes = n.Content
	}
	if sc.Steps, err = c.steps(y.Steps, nodes, ""); err != nil {
		return nil, err
	}
	return sc, nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type compiler struct {
	file    string
	getenv  func(string) string
	sc      *Scenario
	slots   map[string]int
	timeout time.Duration
	names   map[string]bool
	count   int
}

func (c *compiler) declare(name, init string) int {
	if s, ok := c.slots[name]; ok {
		return s
	}
	s := len(c.sc.vars)
	c.slots[name] = s
	c.sc.vars = append(c.sc.vars, name)
	c.sc.init = append(c.sc.init, init)
	return s
}

// stepError is an error in one step, at a line.
type stepError struct {
	file string
	line int
	step string
	msg  string
}

func (e *stepError) Error() string {
	return fmt.Sprintf("%s:%d: step %s: %s", e.file, e.line, e.step, e.msg)
}

func (c *compiler) steps(ys []yamlStep, nodes []*yaml.Node, where string) ([]*Step, error) {
	out := make([]*Step, 0, len(ys))
	for i := range ys {
		var node *yaml.Node
		if i < len(nodes) {
			node = nodes[i]
		}
		st, err := c.step(&ys[i], node, where, i)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (c *compiler) step(y *yamlStep, node *yaml.Node, where string, i int) (*Step, error) {
	c.count++
	if c.count > MaxSteps {
		return nil, fmt.Errorf("%s: more than %d steps", c.file, MaxSteps)
	}
	st := &Step{Name: y.Name, Line: specfile.KeyLine(node, "")}
	if node != nil {
		st.Line = node.Line
	}
	var kinds []Kind
	if y.Request != nil {
		kinds = append(kinds, KindRequest)
	}
	if y.Poll != nil {
		kinds = append(kinds, KindPoll)
	}
	if y.Subscribe != nil {
		kinds = append(kinds, KindSubscribe)
	}
	if y.Sleep != nil {
		kinds = append(kinds, KindSleep)
	}
	if y.Think != nil {
		kinds = append(kinds, KindThink)
	}
	if y.Repeat != nil {
		kinds = append(kinds, KindRepeat)
	}
	label := st.Name
	if label == "" {
		label = fmt.Sprintf("%d%s", i+1, where)
	}
	fail := func(key, format string, args ...any) error {
		line := st.Line
		if key != "" {
			line = specfile.KeyLine(node, key)
		}
		return &stepError{file: c.file, line: line, step: label, msg: fmt.Sprintf(format, args...)}
	}
	switch len(kinds) {
	case 0:
		return nil, fail("", "says nothing to do: give one of request, poll, subscribe, sleep, think or repeat")
	case 1:
	default:
		return nil, fail("", "gives both %s and %s: one action per step", kinds[0], kinds[1])
	}
	st.Kind = kinds[0]
	if st.Name == "" {
		st.Name = st.Kind.String()
		for n := 2; c.names[st.Name]; n++ {
			st.Name = st.Kind.String() + strconv.Itoa(n)
		}
		label = st.Name
	}
	if c.names[st.Name] {
		return nil, fail("name", "the name %q is taken by another step: give each step its own name (its metrics are reported under it)", st.Name)
	}
	if st.Name == "flow" {
		return nil, fail("name", "the name flow is the whole pass's metric: name the step otherwise")
	}
	c.names[st.Name] = true
	st.index = len(c.sc.names)
	c.sc.names = append(c.sc.names, st.Name)
	if len(y.Steps) > 0 && st.Kind != KindRepeat {
		return nil, fail("steps", "steps: belongs to a repeat step")
	}
	if len(y.Capture) > 0 && st.Kind != KindRequest && st.Kind != KindPoll && st.Kind != KindSubscribe {
		return nil, fail("capture", "capture: takes values from an answer: put it on a request, poll or subscribe step")
	}
	var err error
	switch st.Kind {
	case KindRequest:
		err = c.http(st, y.Request, node, "request", fail)
	case KindPoll:
		err = c.poll(st, y.Poll, node, fail)
	case KindSubscribe:
		err = c.subscribe(st, y.Subscribe, node, fail)
	case KindSleep:
		st.Min, st.Max = time.Duration(*y.Sleep), time.Duration(*y.Sleep)
		if st.Min <= 0 {
			err = fail("sleep", "want a positive duration such as 2s")
		}
	case KindThink:
		st.Min, st.Max, err = parseRange(*y.Think)
		if err != nil {
			err = fail("think", "%v", err)
		}
	case KindRepeat:
		st.Times = *y.Repeat
		switch {
		case st.Times < 1 || st.Times > MaxRepeat:
			err = fail("repeat", "%d: want 1 to %d times", st.Times, MaxRepeat)
		case len(y.Steps) == 0:
			err = fail("repeat", "repeats nothing: list its steps under steps:")
		default:
			st.Steps, err = c.steps(y.Steps, seqContent(specfile.MappingValue(node, "steps")), " in "+label)
		}
	}
	if err != nil {
		return nil, err
	}
	// Captures are declared after the step's own templates are compiled:
	// a step cannot use what it captures itself.
	for _, k := range slices.Sorted(mapKeys(y.Capture)) {
		if !isName(k) || k == "session" {
			return nil, fail("capture", "%q is not a variable name: use letters, digits and _ (session is built in)", k)
		}
		src := strings.TrimSpace(y.Capture[k])
		cp := capture{name: k}
		if h, ok := strings.CutPrefix(src, "header:"); ok {
			cp.header = strings.TrimSpace(h)
			if cp.header == "" || st.Kind == KindSubscribe {
				return nil, fail("capture", "%s: %q: want header:NAME on a request or poll step", k, src)
			}
		} else {
			p, perr := match.ParsePath(strings.TrimPrefix(src, "json:"))
			if perr != nil {
				return nil, fail("capture", "%s: %v", k, perr)
			}
			cp.path = p
		}
		cp.slot = c.declare(k, "")
		st.capture = append(st.capture, cp)
	}
	return st, nil
}

func seqContent(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

type failFunc func(key, format string, args ...any) error

// tmpl compiles s: ${NAME} of a known variable becomes a reference, any
// other is taken from the environment now.
func (c *compiler) tmpl(s string, key string, fail failFunc) (tmpl, error) {
	const mark = "\x00"
	out, missing := specfile.Expand(s, c.getenv, func(k string) (string, bool) {
		if slot, ok := c.slots[k]; ok {
			return mark + strconv.Itoa(slot) + mark, true
		}
		return "", false
	})
	if len(missing) > 0 {
		return tmpl{}, fail(key, "%s is not captured by an earlier step, declared in vars: or set in the environment", strings.Join(missing, ", "))
	}
	var t tmpl
	for i, part := range strings.Split(out, mark) {
		if i%2 == 1 {
			slot, _ := strconv.Atoi(part)
			t.parts = append(t.parts, tpart{slot: slot})
			t.vars = true
			continue
		}
		if part != "" {
			t.parts = append(t.parts, tpart{lit: part, slot: -1})
		}
	}
	if !t.vars && len(t.parts) == 0 {
		return t, nil
	}
	if !t.vars && len(t.parts) > 1 {
		t.parts = []tpart{{lit: out, slot: -1}}
	}
	return t, nil
}

func (c *compiler) http(st *Step, y *yamlHTTP, node *yaml.Node, key string, fail failFunc) error {
	if strings.TrimSpace(y.URL) == "" {
		return fail(key, "url: missing: every %s needs a url", key)
	}
	var err error
	if st.URL, err = c.tmpl(y.URL, key, fail); err != nil {
		return err
	}
	if !st.URL.vars {
		if _, err := c.resolve(st.URL.render(nil)); err != nil {
			return fail(key, "url: %v", err)
		}
	}
	st.Method = strings.ToUpper(strings.TrimSpace(y.Method))
	for _, k := range slices.Sorted(mapKeys(y.Headers)) {
		if k == "" || strings.ContainsAny(k, " \t:\r\n") {
			return fail(key, "headers: %q is not a header name", k)
		}
		v, err := c.tmpl(y.Headers[k], key, fail)
		if err != nil {
			return err
		}
		st.Header = append(st.Header, header{name: k, val: v})
	}
	if st.Body, err = c.tmpl(y.Body, key, fail); err != nil {
		return err
	}
	if y.Status != "" {
		if st.status, err = specfile.ParseStatuses(string(y.Status)); err != nil {
			return fail(key, "status: %v", err)
		}
	}
	st.Timeout = time.Duration(y.Timeout)
	if st.Timeout == 0 {
		st.Timeout = c.timeout
	}
	return nil
}

// resolve makes u absolute against the base.
func (c *compiler) resolve(u string) (string, error) { return resolve(c.sc.Base, u) }

func resolve(base, u string) (string, error) {
	if strings.Contains(u, "://") {
		if _, err := client.Scheme(u); err != nil {
			return "", err
		}
		return u, nil
	}
	if base == "" {
		return "", fmt.Errorf("%q is relative: give the scenario a base: URL, or the command a URL", u)
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := b.Parse(u)
	if err != nil {
		return "", fmt.Errorf("%q: %v", u, err)
	}
	return r.String(), nil
}

func (c *compiler) until(st *Step, s, key string, fail failFunc) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	t, err := c.tmpl(s, key, fail)
	if err != nil {
		return err
	}
	x, err := match.Parse(t.render(c.sc.init)) // parsed with the first values, to check its syntax now
	if err != nil {
		if se, ok := errors.AsType[*match.SyntaxError](err); ok {
			se.Flag = "until"
		}
		return fail(key, "%v", err)
	}
	if t.vars {
		st.untilT = &t
	} else {
		st.until = x
	}
	return nil
}

func (c *compiler) poll(st *Step, y *yamlPoll, node *yaml.Node, fail failFunc) error {
	if err := c.http(st, &y.yamlHTTP, node, "poll", fail); err != nil {
		return err
	}
	st.LongPoll, st.ETag = y.LongPoll, y.ETag
	switch {
	case y.Interval != nil:
		st.Interval = time.Duration(*y.Interval)
	case !y.LongPoll:
		st.Interval = DefaultInterval
	}
	if st.Interval == 0 && !y.LongPoll {
		return fail("poll", "interval: 0 polls as fast as the server answers: say long_poll: true if the server holds each request")
	}
	if strings.TrimSpace(y.Until) == "" {
		return fail("poll", "until: missing: a poll step polls until a condition holds, such as status==completed")
	}
	if err := c.until(st, y.Until, "poll", fail); err != nil {
		return err
	}
	return times(st, y.DoneAt, y.StartedAt, "poll", fail)
}

// times reads done_at and started_at.
func times(st *Step, doneAt, startedAt, key string, fail failFunc) error {
	for _, p := range []struct {
		src string
		dst **match.Path
		key string
	}{{doneAt, &st.doneAt, "done_at"}, {startedAt, &st.startAt, "started_at"}} {
		if p.src == "" {
			continue
		}
		x, err := match.ParsePath(p.src)
		if err != nil {
			return fail(key, "%s: %v", p.key, err)
		}
		*p.dst = x
	}
	if st.startAt != nil && st.doneAt == nil {
		return fail(key, "started_at needs done_at: the server's duration is done_at − started_at")
	}
	return nil
}

func (c *compiler) subscribe(st *Step, y *yamlSubscribe, node *yaml.Node, fail failFunc) error {
	if err := c.http(st, &y.yamlHTTP, node, "subscribe", fail); err != nil {
		return err
	}
	if y.Status != "" {
		return fail("subscribe", "status: a subscription's handshake is checked by its protocol; remove status")
	}
	st.Mode, st.Count, st.For = y.Mode, y.Count, time.Duration(y.For)
	if st.Mode != "" {
		if st.proto = client.Lookup(st.Mode); st.proto == nil {
			return fail("subscribe", "mode: %q: want %s", st.Mode, client.Names())
		}
	} else if u := st.URL.render(c.sc.init); strings.Contains(u, "://") {
		p, err := client.Scheme(u)
		if err != nil {
			return fail("subscribe", "url: %v", err)
		}
		st.proto = p
	}
	if st.proto == nil {
		st.proto = client.Lookup("sse")
	}
	if st.proto.Pattern == transport.Poll {
		return fail("subscribe", "mode: poll: use a poll step, which has until and interval")
	}
	if st.Count < 0 {
		return fail("subscribe", "count: %d: want 1 or more messages", st.Count)
	}
	if err := c.until(st, y.Until, "subscribe", fail); err != nil {
		return err
	}
	if st.until == nil && st.untilT == nil && st.Count == 0 && st.For == 0 && st.proto.Pattern != transport.AIStream {
		return fail("subscribe", "never ends: give until (a condition on a message), count (messages) or for (a duration)")
	}
	if st.For > 0 && st.For >= st.Timeout {
		return fail("subscribe", "for: %v is not shorter than the step's timeout %v", st.For, st.Timeout)
	}
	if err := times(st, y.DoneAt, y.StartedAt, "subscribe", fail); err != nil {
		return err
	}
	for _, m := range y.Send {
		t, err := c.tmpl(m, "subscribe", fail)
		if err != nil {
			return err
		}
		if _, err := transport.ParseSendTemplate(t.render(c.sc.init), c.lookupEnv); err != nil {
			return fail("subscribe", "send: %v", err)
		}
		st.send = append(st.send, t)
	}
	if len(st.send) > 0 && !st.proto.Sends && st.proto.Pattern != transport.SSE {
		return fail("subscribe", "send: mode %s does not send messages", st.proto.Name)
	}
	return nil
}

func (c *compiler) lookupEnv(k string) (string, bool) {
	if c.getenv == nil {
		return "", false
	}
	v := c.getenv(k)
	return v, v != ""
}

// parseRange reads a think time: 2s, or 1s-3s (uniformly random).
func parseRange(s string) (lo, hi time.Duration, err error) {
	a, b, ranged := strings.Cut(strings.TrimSpace(s), "-")
	lo, err = time.ParseDuration(strings.TrimSpace(a))
	if err == nil && ranged {
		hi, err = time.ParseDuration(strings.TrimSpace(b))
	} else {
		hi = lo
	}
	if err != nil || lo <= 0 || hi < lo {
		return 0, 0, fmt.Errorf("%q: want a duration such as 2s or a range such as 1s-3s", s)
	}
	return lo, hi, nil
}

// Target is the URL the scenario is about, for a command's header and
// checks: its base, or else the first step's URL that is absolute and has
// no variable in it; "" when there is none.
func (s *Scenario) Target() string {
	if s.Base != "" {
		return s.Base
	}
	var find func([]*Step) string
	find = func(steps []*Step) string {
		for _, st := range steps {
			if u := st.URL.render(nil); !st.URL.vars && strings.Contains(u, "://") {
				return u
			}
			if u := find(st.Steps); u != "" {
				return u
			}
		}
		return ""
	}
	return find(s.Steps)
}
