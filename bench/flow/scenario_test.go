package flow

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	env := func(k string) string { return map[string]string{"TOKEN": "t0k"}[k] }
	tests := []struct {
		name, yml, want string
	}{
		{"empty", ``, "s.yaml is empty: see docs/scenarios.md"},
		{"no steps", "scenario: x\n", "s.yaml:1: no steps"},
		{"unknown key", "steps:\n  - name: a\n    reqest: {url: /x}\n", `s.yaml:3: unknown key "reqest"; known keys: name, request`},
		{"unknown request key", "steps:\n  - request: {url: /x, bdy: 1}\n", `s.yaml:2: unknown key "bdy"; known keys: method, url`},
		{"no action", "steps:\n  - name: a\n", "s.yaml:2: step a: says nothing to do"},
		{"two actions", "steps:\n  - name: a\n    sleep: 1s\n    think: 2s\n", "s.yaml:2: step a: gives both sleep and think"},
		{"dup name", "steps:\n  - {name: a, sleep: 1s}\n  - {name: a, sleep: 1s}\n", `s.yaml:3: step a: the name "a" is taken`},
		{"flow name", "steps:\n  - {name: flow, sleep: 1s}\n", "step flow: the name flow is the whole pass's metric"},
		{"no url", "steps:\n  - name: login\n    request:\n      method: POST\n", "s.yaml:3: step login: url: missing"},
		{"relative without base", "steps:\n  - name: login\n    request: {url: /login}\n", `step login: url: "/login" is relative`},
		{"unset var", "base: http://h:1\nsteps:\n  - name: a\n    request:\n      url: /x?t=${NOPE}\n", "s.yaml:4: step a: ${NOPE} is not captured by an earlier step"},
		{"used before captured", "base: http://h:1\nsteps:\n  - name: a\n    request: {url: '/x?t=${tok}'}\n  - name: b\n    request: {url: /y}\n    capture: {tok: token}\n", "step a: ${tok} is not captured"},
		{"own capture", "base: http://h:1\nsteps:\n  - name: a\n    request: {url: '/x?t=${tok}'}\n    capture: {tok: token}\n", "step a: ${tok} is not captured"},
		{"bad capture path", "base: http://h:1\nsteps:\n  - name: a\n    request: {url: /x}\n    capture: {tok: 'a..b'}\n", "s.yaml:5: step a: tok: bad expression"},
		{"bad capture name", "base: http://h:1\nsteps:\n  - name: a\n    request: {url: /x}\n    capture: {'t-k': a}\n", `step a: "t-k" is not a variable name`},
		{"poll without until", "base: http://h:1\nsteps:\n  - name: w\n    poll: {url: /j}\n", "s.yaml:4: step w: until: missing"},
		{"bad until", "base: http://h:1\nsteps:\n  - name: w\n    poll: {url: /j, until: 'status=done'}\n", `step w: bad until "status=done": at 6`},
		{"poll interval 0", "base: http://h:1\nsteps:\n  - name: w\n    poll: {url: /j, until: a, interval: 0s}\n", "step w: interval: 0 polls as fast"},
		{"subscribe forever", "base: http://h:1\nsteps:\n  - name: s\n    subscribe: {url: /sse}\n", "step s: never ends"},
		{"subscribe poll", "base: http://h:1\nsteps:\n  - name: s\n    subscribe: {url: /p, mode: poll, count: 1}\n", "step s: mode: poll: use a poll step"},
		{"bad mode", "base: http://h:1\nsteps:\n  - name: s\n    subscribe: {url: /p, mode: smoke, count: 1}\n", `step s: mode: "smoke": want`},
		{"bad think", "steps:\n  - name: t\n    think: 3s-1s\n", `s.yaml:3: step t: "3s-1s": want a duration`},
		{"bad sleep", "steps:\n  - name: t\n    sleep: soon\n", `s.yaml:3: "soon" is not a duration`},
		{"repeat nothing", "steps:\n  - name: r\n    repeat: 3\n", "step r: repeats nothing"},
		{"repeat zero", "steps:\n  - name: r\n    repeat: 0\n    steps: [{sleep: 1s}]\n", "step r: 0: want 1 to"},
		{"nested error", "steps:\n  - name: r\n    repeat: 2\n    steps:\n      - name: in\n        think: nope\n", "s.yaml:6: step in: \"nope\""},
		{"nested unnamed", "steps:\n  - name: r\n    repeat: 2\n    steps:\n      - {sleep: 1s}\n      - {}\n", "s.yaml:6: step 2 in r: says nothing to do"},
		{"steps on request", "base: http://h:1\nsteps:\n  - name: a\n    request: {url: /x}\n    steps: [{sleep: 1s}]\n", "step a: steps: belongs to a repeat step"},
		{"capture on sleep", "steps:\n  - name: a\n    sleep: 1s\n    capture: {x: y}\n", "step a: capture: takes values from an answer"},
		{"bad status", "base: http://h:1\nsteps:\n  - name: a\n    request: {url: /x, status: 7xx}\n", "step a: status:"},
		{"bad base", "base: /relative\nsteps:\n  - {sleep: 1s}\n", `s.yaml:1: base: "/relative": want an absolute URL`},
		{"unset var in vars", "vars: {a: '${NOPE}'}\nsteps:\n  - {sleep: 1s}\n", "s.yaml:1: vars: a: ${NOPE} is not set"},
		{"not a list", "steps: 3\n", "s.yaml:1: cannot unmarshal"},
		{"for past timeout", "base: http://h:1\nsteps:\n  - name: s\n    subscribe: {url: /sse, for: 40s}\n", "step s: for: 40s is not shorter than the step's timeout 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tt.yml), env, "")
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q\nwant one line containing %q", err, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	env := func(k string) string { return map[string]string{"PASSWORD": "pw", "HOST": "h:1"}[k] }
	yml := `
scenario: chat
base: http://${HOST}
vars: {room: lobby}
timeout: 5s
steps:
  - name: login
    request:
      method: post
      url: /login
      body: '{"password":"${PASSWORD}"}'
    capture: {token: data.token, loc: 'header: Location'}
  - repeat: 2
    steps:
      - name: chat
        subscribe:
          url: ws://h:1/ws?room=${room}&t=${token}
          send: ['{"text":"hi ${session}"}']
          until: text=="hi ${session}"
      - think: 1s-2s
      - sleep: 10ms
`
	sc, err := Parse("s.yaml", []byte(yml), env, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sc.StepNames(), ","); got != "login,repeat,chat,think,sleep" {
		t.Errorf("names %s", got)
	}
	if sc.Base != "http://h:1" || sc.Name != "chat" {
		t.Errorf("base %q name %q", sc.Base, sc.Name)
	}
	login := sc.Steps[0]
	vals := append([]string(nil), sc.init...)
	if login.Method != "POST" || login.Body.render(vals) != `{"password":"pw"}` || login.Timeout.String() != "5s" {
		t.Errorf("login %+v", login)
	}
	if len(login.capture) != 2 || login.capture[0].header != "Location" || login.capture[1].path.String() != "data.token" {
		t.Errorf("captures %+v", login.capture)
	}
	chat := sc.Steps[1].Steps[0]
	if chat.proto == nil || chat.proto.Name != "ws" || chat.untilT == nil {
		t.Fatalf("chat %+v", chat)
	}
	vals[0] = "3"
	vals[login.capture[1].slot] = "T"
	if u := chat.URL.render(vals); u != "ws://h:1/ws?room=lobby&t=T" {
		t.Errorf("url %s", u)
	}
	if u := chat.untilT.render(vals); u != `text=="hi 3"` {
		t.Errorf("until %s", u)
	}
	if th := sc.Steps[1].Steps[1]; th.Kind != KindThink || th.Min.String() != "1s" || th.Max.String() != "2s" {
		t.Errorf("think %+v", th)
	}
}

func TestIsScenario(t *testing.T) {
	for in, want := range map[string]bool{
		"steps:\n  - sleep: 1s\n": true,
		"scenario: x\n":           true,
		"checks:\n  - url: x\n":   false,
		"":                        false,
		"[1, 2]":                  false,
		"{{{":                     false,
	} {
		if got := IsScenario([]byte(in)); got != want {
			t.Errorf("IsScenario(%q) = %v", in, got)
		}
	}
}

func TestJob(t *testing.T) {
	sc, err := Job(JobOptions{Create: "post:/api/jobs", Base: "http://127.0.0.1:1", Interval: 2e9})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sc.StepNames(), ","); got != "create,wait" {
		t.Fatalf("steps %s", got)
	}
	c, w := sc.Steps[0], sc.Steps[1]
	if c.Method != "POST" || c.capture[0].header != "Location" || w.Interval != 2e9 || !w.until.Match([]byte(`{"status":"completed"}`)) || w.until.Match([]byte(`{"status":"running"}`)) || w.doneAt.String() != "updated_at" {
		t.Errorf("create %+v wait %+v", c, w)
	}
	lp, err := Job(JobOptions{Create: "POST:/api/jobs", Base: "http://127.0.0.1:1", LongPoll: 30e9})
	if err != nil {
		t.Fatal(err)
	}
	vals := append([]string(nil), lp.init...)
	vals[lp.Steps[0].capture[0].slot] = "/api/jobs/j1"
	if w := lp.Steps[1]; !w.LongPoll || w.Interval != 0 || w.URL.render(vals) != "/api/jobs/j1?wait=30s" {
		t.Errorf("long poll %+v", w)
	}
	for _, tt := range []struct {
		name     string
		o        JobOptions
		kind     Kind
		url      string
		etag     bool
		interval time.Duration
	}{
		{"etag", JobOptions{Interval: 1e9, ETag: true}, KindPoll, "/api/jobs/j1", true, 1e9},
		{"events", JobOptions{Events: "/events", ETag: true}, KindSubscribe, "/api/jobs/j1/events", false, 0},
		{"headers", JobOptions{Interval: 1e9, Header: http.Header{"Authorization": {"Bearer t"}}}, KindPoll, "/api/jobs/j1", false, 1e9},
	} {
		tt.o.Create, tt.o.Base = "POST:/api/jobs", "http://127.0.0.1:1"
		sc, err := Job(tt.o)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		vals := append([]string(nil), sc.init...)
		vals[sc.Steps[0].capture[0].slot] = "/api/jobs/j1"
		w := sc.Steps[1]
		if w.Kind != tt.kind || w.URL.render(vals) != tt.url || w.ETag != tt.etag || w.Interval != tt.interval || w.doneAt == nil || w.startAt == nil {
			t.Errorf("%s: wait %+v", tt.name, w)
		}
		for _, st := range sc.Steps {
			var got []string
			for _, h := range st.Header {
				got = append(got, h.name+": "+h.val.render(vals))
			}
			if want := tt.o.Header.Get("Authorization"); want != "" && strings.Join(got, ",") != "Authorization: "+want {
				t.Errorf("%s: step %s headers %v, want the job's on every request", tt.name, st.Name, got)
			}
		}
	}
	for _, bad := range []JobOptions{{Create: "/api/jobs", Base: "http://h:1", Interval: 1e9}, {Create: "POST:/x", Interval: 1e9}, {Create: "POST:/x", Base: "http://h:1"}, {Create: "POST:/x", Base: "http://h:1", Interval: 1e9, ID: "id", Poll: "/x/"}} {
		if _, err := Job(bad); err == nil {
			t.Errorf("Job(%+v): no error", bad)
		}
	}
}
