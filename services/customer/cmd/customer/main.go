// Command customer runs the customer service alone (docker compose, Kubernetes).
package main

import (
	"kefu.dev/pkg/service"
	"kefu.dev/services/customer"
)

func main() { service.Placeholder("customer", customer.DefaultConfig().GRPCAddr) }
