// Command routing runs the routing service alone (docker compose, Kubernetes).
package main

import (
	"kefu.dev/pkg/service"
	"kefu.dev/services/routing"
)

func main() { service.Placeholder("routing", routing.DefaultConfig().GRPCAddr) }
