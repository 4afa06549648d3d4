# Entry points for people and CI; each target runs one script or command
# that also works on its own.
#
#   make test     every test, with the race detector
#   make bench    every benchmark in one table (about 6 minutes on 2 cores;
#                 BENCHFLAGS="-only store,daemon" for some suites)
#   make faults   the fault suite and its report (FAULTSFLAGS="--short")
#   make build    the shipped binary in bin/, built as the Dockerfile does

GO ?= go
BENCHFLAGS ?=
FAULTSFLAGS ?=

.PHONY: test bench faults build

test:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

bench:
	$(GO) run ./bench $(BENCHFLAGS)

faults:
	scripts/faults $(FAULTSFLAGS)

build:
	scripts/build
