//go:build slimdaprd

// Package components is swapped in, with `go build -overlay`, for the file in
// github.com/dapr/dapr/cmd/daprd/components that panics when daprd is built
// without a component build tag. It registers only the components this
// project uses, so the slim daprd compiles none of the cloud SDKs.
package components

import (
	pubsubredis "github.com/dapr/components-contrib/pubsub/redis"
	stateredis "github.com/dapr/components-contrib/state/redis"
	pubsubloader "github.com/dapr/dapr/pkg/components/pubsub"
	stateloader "github.com/dapr/dapr/pkg/components/state"
)

func init() {
	stateloader.DefaultRegistry.RegisterComponent(stateredis.NewRedisStateStore, "redis")
	pubsubloader.DefaultRegistry.RegisterComponent(pubsubredis.NewRedisStreams, "redis")
}
