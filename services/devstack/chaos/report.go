package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// Table renders results as the Markdown table docs/resilience.md records.
func Table(results []Result) string {
	var b strings.Builder
	b.WriteString("| scenario | requests | errors by code | unacknowledged | recovery | acknowledged | lost | duplicated | out of order | took |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		rec := "never"
		if r.FaultErr != "" {
			rec = "fault failed"
		} else if r.Recovery >= 0 {
			rec = r.Recovery.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %s | %d | %d | %d | %d | %s |\n", r.Scenario, r.Requests, ErrorText(r.Errors),
			r.Unacked, rec, r.Acked, r.Lost, r.Duplicated, r.OutOfOrder, r.Duration.Round(time.Second))
	}
	return b.String()
}

// ErrorText lists error counts by code, "none" when there are none.
func ErrorText(errs map[codes.Code]int) string {
	if len(errs) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s %d", c, errs[c]))
	}
	return strings.Join(parts, ", ")
}

// Failed lists the results that break the suite's promise: anything lost, duplicated, out of order or
// never acknowledged.
func Failed(results []Result) []string {
	var bad []string
	for _, r := range results {
		if r.Lost > 0 || r.Duplicated > 0 || r.OutOfOrder > 0 || r.Unacked > 0 || r.Acked == 0 || r.Recovery < 0 || r.FaultErr != "" {
			bad = append(bad, fmt.Sprintf("%s: acknowledged %d, lost %d %v, duplicated %d, out of order %d, unacknowledged %d, recovered %t, fault error %q",
				r.Scenario, r.Acked, r.Lost, r.Missing, r.Duplicated, r.OutOfOrder, r.Unacked, r.Recovery >= 0, r.FaultErr))
		}
	}
	return bad
}
