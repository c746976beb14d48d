#!/usr/bin/env bash
# Model-checks the ownership and evacuation protocol (model/evacuation.pml) with SPIN.
#
#   real model: the safety properties (S2, S3, S4: assertions) and the liveness property S5
#               (ltl s5, weak fairness) must hold, with the state space fully explored;
#   mutants:    each protocol rule removed in turn must be caught: SPIN must find the
#               violation and write a counterexample trail.
#
# Prints one line per check and ends with "model: N passed, N failed"; exits non-zero if any
# check failed. Build artefacts go to a temporary directory that is removed at the end.
# See model/README.md for what is modelled, the bounds and why they suffice.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
model="$here/evacuation.pml"

# ---------- tools ----------
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "model: need root (or sudo) to install $*" >&2; return 1; fi
}
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "$@" >/dev/null 2>&1 || {
    as_root apt-get update -q >/dev/null 2>&1
    as_root apt-get install -y -q "$@" >/dev/null
  }
}
if ! command -v spin >/dev/null 2>&1; then
  echo "model: installing spin"
  apt_install spin
fi
if ! command -v gcc >/dev/null 2>&1; then
  echo "model: installing gcc"
  apt_install gcc libc6-dev
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/evacuation-model.XXXXXX")"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { echo "model: PASS $*"; passed=$((passed + 1)); }
fail() { echo "model: FAIL $*"; failed=$((failed + 1)); }

# Common pan settings: exhaustive search with state compression (-DCOLLAPSE is lossless;
# no bitstate, no hash compaction), memory capped so that running out is reported as a failure.
CC_COMMON="-w -DNOBOUNDCHECK -DCOLLAPSE -DVECTORSZ=1024 -DMEMLIM=3500"
TRAIL_LINES=7  # events of each counterexample shown
DEPTH=20000    # -m: the deepest run reaches ~410 steps; pan also reports if this were too small

# build DIR OPT "spin -D..." "cc -D...": generate and compile pan in $work/DIR
build() {
  local dir="$work/$1" opt="$2" sdefs="$3" cdefs="$4"
  mkdir -p "$dir"
  cp "$model" "$dir/evacuation.pml"
  # shellcheck disable=SC2086
  (cd "$dir" && spin -a $sdefs evacuation.pml >spin.log 2>&1 && gcc $opt $CC_COMMON $cdefs -o pan pan.c >cc.log 2>&1) || {
    echo "model: cannot build pan in $dir:" >&2
    cat "$dir/spin.log" "$dir/cc.log" 2>/dev/null | head -20 >&2
    return 1
  }
}

truncated() { # pan output -> non-empty if the search was not exhaustive
  grep -E "Search not completed|max search depth too small|MEMLIM|out of memory|VECTORSZ is too small|hash table is full" "$1" || true
}

# real NAME "spin defs" "cc defs" "pan args": must end with errors: 0, fully explored
real() {
  local name="$1" sdefs="$2" cdefs="$3" args="$4" dir out started secs
  dir="real-$(echo "$name" | tr -c 'a-zA-Z0-9' '-')"
  started=$SECONDS
  if ! build "$dir" -O2 "$sdefs" "$cdefs"; then fail "$name (build)"; return; fi
  out="$work/$dir/pan.out"
  # shellcheck disable=SC2086
  (cd "$work/$dir" && ./pan -m$DEPTH $args >"$out" 2>&1) || true
  secs=$((SECONDS - started))
  local states depth errors trunc
  states="$(sed -n 's/^ *\([0-9][0-9.e+]*\) states, stored.*/\1/p' "$out" | head -1)"
  depth="$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' "$out" | head -1)"
  errors="$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | head -1)"
  trunc="$(truncated "$out")"
  if [ "$errors" = "0" ] && [ -z "$trunc" ] && [ -n "$states" ]; then
    pass "$name ($states states, depth $depth, ${secs}s)"
  else
    fail "$name (errors: ${errors:-?}${trunc:+; $trunc})"
    grep -E "^pan:|violated|acceptance" "$out" | head -5 | sed 's/^/model:   /' || true
  fi
}

# property PAN-OUTPUT: which property the first error violates
property() {
  local line
  line="$(grep -m1 -E "^pan:1:" "$1" || true)"
  case "$line" in
    *"acceptance cycle"*|*"non-progress"*) echo "S5" ;;
    *"h_st!=0"*) echo "S2" ;;
    *"alive[l]"*) echo "S3" ;;
    *"mst!=1"*|*"mst!=2"*|*"tr==0"*|*"tr2==0"*) echo "S4" ;;
    *) echo "?" ;;
  esac
}

# mutant NAME EXPECTED "spin defs" "cc defs" "pan args": must fail EXPECTED with a trail
mutant() {
  local name="$1" expect="$2" sdefs="$3" cdefs="$4" args="$5" dir out got
  dir="mutant-$name"
  if ! build "$dir" -O0 "$sdefs" "$cdefs"; then fail "mutant $name (build)"; return; fi
  out="$work/$dir/pan.out"
  # shellcheck disable=SC2086
  (cd "$work/$dir" && ./pan -m$DEPTH $args >"$out" 2>&1) || true
  got="$(property "$out")"
  if [ -f "$work/$dir/evacuation.pml.trail" ] && [ "$got" = "$expect" ]; then
    pass "mutant $name fails $expect as expected"
    echo "model:   $(grep -m1 -E '^pan:1:' "$out")"
    # the counterexample, replayed (spin -t): its last events, as the model narrates them
    # shellcheck disable=SC2086
    (cd "$work/$dir" && spin -t $sdefs evacuation.pml 2>&1) | tr -s ' \t' ' ' | sed 's/^ //' >"$work/$dir/replay.txt" || true
    grep -E "^EV |START OF CYCLE" "$work/$dir/replay.txt" | tail -n "$TRAIL_LINES" | sed 's/^EV /model:   | /; s/^<<<<<START OF CYCLE>>>>>/model:   | (from here on it repeats forever)/' || true
  else
    fail "mutant $name: expected a counterexample for $expect, got ${got} ($(grep -m1 -E 'errors:' "$out" || echo 'no result'))"
  fi
}

started=$SECONDS

# ---------- the real model ----------
# Safety: any lease may expire at any step (ANY_EXPIRY); every fault class within BUDGET.
real "real-model safety S2 S3 S4, 2 daemons + 1 restart, 3 faults" \
  "-DND=2 -DNL=3 -DBUDGET=3 -DANY_EXPIRY" "-DNOCLAIM -DSAFETY" "-w25"
real "real-model safety S2 S3 S4, 3 daemons, 2 faults" \
  "-DND=3 -DNL=3 -DBUDGET=2 -DANY_EXPIRY" "-DNOCLAIM -DSAFETY" "-w24"
# Liveness: ltl s5 under weak fairness (-f), acceptance cycles (-a).
real "real-model liveness S5, 2 daemons + 1 restart, 2 faults" \
  "-DND=2 -DNL=3 -DBUDGET=2" "-DNFAIR=3" "-a -f -w24"
real "real-model liveness S5, 3 daemons, 1 fault" \
  "-DND=3 -DNL=3 -DBUDGET=1" "-DNFAIR=3" "-a -f -w23"

# ---------- mutants: each MUST fail ----------
SAFE="-DND=2 -DNL=3 -DBUDGET=3 -DANY_EXPIRY"
LIVE="-DND=2 -DNL=3 -DBUDGET=2"
# S3: owned writes without the owner compare (OwnedBy dropped from OwnedWriteAsync/CommitPlanAsync)
mutant no-owner-compare  S3 "$SAFE -DMUT_NO_OWNER_COMPARE" "-DNOCLAIM -DSAFETY" "-w22"
# S3: the owner compare checks the daemon id but not the lease (a restarted daemon's old incarnation writes)
mutant owner-no-lease    S3 "$SAFE -DMUT_OWNER_NO_LEASE" "-DNOCLAIM -DSAFETY" "-w22"
# S4 (Nova side, -DNOVA_S4): a record found evacuating is re-issued without reading Nova first
mutant no-reconcile      S4 "$SAFE -DNOVA_S4 -DMUT_NO_RECONCILE" "-DNOCLAIM -DSAFETY" "-w22"
# S4: no CallSettle wait: "no trace in Nova" is concluded while a call may still land
mutant no-callsettle     S4 "$SAFE -DNOVA_S4 -DMUT_NO_CALLSETTLE" "-DNOCLAIM -DSAFETY" "-w22"
# S4: the lease check and the evacuate call are not back to back (a pause between them)
mutant check-then-pause  S4 "$SAFE -DNOVA_S4 -DMUT_CHECK_THEN_PAUSE" "-DNOCLAIM -DSAFETY" "-w24"
# S2: ReportFenced answers before the host record is committed
mutant ack-before-commit S2 "$SAFE -DMUT_ACK_BEFORE_COMMIT" "-DNOCLAIM -DSAFETY" "-w22"
# S5: owner keys not bound to the lease: an expired owner's records are never taken over
mutant no-takeover       S5 "$LIVE -DMUT_NO_TAKEOVER" "-DNFAIR=3" "-a -f -A -w22"
# S5: Reconcile never concludes "no trace for CallSettle": a lost call leaves the record waiting forever
mutant never-settles     S5 "$LIVE -DMUT_NEVER_SETTLES" "-DNFAIR=3" "-a -f -A -w22"

echo "model: checked in $((SECONDS - started))s"
echo "model: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
