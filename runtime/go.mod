// Builds the pinned Dapr runtime (daprd, placement, scheduler) from the Go
// module registry. Only this file, go.sum and our own registration file are
// committed; Dapr's source stays in the module cache. See runtime/build.sh.
module github.com/order-outbox/order-outbox/runtime

go 1.26.5

require github.com/dapr/dapr v1.18.2

// The same replace directives as dapr v1.18.2's own go.mod: a dependency's
// replace lines do not apply to the module that requires it.
replace (
	dubbo.apache.org/dubbo-go/v3 => dubbo.apache.org/dubbo-go/v3 v3.0.3-0.20230118042253-4f159a2b38f3
	gopkg.in/couchbaselabs/gocbconnstr.v1 => github.com/couchbaselabs/gocbconnstr v1.0.5
)

replace (
	github.com/chenzhuoyu/iasm => github.com/chenzhuoyu/iasm v0.9.0
	github.com/chzyer/logex => github.com/chzyer/logex v1.2.1
	github.com/gobwas/pool => github.com/gobwas/pool v0.2.1
	github.com/toolkits/concurrent => github.com/niean/gotools v0.0.0-20151221085310-ff3f51fc5c60
)
