// Package bench is rtbench's load engine: it holds many transport sessions at
// once on a ramp and a schedule, records what they observe into sharded
// HdrHistograms and counters, checks that the generator itself kept up, and
// produces a Result that can be saved, merged exactly with results from other
// machines, and checked against thresholds. It never prints: rendering is
// package report's job.
package bench
