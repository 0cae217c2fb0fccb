package analytics

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's target the analytics binary runs with unless GOGC is set.
// Ingestion allocates each batch's projection and rollup changes and keeps little of them, so at Go's
// default of 100 about a quarter of the service's CPU went to collecting, on the path that bounds the
// ingestion rate. At 400 the heap may grow to five times what is live between collections instead of
// twice: tens of MiB more for batches of 5,000 (docs/benchmarks.md gives the figures).
const GCPercent = 400

// TuneGC sets GCPercent for the process unless the GOGC environment variable chooses otherwise. The
// binaries that run the service call it first; a process hosting other services too (the dev stack)
// keeps Go's default.
func TuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(GCPercent)
	}
}
