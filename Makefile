# Shortcuts for the scripts; the scripts are the source of truth.
.PHONY: run test bench bench-http bench-jwt bench-jobs bench-render

run:
	./scripts/run.sh

test:
	./scripts/test.sh

bench: bench-http bench-jwt bench-jobs bench-render

bench-http:
	./bench/http.sh

bench-jwt:
	./bench/jwt.sh

bench-jobs:
	./bench/jobs.sh

bench-render:
	./bench/render.sh
