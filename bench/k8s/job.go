package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxAgents is the most completions (and parallelism) Kubernetes accepts
// for an Indexed Job.
const MaxAgents = 100_000

// DefaultPortRange is the net.ipv4.ip_local_port_range each agent's pod
// gets: ~64,500 source ports per target address instead of the usual
// ~28,000 (32768–60999).
const DefaultPortRange = "1024 65535"

// Container is the name of the agent's container in the pod.
const Container = "agent"

// Plan is one distributed run: what Render turns into a Job.
type Plan struct {
	Name      string // the Job's name (a DNS label of at most 52 characters)
	Namespace string // "" leaves it to kubectl's current namespace
	Image     string // an image whose entrypoint is rtbench (the release's rtbench/rtbench)
	RunID     string // the run's id: a label value, and load's --run-id
	Agents    int    // completions = parallelism
	StartAt   time.Time
	// RunLength is the load's planned length; the Job's deadline is the
	// lead, it and a grace period.
	RunLength time.Duration
	Lead      time.Duration
	// Load are the load flags and URL as the user gave them; Render puts
	// the agent flags before them.
	Load []string
	Size Size
	// MetricsPort is the port of load's --prometheus, 0 when not given: the
	// pods then carry the usual prometheus.io scrape annotations.
	MetricsPort int
	// PortRange is the ip_local_port_range sysctl; "" sets none.
	PortRange string
}

// Grace is how long past its planned end a run may take (pre-flight, the
// shutdown of its sessions, writing the result) before the Job's
// activeDeadlineSeconds ends it.
const Grace = 5 * time.Minute

var (
	dnsLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	labelValue = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	portRange  = regexp.MustCompile(`^([0-9]+) ([0-9]+)$`)
)

// CheckName reports why name cannot be a Job's name: a DNS label (RFC 1123)
// of at most 52 characters, so the pods' names (the Job's, the index and a
// random suffix) stay within 63.
func CheckName(name string) error {
	if len(name) > 52 || !dnsLabel.MatchString(name) {
		return fmt.Errorf("%q: want 1 to 52 characters of a-z, 0-9 and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// CheckNamespace reports why ns cannot be a namespace's name.
func CheckNamespace(ns string) error {
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		return fmt.Errorf("%q: want 1 to 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit", ns)
	}
	return nil
}

// CheckRunID reports why id cannot be a run id: it becomes a label value.
func CheckRunID(id string) error {
	if len(id) > 63 || !labelValue.MatchString(id) {
		return fmt.Errorf("%q: want 1 to 63 characters of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit", id)
	}
	return nil
}

// CheckPortRange reports why r cannot be an ip_local_port_range value:
// "LOW HIGH" with 1 ≤ LOW < HIGH ≤ 65535 (the kernel also wants them of
// different parity for the best spread; it does not insist).
func CheckPortRange(r string) error {
	m := portRange.FindStringSubmatch(r)
	if m == nil {
		return fmt.Errorf("%q: want two port numbers separated by one space, such as %q", r, DefaultPortRange)
	}
	lo, _ := strconv.Atoi(m[1])
	hi, _ := strconv.Atoi(m[2])
	if lo < 1 || hi > 65535 || lo >= hi {
		return fmt.Errorf("%q: want 1 <= LOW < HIGH <= 65535, such as %q", r, DefaultPortRange)
	}
	return nil
}

// Labels are the pods' (and the Job's) labels: the topology spread
// constraint selects the run's pods by them.
func (p Plan) Labels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      "rtbench",
		"app.kubernetes.io/component": "load-agent",
		"app.kubernetes.io/instance":  p.RunID,
	}
}

// Args are the agent's command line after the entrypoint: load with the
// agent flags, then the user's load flags and URL as given. Each agent's
// index comes from JOB_COMPLETION_INDEX, which Kubernetes sets in the pods
// of an Indexed Job; `--out -` writes the result JSON to the pod's log
// (stdout) and the report to stderr.
func (p Plan) Args() []string {
	args := []string{"load",
		"--agents", strconv.Itoa(p.Agents),
		"--run-id", p.RunID,
		"--start-at", p.StartAt.UTC().Format(time.RFC3339),
		"--out", "-",
	}
	return append(args, p.Load...)
}

// Render returns the Job as one YAML document.
func Render(p Plan) ([]byte, error) {
	switch {
	case p.Agents < 1 || p.Agents > MaxAgents:
		return nil, fmt.Errorf("agents %d: want 1 to %d", p.Agents, MaxAgents)
	case p.Image == "":
		return nil, errors.New("no image")
	case p.StartAt.IsZero():
		return nil, errors.New("no start time")
	}
	if err := CheckName(p.Name); err != nil {
		return nil, err
	}
	if err := CheckRunID(p.RunID); err != nil {
		return nil, err
	}
	if p.Namespace != "" {
		if err := CheckNamespace(p.Namespace); err != nil {
			return nil, err
		}
	}
	if p.PortRange != "" {
		if err := CheckPortRange(p.PortRange); err != nil {
			return nil, err
		}
	}
	res := p.Size.PerAgent(p.Agents)
	labels := p.Labels()
	n := int32(p.Agents)
	zero := int32(0)
	deadline := int64((p.Lead + p.RunLength + Grace + time.Second - 1) / time.Second)
	var uid int64 = 65532 // the image's nonroot user
	no, yes := false, true

	pod := podSpec{
		RestartPolicy: "Never",
		SecurityContext: &podSecurityContext{
			RunAsNonRoot:   &yes,
			RunAsUser:      &uid,
			SeccompProfile: &seccompProfile{Type: "RuntimeDefault"},
		},
		TopologySpreadConstraints: []topologySpreadConstraint{{
			MaxSkew:           1,
			TopologyKey:       "kubernetes.io/hostname",
			WhenUnsatisfiable: "DoNotSchedule",
			LabelSelector:     &labelSelector{MatchLabels: labels},
			NodeTaintsPolicy:  "Honor",
		}},
		Containers: []container{{
			Name:  Container,
			Image: p.Image,
			Args:  p.Args(),
			Env: []envVar{
				// The Go runtime collects harder near the limit instead of
				// being killed at it: 90 % of the memory limit.
				{Name: "GOMEMLIMIT", Value: fmt.Sprintf("%dMiB", res.MemoryLimit*9/10>>20)},
			},
			Resources: resources{
				Requests: quantities{CPU: cpuQuantity(res.MilliCPU), Memory: memQuantity(res.Memory)},
				Limits:   quantities{CPU: cpuQuantity(res.MilliCPULimit), Memory: memQuantity(res.MemoryLimit)},
			},
			SecurityContext: &securityContext{
				AllowPrivilegeEscalation: &no,
				ReadOnlyRootFilesystem:   &yes,
				Capabilities:             &capabilities{Drop: []string{"ALL"}},
			},
		}},
	}
	if p.PortRange != "" {
		pod.SecurityContext.Sysctls = []sysctl{{Name: "net.ipv4.ip_local_port_range", Value: p.PortRange}}
	}
	tmplMeta := objectMeta{Labels: labels}
	if p.MetricsPort > 0 {
		pod.Containers[0].Ports = []containerPort{{Name: "metrics", ContainerPort: int32(p.MetricsPort), Protocol: "TCP"}}
		tmplMeta.Annotations = map[string]string{
			"prometheus.io/scrape": "true",
			"prometheus.io/port":   strconv.Itoa(p.MetricsPort),
			"prometheus.io/path":   "/metrics",
		}
	}
	j := job{
		APIVersion: "batch/v1",
		Kind:       "Job",
		Metadata:   objectMeta{Name: p.Name, Namespace: p.Namespace, Labels: labels},
		Spec: jobSpec{
			CompletionMode:        "Indexed",
			Completions:           &n,
			Parallelism:           &n,
			BackoffLimit:          &zero,
			ActiveDeadlineSeconds: &deadline,
			Template:              podTemplate{Metadata: tmplMeta, Spec: pod},
		},
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&j); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// The mirror of the k8s.io/api fields rtbench sets, in the order kubectl
// prints them. The tests decode the output strictly into the real types.
type (
	job struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
		Spec       jobSpec    `yaml:"spec"`
	}
	objectMeta struct {
		Name        string            `yaml:"name,omitempty"`
		Namespace   string            `yaml:"namespace,omitempty"`
		Labels      map[string]string `yaml:"labels,omitempty"`
		Annotations map[string]string `yaml:"annotations,omitempty"`
	}
	jobSpec struct {
		CompletionMode        string      `yaml:"completionMode"`
		Completions           *int32      `yaml:"completions"`
		Parallelism           *int32      `yaml:"parallelism"`
		BackoffLimit          *int32      `yaml:"backoffLimit"`
		ActiveDeadlineSeconds *int64      `yaml:"activeDeadlineSeconds,omitempty"`
		Template              podTemplate `yaml:"template"`
	}
	podTemplate struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     podSpec    `yaml:"spec"`
	}
	podSpec struct {
		RestartPolicy             string                     `yaml:"restartPolicy"`
		SecurityContext           *podSecurityContext        `yaml:"securityContext,omitempty"`
		TopologySpreadConstraints []topologySpreadConstraint `yaml:"topologySpreadConstraints,omitempty"`
		Containers                []container                `yaml:"containers"`
	}
	podSecurityContext struct {
		RunAsNonRoot   *bool           `yaml:"runAsNonRoot,omitempty"`
		RunAsUser      *int64          `yaml:"runAsUser,omitempty"`
		SeccompProfile *seccompProfile `yaml:"seccompProfile,omitempty"`
		Sysctls        []sysctl        `yaml:"sysctls,omitempty"`
	}
	seccompProfile struct {
		Type string `yaml:"type"`
	}
	sysctl struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	}
	topologySpreadConstraint struct {
		MaxSkew           int32          `yaml:"maxSkew"`
		TopologyKey       string         `yaml:"topologyKey"`
		WhenUnsatisfiable string         `yaml:"whenUnsatisfiable"`
		LabelSelector     *labelSelector `yaml:"labelSelector,omitempty"`
		NodeTaintsPolicy  string         `yaml:"nodeTaintsPolicy,omitempty"`
	}
	labelSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels,omitempty"`
	}
	container struct {
		Name            string           `yaml:"name"`
		Image           string           `yaml:"image"`
		Args            []string         `yaml:"args"`
		Env             []envVar         `yaml:"env,omitempty"`
		Ports           []containerPort  `yaml:"ports,omitempty"`
		Resources       resources        `yaml:"resources"`
		SecurityContext *securityContext `yaml:"securityContext,omitempty"`
	}
	envVar struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	}
	containerPort struct {
		Name          string `yaml:"name"`
		ContainerPort int32  `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	}
	resources struct {
		Requests quantities `yaml:"requests"`
		Limits   quantities `yaml:"limits"`
	}
	quantities struct {
		CPU    string `yaml:"cpu"`
		Memory string `yaml:"memory"`
	}
	securityContext struct {
		AllowPrivilegeEscalation *bool         `yaml:"allowPrivilegeEscalation,omitempty"`
		ReadOnlyRootFilesystem   *bool         `yaml:"readOnlyRootFilesystem,omitempty"`
		Capabilities             *capabilities `yaml:"capabilities,omitempty"`
	}
	capabilities struct {
		Drop []string `yaml:"drop,omitempty"`
	}
)
