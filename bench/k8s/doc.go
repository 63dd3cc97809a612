// Package k8s plans a distributed rtbench load on Kubernetes: it sizes one
// agent from the load of the whole run (Size.PerAgent) and renders the
// batch/v1 Job that runs the agents (Render). It measures nothing and talks
// to no cluster; `rtbench k8s job` prints what it renders and kubectl
// applies it.
//
// The manifest is generated from small local structs that mirror the
// fields rtbench sets, not from k8s.io/api: those types (and apimachinery
// under them) would add megabytes of generated code to a binary that only
// writes one document. The tests decode every rendered manifest strictly
// into the k8s.io/api types (an unknown or misspelt field fails), so the
// mirror cannot drift from the real schema unnoticed.
package k8s
