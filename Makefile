# Shortcuts for the scripts; the scripts are the source of truth.
.PHONY: run test bench bench-http bench-jwt

run:
	./scripts/run.sh

test:
	./scripts/test.sh

bench: bench-http bench-jwt

bench-http:
	./bench/http.sh

bench-jwt:
	./bench/jwt.sh
