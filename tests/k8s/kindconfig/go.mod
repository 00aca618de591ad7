// The kind configuration check of tests/k8s: kind's own types decide what a
// valid k8s/kind-config.yaml is. Pinned to the kind release the README names.
module github.com/order-outbox/order-outbox/tests/k8s/kindconfig

go 1.24

require (
	go.yaml.in/yaml/v3 v3.0.4
	sigs.k8s.io/kind v0.30.0
)

require github.com/pkg/errors v0.9.1 // indirect
