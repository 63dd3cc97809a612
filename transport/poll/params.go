package poll

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rtbench/rtbench/transport/bounds"
)

// paramError is a 400's message: the parameter, the accepted form, and what
// the client sent.
type paramError struct {
	name, want, got string
}

func (e *paramError) Error() string {
	return e.name + ": want " + e.want + "; got " + strconv.Quote(e.got)
}

// checkQuery rejects a parameter the route does not know and one given more
// than once. "_", the cache buster jQuery and others append, is accepted
// everywhere and ignored, and so is "fault" (repeatable), which the mock's
// fault injector reads before the request gets here.
func checkQuery(q url.Values, accepted ...string) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case k == "_", k == "fault":
		case !slices.Contains(accepted, k):
			return fmt.Errorf("unknown query parameter %q; this route accepts %s", k, strings.Join(accepted, ", "))
		case len(q[k]) > 1:
			return fmt.Errorf("%s: given %d times; send it once", k, len(q[k]))
		}
	}
	return nil
}

// durationForm describes a Go duration in [0, hi].
func durationForm(hi time.Duration, example string) string {
	return bounds.Upto("", hi, example).Want()
}

// parseDuration parses a Go duration in [0, hi], with the bounds every
// route shares.
func parseDuration(name, s string, hi time.Duration, example string) (time.Duration, error) {
	return bounds.Upto(name, hi, example).Parse(s)
}

// queryDuration reads an optional duration parameter.
func queryDuration(q url.Values, name string, hi time.Duration, example string) (time.Duration, bool, error) {
	if !q.Has(name) {
		return 0, false, nil
	}
	d, err := parseDuration(name, q.Get(name), hi, example)
	return d, err == nil, err
}

// queryInt reads an optional integer parameter in [lo, hi].
func queryInt(q url.Values, name string, lo, hi int, what string) (int, bool, error) {
	if !q.Has(name) {
		return 0, false, nil
	}
	s := q.Get(name)
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, false, &paramError{name, fmt.Sprintf("%s, an integer from %d to %d", what, lo, hi), s}
	}
	return n, true, nil
}

// querySeq reads an optional sequence number.
func querySeq(q url.Values, name string) (uint64, bool, error) {
	if !q.Has(name) {
		return 0, false, nil
	}
	s := q.Get(name)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, &paramError{name, "the seq of the last state or message you hold, a non-negative integer like 42 (0 for none)", s}
	}
	return n, true, nil
}

// queryRate reads an optional rate in [bounds.MinRate, hi].
func queryRate(q url.Values, name string, hi float64) (float64, bool, error) {
	if !q.Has(name) {
		return 0, false, nil
	}
	f, err := (bounds.Rate{Name: name, Unit: "ticks", Max: hi}).Parse(q.Get(name))
	return f, err == nil, err
}
