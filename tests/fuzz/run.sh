#!/bin/sh
# Run libFuzzer harnesses: tests/fuzz/run.sh SECONDS HARNESS...
#
# Each harness (build/fuzz/fuzz_NAME) runs for SECONDS over its corpus:
# tests/fuzz/corpus/fuzz_NAME/ copied into build/fuzz/corpus/fuzz_NAME/,
# where what it finds accumulates from run to run. Its output goes to
# build/fuzz/fuzz_NAME.log; one line per harness says how many inputs it
# ran. A crash, leak, sanitizer report, failed invariant or an input that
# runs over 10 s fails the harness: its log's tail is printed and the
# input is left as build/fuzz/fuzz_NAME-crash-* (or -leak-, -timeout-).
# Exit status: 0 if every harness held, else 1.
set -u

seconds=$1
shift
seeds=$(dirname "$0")/corpus
status=0
for bin in "$@"; do
	name=$(basename "$bin")
	dir=$(dirname "$bin")
	corpus=$dir/corpus/$name
	log=$dir/$name.log
	mkdir -p "$corpus"
	cp "$seeds/$name"/* "$corpus"/
	if "$bin" -max_total_time="$seconds" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$dir/$name-" \
		"$corpus" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "fuzz: $name: ${runs:-?} inputs in ${seconds}s, no failure"
	else
		echo "fuzz: $name: FAILED, log $log:" >&2
		tail -n 40 "$log" >&2
		status=1
	fi
done
exit $status
