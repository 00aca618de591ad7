# The README's commands. `make test` is what CI runs (.ci/run).
.PHONY: setup build run demo test unit e2e lint check-k8s clean

CARGO ?= cargo

setup:
	scripts/setup.sh

build:
	$(CARGO) build --locked

## make run: start Redis, placement, scheduler, daprd and the service on
## loopback, stream their logs; Ctrl-C stops everything.
run: setup build
	scripts/stack.sh

## make demo: start the stack, post an order, show what happened, stop.
demo: setup build
	scripts/demo.sh

## make test: formatting, lints, unit tests, end-to-end tests on a real
## Dapr runtime, and the offline Kubernetes checks.
test: setup lint
	$(CARGO) test --locked --all-targets
	$(MAKE) check-k8s

unit:
	$(CARGO) test --locked --lib

e2e: setup
	$(CARGO) test --locked --test e2e

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

check-k8s:
	venv=$$(scripts/setup.sh --checks) && "$$venv/bin/pytest" -q tests/k8s

clean:
	$(CARGO) clean
	rm -rf .run
