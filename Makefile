# Shortcuts for the scripts; the scripts are the source of truth.
.PHONY: run test bench bench-http bench-jwt bench-jobs bench-render bench-tenants

run:
	./scripts/run.sh

test:
	./scripts/test.sh

bench: bench-http bench-jwt bench-jobs bench-render bench-tenants

bench-http:
	./bench/http.sh

bench-jwt:
	./bench/jwt.sh

bench-jobs:
	./bench/jobs.sh

bench-render:
	./bench/render.sh

bench-tenants:
	./bench/tenants.sh
