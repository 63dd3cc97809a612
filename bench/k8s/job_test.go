package k8s

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden manifests in testdata/")

var start = time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)

var plans = []struct {
	name string
	plan Plan
}{
	{"sse", Plan{
		Name: "rtbench-sse", RunID: "sse-100k", Image: "rtbench/rtbench:1.4.0", Agents: 10,
		StartAt: start, Lead: time.Minute, RunLength: 5 * time.Minute,
		Load:      []string{"-c", "100000", "--ramp", "2000/s", "-d", "5m", "http://target.default.svc:8080/sse"},
		Size:      Size{Sessions: 100_000, Ramp: 2000},
		PortRange: DefaultPortRange,
	}},
	{"ai-open", Plan{
		Name: "rtbench-ai", Namespace: "loadtest", RunID: "ai.run_7", Image: "registry.example.com/rtbench@sha256:0123", Agents: 3,
		StartAt: start, Lead: 90 * time.Second, RunLength: time.Minute,
		Load:        []string{"--rate", "500/s", "-d", "1m", "--prometheus", "0.0.0.0:9464", "--prometheus-allow-remote", "--data", `{"model":"m","stream":true}`, "https://llm.example.com/v1/chat/completions"},
		Size:        Size{Rate: 500, MaxInFlight: 1000},
		MetricsPort: 9464,
		PortRange:   DefaultPortRange,
	}},
	{"ably-one-agent", Plan{
		Name: "a", RunID: "1", Image: "rtbench/rtbench", Agents: 1,
		StartAt: start, Lead: 30 * time.Second, RunLength: 30 * time.Second,
		Load: []string{"-c", "500", "ably+https://app.key:secret@realtime.example.com/chat"},
		Size: Size{Sessions: 500, Heavy: true},
	}},
}

// decodeStrict decodes a rendered manifest into the real API type, failing
// on any field the type does not have.
func decodeStrict(t *testing.T, y []byte) *batchv1.Job {
	t.Helper()
	js, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatalf("not YAML: %v\n%s", err, y)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var j batchv1.Job
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("not a batch/v1 Job: %v\n%s", err, y)
	}
	if dec.More() {
		t.Fatalf("more than one document:\n%s", y)
	}
	return &j
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range plans {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.plan)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("manifest differs from %s (run with -update if the change is meant):\n%s", path, got)
			}
			checkJob(t, tc.plan, decodeStrict(t, got))
		})
	}
}

// checkJob holds the decoded Job to the Indexed Job rules and to what the
// plan asked for.
func checkJob(t *testing.T, p Plan, j *batchv1.Job) {
	t.Helper()
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		t.Errorf("apiVersion/kind %s/%s", j.APIVersion, j.Kind)
	}
	for _, e := range validation.IsDNS1123Label(j.Name) {
		t.Errorf("name %q: %s", j.Name, e)
	}
	if j.Namespace != p.Namespace {
		t.Errorf("namespace %q, want %q", j.Namespace, p.Namespace)
	}
	s := j.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != int32(p.Agents) || *s.Parallelism != int32(p.Agents) {
		t.Errorf("completions %v parallelism %v, want both %d", s.Completions, s.Parallelism, p.Agents)
	}
	if *s.Completions > MaxAgents {
		t.Errorf("an Indexed Job takes at most %d completions", MaxAgents)
	}
	if s.BackoffLimit == nil || *s.BackoffLimit != 0 {
		t.Errorf("backoffLimit %v, want 0: a retried agent would add load off the schedule", s.BackoffLimit)
	}
	if s.ActiveDeadlineSeconds == nil || time.Duration(*s.ActiveDeadlineSeconds)*time.Second < p.Lead+p.RunLength {
		t.Errorf("activeDeadlineSeconds %v shorter than lead + run", s.ActiveDeadlineSeconds)
	}
	if s.Selector != nil || s.ManualSelector != nil {
		t.Error("the selector is the Job controller's to set")
	}
	ps := s.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never", ps.RestartPolicy)
	}
	if ps.HostNetwork {
		t.Error("hostNetwork: net.* sysctls are refused there")
	}
	podLabels := labels.Set(s.Template.Labels)
	for k, v := range podLabels {
		for _, e := range validation.IsQualifiedName(k) {
			t.Errorf("label key %q: %s", k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			t.Errorf("label %s=%q: %s", k, v, e)
		}
	}
	if podLabels["app.kubernetes.io/instance"] != p.RunID {
		t.Errorf("pods not labelled with the run id %q: %v", p.RunID, podLabels)
	}
	if len(ps.TopologySpreadConstraints) != 1 {
		t.Fatalf("topologySpreadConstraints %v", ps.TopologySpreadConstraints)
	}
	tsc := ps.TopologySpreadConstraints[0]
	if tsc.TopologyKey != corev1.LabelHostname || tsc.MaxSkew != 1 {
		t.Errorf("spread %s skew %d, want %s skew 1", tsc.TopologyKey, tsc.MaxSkew, corev1.LabelHostname)
	}
	if tsc.LabelSelector == nil || len(tsc.LabelSelector.MatchExpressions) > 0 ||
		!labels.SelectorFromSet(tsc.LabelSelector.MatchLabels).Matches(podLabels) {
		t.Errorf("the spread's selector %v does not select the pods %v", tsc.LabelSelector, podLabels)
	}
	sysctls := ps.SecurityContext.Sysctls
	if p.PortRange == "" {
		if len(sysctls) != 0 {
			t.Errorf("sysctls %v, want none", sysctls)
		}
	} else if len(sysctls) != 1 || sysctls[0].Name != "net.ipv4.ip_local_port_range" || sysctls[0].Value != p.PortRange {
		t.Errorf("sysctls %v, want net.ipv4.ip_local_port_range=%q", sysctls, p.PortRange)
	}
	if ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Error("not runAsNonRoot")
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("containers %d", len(ps.Containers))
	}
	c := ps.Containers[0]
	if c.Image != p.Image {
		t.Errorf("image %q", c.Image)
	}
	checkArgs(t, p, c.Args)
	for _, e := range c.Env {
		if e.Name == "JOB_COMPLETION_INDEX" {
			t.Error("JOB_COMPLETION_INDEX is Kubernetes' to set")
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.Cmp(req) < 0 {
			t.Errorf("%s request %v limit %v: want a request no larger than the limit", r, req.String(), lim.String())
		}
	}
	res := p.Size.PerAgent(p.Agents)
	if got := c.Resources.Requests[corev1.ResourceMemory]; got.Value() != res.Memory {
		t.Errorf("memory request %v = %d, want %d", got.String(), got.Value(), res.Memory)
	}
	if got := c.Resources.Requests[corev1.ResourceCPU]; got.MilliValue() != res.MilliCPU {
		t.Errorf("cpu request %v, want %dm", got.String(), res.MilliCPU)
	}
	if p.MetricsPort > 0 {
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != int32(p.MetricsPort) {
			t.Errorf("ports %v, want %d", c.Ports, p.MetricsPort)
		}
		if a := s.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(int(c.Ports[0].ContainerPort)) {
			t.Errorf("scrape annotations %v", a)
		}
	}
}

func checkArgs(t *testing.T, p Plan, args []string) {
	t.Helper()
	if len(args) == 0 || args[0] != "load" {
		t.Fatalf("args %q: want load first", args)
	}
	value := func(flag string) string {
		i := slices.Index(args, flag)
		if i < 0 || i+1 >= len(args) {
			t.Errorf("args %q: no %s", args, flag)
			return ""
		}
		return args[i+1]
	}
	if v := value("--agents"); v != strconv.Itoa(p.Agents) {
		t.Errorf("--agents %q, want %d", v, p.Agents)
	}
	if v := value("--run-id"); v != p.RunID {
		t.Errorf("--run-id %q", v)
	}
	if v := value("--start-at"); v != p.StartAt.Format(time.RFC3339) {
		t.Errorf("--start-at %q, want %s", v, p.StartAt.Format(time.RFC3339))
	}
	if v := value("--out"); v != "-" {
		t.Errorf("--out %q, want - (the result in the pod's log)", v)
	}
	if slices.Contains(args, "--agent-index") {
		t.Error("--agent-index: each agent takes its index from JOB_COMPLETION_INDEX")
	}
	if !slices.Equal(args[len(args)-len(p.Load):], p.Load) {
		t.Errorf("args %q do not end with the load flags %q verbatim", args, p.Load)
	}
}

// TestStrictDecodeRefusesUnknownFields shows the strict decode would catch a
// field the API does not have (a typo in the mirror).
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	y, err := Render(plans[0].plan)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(y, []byte("completionMode:"), []byte("completionsMode:"), 1)
	js, err := yaml.YAMLToJSON(bad)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var j batchv1.Job
	if err := dec.Decode(&j); err == nil || !strings.Contains(err.Error(), "completionsMode") {
		t.Errorf("decode of a misspelt field: %v, want an unknown-field error", err)
	}
}

func TestRenderRefuses(t *testing.T) {
	ok := plans[0].plan
	for _, tc := range []struct {
		name string
		edit func(*Plan)
		want string
	}{
		{"no agents", func(p *Plan) { p.Agents = 0 }, "agents 0"},
		{"too many agents", func(p *Plan) { p.Agents = MaxAgents + 1 }, "agents 100001"},
		{"no image", func(p *Plan) { p.Image = "" }, "image"},
		{"no start", func(p *Plan) { p.StartAt = time.Time{} }, "start"},
		{"upper-case name", func(p *Plan) { p.Name = "Load" }, `"Load"`},
		{"long name", func(p *Plan) { p.Name = strings.Repeat("a", 53) }, "52"},
		{"bad namespace", func(p *Plan) { p.Namespace = "a_b" }, `"a_b"`},
		{"bad run id", func(p *Plan) { p.RunID = "run id" }, `"run id"`},
		{"bad port range", func(p *Plan) { p.PortRange = "2000 1000" }, "LOW < HIGH"},
		{"port range shape", func(p *Plan) { p.PortRange = "1024-65535" }, "one space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			if _, err := Render(p); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Render: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestPerAgent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   Size
		agents int
		want   Resources
	}{
		// 10,000 sessions each: 64 MiB + 10,000 × 32 KiB = 376.5 MiB → 384 MiB;
		// 250m + 1000m + 200/s × 200 µs = 40m.
		{"held", Size{Sessions: 100_000, Ramp: 2000}, 10, Resources{MilliCPU: 1290, MilliCPULimit: 2580, Memory: 384 << 20, MemoryLimit: 768 << 20, Sessions: 10_000}},
		// The remainder goes to the first agents: the largest share is ⌈10/3⌉;
		// 64 MiB + 4 × 32 KiB rounds up to 80 MiB.
		{"remainder", Size{Sessions: 10}, 3, Resources{MilliCPU: 251, MilliCPULimit: 1000, Memory: 80 << 20, MemoryLimit: 160 << 20, Sessions: 4}},
		// 500/s over 2 agents: 250/s × 10 s = 2,500 in flight, capped at 1,000.
		{"open", Size{Rate: 500, MaxInFlight: 1000}, 2, Resources{MilliCPU: 400, MilliCPULimit: 1000, Memory: 96 << 20, MemoryLimit: 192 << 20, Sessions: 1000}},
		// 96 KiB per Ably session: 64 MiB + 5,000 × 96 KiB = 532.75 MiB → 544 MiB.
		{"heavy", Size{Sessions: 5000, Heavy: true}, 1, Resources{MilliCPU: 750, MilliCPULimit: 1500, Memory: 544 << 20, MemoryLimit: 1088 << 20, Sessions: 5000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.size.PerAgent(tc.agents); got != tc.want {
				t.Errorf("PerAgent(%d) = %+v, want %+v", tc.agents, got, tc.want)
			}
		})
	}
}
