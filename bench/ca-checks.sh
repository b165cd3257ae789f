#!/usr/bin/env bash
# What the input policy and the profile checker run before every signature
# cost in batch issuance (issue #13), counted in instructions by callgrind:
# exact and the same on a loaded machine, where wall-clock rates are not.
#   CVQ_BENCH_N=2000 bench/ca-checks.sh
# bench/ca-issue-instr.sh without the peer (and without a prefilled store
# unless CVQ_BENCH_PREFILL says so); that script also counts `openssl ca`.
export CVQ_BENCH_PEER=${CVQ_BENCH_PEER:-0} CVQ_BENCH_PREFILL=${CVQ_BENCH_PREFILL:-0}
exec bash "$(dirname "$0")/ca-issue-instr.sh" "$@"
