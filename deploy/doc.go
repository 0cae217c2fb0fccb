// Package deploy holds no code of its own. Its tests render the Kubernetes manifests under k8s/ with
// kustomize, decode every object strictly into the Kubernetes API types (or, for the CloudNativePG and NATS
// Helm files, into the subset of their schema that kefu uses), and check them against the services' own
// flags, deploy/postgres/init.sql and the example secrets, since no cluster is reachable to apply them to
// (issue #10).
package deploy
