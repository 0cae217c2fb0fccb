package ticket

import "fmt"

// enumName returns names[v], or "invalid(<v>)" for a value outside the table, so String never panics on a
// corrupt value loaded from storage.
func enumName[T ~int8](v T, names []string) string {
	if v < 0 || int(v) >= len(names) {
		return fmt.Sprintf("invalid(%d)", v)
	}
	return names[v]
}

// parseEnum finds s in names starting at index from; from is 1 for enums whose zero value is "unspecified"
// (never stored) and 0 for enums whose zero value is meaningful (Type unclassified, Level none).
func parseEnum[T ~int8](what, s string, names []string, from int) (T, error) {
	for i := from; i < len(names); i++ {
		if names[i] == s {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q", what, s)
}
