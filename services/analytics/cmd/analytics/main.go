// Command analytics runs the analytics service alone (docker compose, Kubernetes).
package main

import (
	"kefu.dev/pkg/service"
	"kefu.dev/services/analytics"
)

func main() { service.Placeholder("analytics", analytics.DefaultConfig().GRPCAddr) }
