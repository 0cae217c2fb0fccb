// Command kefu-testreport turns `go test -json` on stdin into the usual per-package lines, the full output
// of every failed test, and a closing line "N passed, N failed, N skipped" counting tests (subtests
// included), so a CI log says how many tests ran. It exits 1 when any test or package failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type event struct {
	Action     string
	Package    string
	ImportPath string // build events (Go 1.24+) name the package here
	Test       string
	Output     string
}

func main() {
	var passed, failed, skipped int
	failedPkgs := map[string]bool{}
	outputs := map[string][]string{} // package/test → output lines, kept until the test ends
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		line := in.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			fmt.Println(string(line)) // build errors and the like are not JSON
			continue
		}
		key := e.Package + "/" + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Print(e.Output)
		case e.Action == "build-fail":
			pkg, _, _ := strings.Cut(e.ImportPath, " ") // "x [x.test]" names package x
			failedPkgs[pkg] = true
		case e.Action == "output" && e.Test != "":
			outputs[key] = append(outputs[key], e.Output)
		case e.Action == "output":
			// Package-level lines: ok, FAIL, "? [no test files]", panics, coverage.
			if !strings.HasPrefix(e.Output, "PASS") && !strings.HasPrefix(e.Output, "=== ") {
				fmt.Print(e.Output)
			}
		case e.Test != "" && e.Action == "pass":
			passed++
			delete(outputs, key)
		case e.Test != "" && e.Action == "skip":
			skipped++
			for _, o := range outputs[key] {
				if strings.Contains(o, "SKIP") || strings.Contains(o, "skip") {
					fmt.Print(o) // a skip prints its reason
				}
			}
			delete(outputs, key)
		case e.Test != "" && e.Action == "fail":
			failed++
			fmt.Print(strings.Join(outputs[key], ""))
			delete(outputs, key)
		case e.Test == "" && e.Action == "fail":
			failedPkgs[e.Package] = true
		}
	}
	if len(failedPkgs) > 0 && failed == 0 {
		fmt.Printf("%d package(s) failed to build or run\n", len(failedPkgs))
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || len(failedPkgs) > 0 {
		os.Exit(1)
	}
}
