# syntax=docker/dockerfile:1
#
# opencals-sync in a small image: a static binary on distroless, run as a
# non-root user, state in a volume, config from a mounted file.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t opencals-sync .
#   docker run -d -v "$PWD/config:/etc/opencals-sync:ro" \
#     -v opencals-state:/var/lib/opencals-sync opencals-sync
#
# See docker-compose.yaml for a fuller example (secrets, read-only root).

# Build on the builder's own platform and cross-compile: no emulation needed
# for multi-arch images.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
# scripts/build holds the flags (static, -trimpath, -s -w, version); CI runs
# the same script, so what CI checks is what ships.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH VERSION=$VERSION \
    scripts/build /out/opencals-sync
# The runtime image has no shell: make the state directory here, so that a
# new named volume starts out owned by the non-root user.
RUN mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/opencals-sync /usr/local/bin/opencals-sync
COPY --from=build --chown=65532:65532 /out/state /var/lib/opencals-sync
# Read by --config's default; the database default is
# /var/lib/opencals-sync/state.db, inside the volume.
ENV OPENCALS_SYNC_CONFIG=/etc/opencals-sync/config.yaml
VOLUME /var/lib/opencals-sync
# 9090: the admin listener (health, metrics). It binds 127.0.0.1 by default,
# which is enough for the HEALTHCHECK below; to scrape metrics from outside
# set OPENCALS_SYNC_ADMIN_LISTEN=0.0.0.0:9090. 8080: the receiver for
# Opencals' real webhooks, in webhook or hybrid mode only.
EXPOSE 9090 8080
USER 65532:65532
# Unhealthy when /readyz fails: database unwritable, scheduler stopped or
# polling stalled.
HEALTHCHECK --interval=30s --timeout=10s --start-period=1m --retries=3 \
    CMD ["/usr/local/bin/opencals-sync", "health"]
# `docker run IMAGE` runs the daemon; `docker run IMAGE status` (or any
# other subcommand) runs that instead.
ENTRYPOINT ["/usr/local/bin/opencals-sync"]
CMD ["run"]
