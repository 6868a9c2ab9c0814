#!/usr/bin/env bash
# Rendering benchmark of the release build: a dedicated stack's full artifact set
# (examples/specs/dedicated-custom-domain.json, 27 files), with PyPI Jinja2 (pinned in
# scripts/requirements-tools.txt) rendering the same templates with the same values as
# the peer, in the same run:
#
#   Swift   bench/RenderBenchmark: StackRenderer.render (validation, render context,
#           every template, normalization, SHA-256 per file, revision digest), and
#           beside it renderFiles (no hashing) and inputs (validation and context only)
#   Jinja2  bench/render_peer.py: the Mustache templates translated to Jinja2 at
#           benchmark time, fed the render context the Swift renderer builds (dumped by
#           `RenderBenchmark --dump-context`); its output must equal the Swift output
#           byte for byte, every file and the revision digest, before anything is
#           timed (else this script fails); then render, normalize, hashlib SHA-256
#           per file and the revision digest, like the Swift side
#
# Both run on one thread pinned to one core (taskset -c BENCH_CPU), one process per
# measurement, alternating Swift, Jinja2, Swift, Jinja2 (BENCH_ROUNDS rounds, default 2),
# each for BENCH_SECONDS (default 5) after a warm-up; the table uses the median of each.
# Target: at least 2,000 full renders/s on one core. Prints a table and writes it, with
# the raw output, to bench/results/render-STAMP.txt. Exits non-zero when the outputs
# differ, and on a missed target only with BENCH_STRICT=1.
#
# Environment: BENCH_SECONDS (5), BENCH_ROUNDS (2), BENCH_CPU (0),
#   BENCH_SPEC (examples/specs/dedicated-custom-domain.json), BENCH_STRICT=1,
#   BENCH_SKIP_BUILD=1 to use the existing .build/release/RenderBenchmark.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_PER="${BENCH_SECONDS:-5}"
ROUNDS="${BENCH_ROUNDS:-2}"
CPU="${BENCH_CPU:-0}"
SPEC="${BENCH_SPEC:-examples/specs/dedicated-custom-domain.json}"
TARGET=2000

"$ROOT/scripts/ensure-deps.sh"
PYTHON="$ROOT/.tools/venv/bin/python"
if [[ "${BENCH_SKIP_BUILD:-0}" != "1" ]]; then
    swift build -c release --product RenderBenchmark
fi
BIN="$ROOT/.build/release/RenderBenchmark"
[[ -x "$BIN" ]] || { echo "bench: $BIN not found" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/provisioner-bench-render.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
"$BIN" --dump-context "$TMP/context.json" --templates "$ROOT/templates" --spec "$SPEC"

mkdir -p "$ROOT/bench/results"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULT="$ROOT/bench/results/render-$STAMP.txt"
{
    echo "# bench/render.sh $STAMP  seconds=$SECONDS_PER rounds=$ROUNDS cpu=$CPU spec=$SPEC"
    echo "# $(nproc) cores; $(uname -srm); $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); $("$PYTHON" --version)"
    echo "# load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
} >"$RESULT"

# field NAME LINE -> the value of NAME=... in a RESULT line
field() { sed -E "s/.*[ ]$1=([^ ]+).*/\1/" <<<" $2"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

swift_rates=() peer_rates=() rows=()
for round in $(seq 1 "$ROUNDS"); do
    printf '\n## round %s: Swift\n' "$round" >>"$RESULT"
    out="$(taskset -c "$CPU" "$BIN" --seconds "$SECONDS_PER" --templates "$ROOT/templates" --spec "$SPEC")"
    printf '%s\n' "$out" | tee -a "$RESULT"
    line="$(grep '^RESULT ' <<<"$out")"
    swift_rates+=("$(field renders_per_s "$line")")
    rows+=("$(printf '  %-6s %-40s %11s %11s %11s %11s' "$round" "Swift StackRenderer.render" \
        "$(field renders_per_s "$line")" "$(field us_per_render "$line")" "$(field nohash_us "$line")" "$(field context_us "$line")")")
    files="$(field files "$line")" bytes="$(field bytes "$line")"

    printf '\n## round %s: Jinja2\n' "$round" >>"$RESULT"
    if ! out="$(taskset -c "$CPU" "$PYTHON" "$ROOT/bench/render_peer.py" --context "$TMP/context.json" --seconds "$SECONDS_PER" 2>&1)"; then
        printf '%s\n' "$out" | tee -a "$RESULT" >&2
        echo "bench: the Jinja2 peer failed (its output must equal the Swift output byte for byte)" | tee -a "$RESULT" >&2
        exit 1
    fi
    printf '%s\n' "$out" | tee -a "$RESULT"
    line="$(grep '^RESULT ' <<<"$out")"
    peer_rates+=("$(field renders_per_s "$line")")
    rows+=("$(printf '  %-6s %-40s %11s %11s %11s %11s' "$round" "Jinja2 $(field jinja2 "$line") (translated templates)" \
        "$(field renders_per_s "$line")" "$(field us_per_render "$line")" "-" "-")")
done

swift_median="$(printf '%s\n' "${swift_rates[@]}" | median)"
peer_median="$(printf '%s\n' "${peer_rates[@]}" | median)"
ratio="$(awk -v s="$swift_median" -v p="$peer_median" 'BEGIN { printf "%.2f", (p > 0 ? s / p : 0) }')"
verdict="$(awk -v s="$swift_median" -v t="$TARGET" 'BEGIN { print (s >= t) ? "PASS" : "FAIL" }')"
us() { awk -v r="$1" 'BEGIN { printf "%.1f", (r > 0 ? 1e6 / r : 0) }'; }

report="$(
    printf '\nRendering benchmark: %s (%s files, %s bytes per render), release build,\n' "$SPEC" "$files" "$bytes"
    printf 'one thread on core %s (taskset), %s rounds of %ss per system after warm-up, alternating\n' "$CPU" "$ROUNDS" "$SECONDS_PER"
    printf '  %-6s %-40s %11s %11s %11s %11s\n' "round" "renderer" "renders/s" "us/render" "no-hash us" "context us"
    printf '%s\n' "${rows[@]}"
    printf '  median Swift:  %s renders/s (%s us/render)\n' "$swift_median" "$(us "$swift_median")"
    printf '  median Jinja2: %s renders/s (%s us/render); outputs byte-for-byte equal\n' "$peer_median" "$(us "$peer_median")"
    printf '  ratio Swift / Jinja2: %sx\n' "$ratio"
    printf '  target >= %s full renders/s on one core: %s\n' "$TARGET" "$verdict"
    printf '  (no-hash: render without SHA-256; context: validation and render context only;\n'
    printf '   Jinja2 gets the render context ready-made, so it does no validation or context building)\n'
    printf '  result: %s\n' "${RESULT#"$ROOT"/}"
)"
printf '%s\n' "$report"
printf '\n%s\n' "$report" >>"$RESULT"
echo "# load average at end: $(cut -d ' ' -f 1-3 /proc/loadavg)" >>"$RESULT"
if [[ "$verdict" != PASS && "${BENCH_STRICT:-0}" == "1" ]]; then
    exit 1
fi
exit 0
