package bench

// Thresholds are the thresholds of one run, parsed once (ParseThresholds)
// and checked together (Check): `rtbench load`, `rtbench report` and
// `rtbench check` share both.
type Thresholds []*Threshold

// ParseThresholds parses each of list (see Threshold for the grammar); the
// first that does not parse is the error, a *ThresholdError.
func ParseThresholds(list []string) (Thresholds, error) {
	out := make(Thresholds, 0, len(list))
	for _, s := range list {
		t, err := ParseThreshold(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ThresholdResult is one threshold's outcome as a result document holds it
// (the `thresholds` field of rtbench.result/v1).
type ThresholdResult struct {
	Threshold string `json:"threshold"` // canonical form
	Value     string `json:"value"`     // as measured, with its unit
	Pass      bool   `json:"pass"`
	Missing   bool   `json:"missing"` // nothing was recorded for its metric
}

// ThresholdResults converts outcomes for a result document; none is nil.
func ThresholdResults(outcomes []Outcome) []ThresholdResult {
	if len(outcomes) == 0 {
		return nil
	}
	out := make([]ThresholdResult, len(outcomes))
	for i, o := range outcomes {
		out[i] = ThresholdResult(o)
	}
	return out
}
