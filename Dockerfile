# The service image, built by the Tiltfile (docker_build "order-outbox").
#
# Two stages: a Rust toolchain builds the release binary; a distroless image
# with only glibc and libgcc runs it as an unprivileged user. The build
# stage compiles the dependencies before it copies the sources, so a change
# to src/ rebuilds only the service's own crate.
#
# The toolchain tag matches rust-toolchain.toml (an offline check keeps them
# equal). rust-toolchain.toml itself is not copied: the image's toolchain is
# the pin, and the file's component list (rustfmt, clippy) could make rustup
# fetch tools a build does not use.

FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /build

# Dependencies: the manifest and lock file with empty sources. The
# [[test]] target in Cargo.toml must exist for Cargo to read the manifest.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/e2e \
    && printf 'fn main() {}\n' > src/main.rs \
    && touch src/lib.rs tests/e2e/main.rs \
    && cargo build --release --locked

# The service. Touching the crate roots makes Cargo rebuild them: the copied
# files may be older than the placeholder build.
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked

# Debian 12 runtime, the same glibc as the build stage.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /build/target/release/order-outbox /usr/local/bin/order-outbox

# A pod listens on all interfaces for its sidecar; Kubernetes sets both
# again (k8s/order-outbox.yaml).
ENV APP_HOST=0.0.0.0 \
    APP_PORT=30080
EXPOSE 30080

# The image's `nonroot` user, by number so Kubernetes can verify it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/order-outbox"]
