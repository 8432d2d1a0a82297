#!/usr/bin/env bash
# Instructions per operation of one contestant, and the functions they go to, counted by
# callgrind (which counts instructions whatever else the machine does).
#
# Runs the contestant alone (PROFILE_ONLY) twice, with PROFILE_QUERIES=FEW and =MANY: setup,
# connections and warm-up cost the same in both, so the difference of the two counts over
# MANY - FEW is the cost of one operation. Prints that, then the functions whose cost per
# operation is largest: inclusive (a function's own instructions plus those of what it
# calls), then exclusive (its own). User space only: system calls are not counted. A
# profile runs on one tokio worker, so the count repeats (within about ±0.5 %).
#
# usage: bench/callgrind.sh BACKEND/CONTESTANT [WORKLOAD] [FEW] [MANY] [TOP]
#   bench/callgrind.sh postgres/raw
#   bench/callgrind.sh mysql/tethered 1 300 1500 60
#   bench/callgrind.sh sqlite/tethered 4 2 12
# CONTESTANT: raw, sqlx, tethered, tethered-root (no request scope). WORKLOAD: 1-4; for 3
# and 4 the counts are transactions and 1,000-row selects, so keep them small (2 and 6).
# Output files stay in <target>/callgrind/ for callgrind_annotate (<target>: CARGO_TARGET_DIR,
# or target/ in the workspace).
set -euo pipefail

selection=${1:?usage: bench/callgrind.sh BACKEND/CONTESTANT [WORKLOAD] [FEW] [MANY] [TOP]}
workload=${2:-1}
few=${3:-500}
many=${4:-2500}
top=${5:-40}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
out="$target/callgrind/${selection//\//-}-w$workload"
mkdir -p "$out"

cd "$root"
cargo build --release -p tethered-bench --quiet
for count in "$few" "$many"; do
    PROFILE_ONLY=$selection PROFILE_WORKLOAD=$workload PROFILE_QUERIES=$count \
        valgrind --tool=callgrind --callgrind-out-file="$out/$count.out" \
        "$target/release/tethered-bench" >"$out/$count.log" 2>&1
done

# "Ir<TAB>function" per line (inclusive with --inclusive=yes), for every function above a
# tiny threshold.
costs() {
    callgrind_annotate --threshold=99.99 "$@" 2>/dev/null |
        sed -nE 's/^ *([0-9,]+) \( *[0-9.]+%\) +(.*)$/\1\t\2/p' |
        sed -E 's/ \[[^]]*\]$//' |
        awk -F '\t' '{ gsub(",", "", $1); print $1 "\t" $2 }' |
        sort -t $'\t' -k2,2
}
total() {
    callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}
# The functions whose cost per operation is largest: FLAGS for callgrind_annotate.
per_operation() {
    join -t $'\t' -1 2 -2 2 <(costs "$@" "$out/$few.out") <(costs "$@" "$out/$many.out") |
        awk -F '\t' -v n="$operations" '{ per = ($3 - $2) / n; if (per >= 1) printf "%10.0f  %s\n", per, $1 }' |
        sort -rn | head -n "$top"
}

operations=$((many - few))
echo "$selection, workload $workload: $(( ($(total "$out/$many.out") - $(total "$out/$few.out")) / operations )) instructions per operation ($few vs $many operations)"
echo "inclusive instructions per operation, by function:"
per_operation --inclusive=yes
echo "own (exclusive) instructions per operation, by function:"
per_operation --inclusive=no
