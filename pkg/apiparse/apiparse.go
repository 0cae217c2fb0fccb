// Package apiparse reads the parts of gRPC requests every kefu service reads alike (ids and update masks)
// into Go values, with InvalidArgument errors that name the field.
package apiparse

import (
	"slices"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
)

// ID parses a required UUID field.
func ID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, apierr.InvalidField(field, "is required")
	}
	return OptionalID(field, s)
}

// OptionalID parses a UUID field that may be empty (uuid.Nil).
func OptionalID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, apierr.InvalidField(field, "must be a UUID")
	}
	return id, nil
}

// UpdatePaths returns the paths of an update mask that change something: output-only paths are ignored
// (AIP-203), an unknown one is refused, and a mask naming nothing to change is refused.
func UpdatePaths(mask, outputOnly, updatable []string) ([]string, error) {
	var paths []string
	for _, p := range mask {
		switch {
		case slices.Contains(outputOnly, p):
		case slices.Contains(updatable, p):
			paths = append(paths, p)
		default:
			return nil, apierr.InvalidField("update_mask", "unknown or read-only path "+p)
		}
	}
	if len(paths) == 0 {
		return nil, apierr.InvalidField("update_mask", "names no field to change")
	}
	return paths, nil
}
