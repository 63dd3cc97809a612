package specfile

import (
	"fmt"
	"strconv"
	"strings"
)

// Statuses are accepted HTTP statuses: inclusive ranges, written as codes
// and classes, comma-separated ("200", "2xx", "200,204").
type Statuses [][2]int

// ParseStatuses reads "200", "2xx" or "200,204".
func ParseStatuses(s string) (Statuses, error) {
	var out Statuses
	for part := range strings.SplitSeq(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if len(part) == 3 && part[1:] == "xx" && part[0] >= '1' && part[0] <= '5' {
			lo := int(part[0]-'0') * 100
			out = append(out, [2]int{lo, lo + 99})
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 100 || n > 599 {
			return nil, fmt.Errorf("%q: want HTTP statuses such as 200, 2xx or 200,204", s)
		}
		out = append(out, [2]int{n, n})
	}
	return out, nil
}

// Has says whether code is accepted.
func (s Statuses) Has(code int) bool {
	for _, r := range s {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

func (s Statuses) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		if r[0] == r[1] {
			parts[i] = strconv.Itoa(r[0])
		} else {
			parts[i] = strconv.Itoa(r[0]/100) + "xx"
		}
	}
	return strings.Join(parts, ",")
}
