// Command slatimer runs the slatimer service alone (docker compose, Kubernetes).
package main

import (
	"kefu.dev/pkg/service"
	"kefu.dev/services/slatimer"
)

func main() { service.Placeholder("slatimer", slatimer.DefaultConfig().GRPCAddr) }
