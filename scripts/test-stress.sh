#!/usr/bin/env bash
# `make test-stress`: the whole test suite RUNS times in a row (default 10) while LOAD other processes
# (default 2, one per core of the CI machines) keep the CPU busy with `yes > /dev/null`. A test that passes
# only on an idle machine fails here. Each run's output is kept in artifacts/stress/run-N.log; the summary
# names every failing test and the run it failed in. The load is ended by its pids on every exit.
#
#   bash scripts/test-stress.sh            # 10 runs, 2 busy processes, every test file
#   RUNS=3 LOAD=0 TESTS=tests/executor.test.ts bash scripts/test-stress.sh
#   FROM=3 bash scripts/test-stress.sh      # go on with runs 3..10 of an interrupted series (same clone):
#                                           # runs 1-2's logs and summary lines are kept
set -uo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-10}"
FROM="${FROM:-1}"
LOAD="${LOAD:-2}"
TESTS="${TESTS:-tests/*.test.ts tests/adversarial/*.test.ts}"
NODE="${NODE:-node}"
OUT="artifacts/stress"
mkdir -p "$OUT"
if [ "$FROM" -le 1 ]; then
  rm -f "$OUT"/run-*.log "$OUT/summary.txt"
elif [ ! -f "$OUT/summary.txt" ]; then
  echo "FROM=$FROM: no $OUT/summary.txt of the earlier runs to go on from" >&2
  exit 2
fi

load_pids=()
run_pid=""
run_mark=""
stop_load() {
  # The run in progress too: bash runs a trap only once its foreground child ends, so the run is a
  # background child that `wait` waits for (interruptible), and it is ended here with the load.
  if [ -n "$run_pid" ]; then
    kill "$run_pid" 2>/dev/null
    wait "$run_pid" 2>/dev/null
    run_pid=""
    # What the stopped run's tests started and could no longer clean up: task processes run detached (their
    # own process group); one of an endless-loop test kept a core busy after a stopped series. They inherit
    # the run's mark (WINDFLOW_TEST_STRESS_RUN): only those are ended, nothing else of the machine or clone.
    for proc in /proc/[0-9]*; do
      if tr '\0' '\n' < "$proc/environ" 2>/dev/null | grep -qx "WINDFLOW_TEST_STRESS_RUN=$run_mark"; then
        kill -KILL "${proc#/proc/}" 2>/dev/null
      fi
    done
  fi
  for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null; done
  load_pids=()
}
trap stop_load EXIT
trap 'stop_load; exit 130' INT TERM

for _ in $(seq 1 "$LOAD"); do
  yes > /dev/null &
  load_pids+=("$!")
done

say() { echo "$*" | tee -a "$OUT/summary.txt"; }
say "== test-stress: runs $FROM..$RUNS of ${TESTS} with $LOAD busy process(es) (pids ${load_pids[*]:-none}), $(nproc) cores"
failed_runs=0
total_start=$(date +%s)
for i in $(seq "$FROM" "$RUNS"); do
  log="$OUT/run-$i.log"
  start=$(date +%s)
  run_mark="$$-$i"
  # shellcheck disable=SC2086 # TESTS is a glob, expanded here as make does.
  WINDFLOW_TEST_STRESS_RUN="$run_mark" "$NODE" --import tsx --test --test-reporter=spec \
    --test-reporter-destination=stdout --test-concurrency=1 $TESTS > "$log" 2>&1 &
  run_pid=$!
  wait "$run_pid"
  code=$?
  run_pid=""
  secs=$(( $(date +%s) - start ))
  pass=$(grep -Eo '^ℹ pass [0-9]+' "$log" | grep -Eo '[0-9]+' || echo "?")
  fail=$(grep -Eo '^ℹ fail [0-9]+' "$log" | grep -Eo '[0-9]+' || echo "?")
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$code" -eq 0 ]; then
    say "run $i/$RUNS: green, $pass passed in ${secs} s (load $load)"
  else
    failed_runs=$((failed_runs + 1))
    say "run $i/$RUNS: RED (exit $code), $pass passed, $fail failed in ${secs} s (load $load); see $log"
    # The spec reporter lists the failing tests after "✖ failing tests:".
    sed -n '/^✖ failing tests:/,$p' "$log" | grep -E '^(  )?✖ ' | sed 's/^/    /' | tee -a "$OUT/summary.txt"
  fi
done
# The count covers the whole series, the earlier (resumed) runs' lines included.
green=$(grep -cE '^run [0-9]+/[0-9]+: green' "$OUT/summary.txt")
say "== $green of $RUNS run(s) green (runs $FROM..$RUNS in $(( $(date +%s) - total_start )) s this time)"
[ "$green" -eq "$RUNS" ]
