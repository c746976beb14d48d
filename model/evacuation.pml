/*
 * evacuationd: the ownership and evacuation protocol, as a Promela model for SPIN.
 * model/README.md says what is modelled and abstracted, and maps every step to its C# method.
 *
 *   etcd     a linearizable store holding one host record (/hosts/H), one instance record
 *            (/instances/ID), their owner keys (/owners/hosts/H, /owners/instances/ID) bound
 *            to daemon leases, and compare-and-swap transactions. A lease can expire at any
 *            step (crash, partition, pause: keepalives stop succeeding); etcd then deletes
 *            every key bound to it. Any transaction may be lost before etcd, or its answer
 *            after etcd: the writer learns nothing and resolves it by re-reading.
 *   daemons  two daemon ids; each runs as an incarnation (daemon id, lease); a daemon whose
 *            lease is gone restarts under a new lease (up to NL leases in all). An
 *            incarnation keeps running after its lease expired (a paused or partitioned
 *            zombie) until its next checkpoint; every write it makes is guarded.
 *   Nova     evacuate calls in transit (each lands, or is lost on the way), one migration
 *            per accepted call (running -> done | failed); evacuate may also be rejected (4xx).
 *            The caller may time out while its call is still on the way.
 *   fencer   the fence agent reporting the fencing until it gets an OK answer (S2).
 *
 * Safety (assert):  S2 (ack only after commit), S3 (a write is accepted only from the
 *                   record's current owner), S4 (never a second evacuate while one is in
 *                   flight, none after the instance was rebuilt elsewhere).
 * Liveness (ltl s5): under weak fairness and finitely many faults (BUDGET), the fencing is
 *                   acknowledged, the instance record ends and the host record ends.
 *
 * Negative variants (must fail): compile with one MUT_* macro, see model/check.sh.
 * Other switches: ND, NL, BUDGET, MAXATT (bounds); ANY_EXPIRY (safety runs: any lease may
 * expire at any step); NOVA_S4 (check S4 only on Nova's side, for the mutants); NO_GRACEFUL
 * (leave out graceful stops).
 */

/* ---------------- bounds (override with -D) ---------------- */
#ifndef ND
#define ND 2          /* daemon ids 0..ND-1 (2 or 3), starting with leases 1..ND */
#endif
#ifndef NL
#define NL 3          /* leases 1..NL: daemon 0 starts with lease 1, daemon 1 with 2, restarts take 3.. (NL <= 4) */
#endif
#ifndef BUDGET
#define BUDGET 3      /* faults in one run: lease expiries/stops, lost etcd requests/answers, lost evacuate calls/answers */
#endif
#ifndef MAXATT
#define MAXATT 2      /* WorkflowOptions.MaxAttempts */
#endif

/* ---------------- names ---------------- */
/* RecordState (Evacuationd.Core/Records/RecordState.cs); R_NONE: no record yet */
#define R_NONE      0
#define ACCEPTED    1
#define EVACUATING  2
#define REBUILDING  3
#define RETRYING    4
#define DONE        5
#define FAILED      6
#define SKIPPED     7
#define TERMINAL(s) ((s) >= DONE)

/* HostState (Evacuationd.Core/Records/HostState.cs); H_NONE: no host record yet */
#define H_NONE       0
#define H_PLANNING   1
#define H_EVACUATING 2
#define H_DONE       3
#define H_FAILED     4
#define H_TERMINAL(s) ((s) >= H_DONE)

/* Nova: status of the instance's newest evacuation migration */
#define M_NONE    0
#define M_RUNNING 1   /* accepted/pre-migrating/rebuilding: task_state set, still on the fenced host */
#define M_DONE    2   /* done: rebuilt on another host, task_state null */
#define M_FAILED  3   /* error/failed: still on the fenced host, task_state null */

/* WriteStatus / ClaimStatus (Evacuationd.Core/Store/StoreTypes.cs), as far as the model needs them */
#define OK           1   /* WriteStatus.Ok / ClaimStatus.Claimed */
#define NOTOWNER     2
#define CONFLICT     3
#define LEASELOST    4
#define UNKNOWN      5   /* the answer never came */
#define RETRY        6   /* Judgement.NotApplied on a re-read: send the transaction again */
#define OWNEDBYOTHER 7
#define MINEWRITE    8   /* claim found the owner key already ours: write the update as an owned write */

/* EvacuateOutcomeKind as the runner sees it; A_WAIT: the call is out, no answer yet */
#define A_NONE     0
#define A_ACCEPTED 1
#define A_REJECTED 2
#define A_UNKNOWN  3
#define A_WAIT     4

/* InstanceStep */
#define S_NONE   0
#define S_WAIT   1
#define S_WRITE  2
#define S_START  3

/* ---------------- etcd ---------------- */
bool alive[5];        /* lease l exists (its keepalives succeed) */
byte dof[5];          /* the daemon id lease l belongs to */
byte cur[ND];         /* the newest lease of each daemon id */
byte nextlease = ND + 1;
byte budget = BUDGET;

byte h_st;            /* /hosts/H: state */
byte ho;              /* /owners/hosts/H: the lease it is bound to (0: absent); its value is dof[ho] */
byte r_st, r_att, r_base;   /* /instances/ID: state, Attempt, BaselineMigrationId */
byte ro;              /* /owners/instances/ID */

/* Revisions, abstracted exactly for what the code compares (ModIs(key, expectedRevision) and
 * "stored.Value == value"): rfresh[l]: the record's mod_revision is still the one incarnation l
 * last read or wrote; rmine[l]: the stored value is the one l's latest write put (each write's
 * value is unique: it carries its history entry and timestamps). Same for the host record. */
bool rfresh[5], rmine[5], hfresh[5], hmine[5];

/* ---------------- Nova ---------------- */
byte nmig;            /* NewestMigrationId: evacuation migrations Nova created (one per accepted call) */
byte mst;             /* status of the newest one */
byte tr, tr2;         /* evacuate calls in transit: sender's lease (0: none); tr2 only when S4 is already broken */
byte ans[5];          /* per lease: A_WAIT while its call is out, then the answer it gets */

/* ---------------- fence agent ---------------- */
bool acked;

#define CLEAR(a) a[1] = 0; a[2] = 0; a[3] = 0; a[4] = 0

/* Counterexample narration: "EV ..." lines, printed when a trail is replayed (spin -t); pan
 * ignores printf, so they cost nothing in the search. */
inline rname(s) {
  if
  :: s == ACCEPTED -> printf("accepted")
  :: s == EVACUATING -> printf("evacuating")
  :: s == REBUILDING -> printf("rebuilding")
  :: s == RETRYING -> printf("retrying")
  :: s == DONE -> printf("done")
  :: s == FAILED -> printf("failed")
  :: s == SKIPPED -> printf("skipped")
  :: else -> printf("%d", s)
  fi
}
#define EVR_CLAIM printf("EV lease %d (daemon %d): claimed the instance record -> ", l, d); rname(n_st); printf(" (attempt %d)\n", n_att)
#define EVR_WRITE printf("EV lease %d (daemon %d): wrote the instance record -> ", l, d); rname(n_st); printf(" (attempt %d)\n", n_att)

/* ---------------- the owner compare of guarded writes (etcd side) ---------------- */
/* OwnedBy(ownerKey, daemonId, leaseId): value == daemon id AND lease == lease id */
#if defined(MUT_NO_OWNER_COMPARE)
#define OWNED(k) (1)
#elif defined(MUT_OWNER_NO_LEASE)
#define OWNED(k) ((k) != 0 && dof[k] == d)
#else
#define OWNED(k) ((k) == l)
#endif

/* For S5 the environment keeps one daemon able to work: a lease may expire (or a daemon stop)
 * only if a restart remains or another daemon is alive. Safety runs use -DANY_EXPIRY: any lease
 * may expire at any step. */
#if defined(ANY_EXPIRY)
#define REPLACEABLE(i) (1)
#elif ND == 2
#define REPLACEABLE(i) (nextlease <= NL || alive[cur[1 - (i)]])
#else
#define REPLACEABLE(i) (nextlease <= NL || alive[cur[((i) + 1) % 3]] || alive[cur[((i) + 2) % 3]])
#endif

/* lease expiry: etcd deletes every key bound to the lease at once */
inline expire(x) {
  alive[x] = 0;
  printf("EV lease %d expired\n", x);
#ifndef MUT_NO_TAKEOVER
  if :: ro == x -> ro = 0 :: else fi;
  if :: ho == x -> ho = 0 :: else fi
#endif
}

/* any transaction: delivered and answered / answer lost / request lost before etcd */
#define LOSE_ANSWER  if :: skip :: budget > 0 -> budget--; res = UNKNOWN; printf("EV lease %d: etcd answer lost\n", l) fi

/* ======================= instance record transactions ======================= */
/* Each transaction below is ONE step of etcd (linearizable). It is delivered and answered,
 * delivered with its answer lost, or lost before etcd; a lost answer leaves res = UNKNOWN and
 * the writer resolves it in a later step by re-reading the record and its owner key
 * (GuardedAsync -> ReadPairAsync -> judge): applied, refused, or not applied (send again). */

/* OwnedWriteAsync's judge, on a failed transaction (definite) or a re-read after a lost answer */
inline judge_update(rel, definite) {
  if
  :: rmine[l] && (((rel) && ro != l) || (!(rel) && ro == l)) -> res = OK   /* Judgement.Applied */
  :: !(rmine[l] && (((rel) && ro != l) || (!(rel) && ro == l))) ->
     if
     :: ro != l -> res = NOTOWNER
     :: ro == l && !rfresh[l] -> res = CONFLICT
     :: ro == l && rfresh[l] -> res = ((definite) -> CONFLICT : RETRY)    /* NotApplied */
     fi
  fi
}

/* UpdateInstanceAsync -> OwnedWriteAsync: compares the owner key (value and lease) and the
 * record's mod_revision; puts n_*; with rel deletes the owner key in the same transaction. */
inline update_instance_txn(rel) {
  rmine[l] = 0;
  if
  :: OWNED(ro) && rfresh[l] ->
     assert(ro == l && alive[l]);            /* S3: only the current owner's write is accepted */
     EVR_WRITE;
     r_st = n_st; r_att = n_att; r_base = n_base;
     CLEAR(rfresh); CLEAR(rmine); rfresh[l] = 1; rmine[l] = 1;
     if :: rel -> ro = 0 :: else fi;
     res = OK;
     LOSE_ANSWER
  :: !(OWNED(ro) && rfresh[l]) ->
     judge_update(rel, 1);
     LOSE_ANSWER
  :: budget > 0 -> budget--; res = UNKNOWN; printf("EV lease %d: etcd request lost\n", l)
  fi
}

/* ClaimAsync's judge */
inline judge_claim(definite) {
  if
  :: ro != 0 && ro != l -> res = OWNEDBYOTHER
  :: ro == l && rmine[l] -> res = OK                      /* already mine, with this update */
  :: ro == l && !rmine[l] && !rfresh[l] -> res = CONFLICT
  :: ro == l && !rmine[l] && rfresh[l] -> res = MINEWRITE /* already mine: write the update as the owner */
  :: ro == 0 && !rfresh[l] -> res = CONFLICT
  :: ro == 0 && rfresh[l] -> res = ((definite) -> CONFLICT : RETRY)
  fi
}

/* TryClaimInstanceAsync -> ClaimAsync: owner key absent and record at the expected revision ->
 * owner key put with the lease and the record (PoisonGuard.ForClaim of the update) put, in one
 * transaction. A put bound to a lease that no longer exists fails the whole transaction. */
inline claim_instance_txn() {
  rmine[l] = 0;
  if
  :: ro == 0 && rfresh[l] && alive[l] ->
     ro = l;
     EVR_CLAIM;
     r_st = n_st; r_att = n_att; r_base = n_base;
     CLEAR(rfresh); CLEAR(rmine); rfresh[l] = 1; rmine[l] = 1;
     res = OK;
     LOSE_ANSWER
  :: ro == 0 && rfresh[l] && !alive[l] ->
     res = LEASELOST;
     LOSE_ANSWER
  :: !(ro == 0 && rfresh[l]) ->
     judge_claim(1);
     LOSE_ANSWER
  :: budget > 0 -> budget--; res = UNKNOWN; printf("EV lease %d: etcd request lost\n", l)
  fi
}

/* ReleaseAsync: delete the owner key if it is still (daemon, lease); best effort */
inline release_instance() {
  if
  :: ro == l -> ro = 0
  :: ro == l && budget > 0 -> budget--         /* lost: the key goes with the lease */
  :: ro != l -> skip
  fi
}

/* ======================= InstanceWorkflow (pure decisions) ======================= */
#define OURS    (nmig > c_base)          /* nova.Since(r.BaselineMigrationId) is not empty */
#define BUSY    (mst == M_RUNNING)       /* task_state set / a migration in progress */
#define MOVED   (mst == M_DONE)          /* the server is no longer on the fenced host */
/* now >= quietSince + CallSettle, where quietSince = max(AttemptStartedAt, OwnedSince,
 * OutcomeUnknownSince). CallSettle exceeds the time any evacuate call sent before quietSince
 * can take to land (Nova:EvacuateTimeout, and calls are sent only while the lease is valid),
 * so "settled" means exactly: the owner holds the record and no evacuate call is in transit. */
#if defined(MUT_NO_CALLSETTLE)
#define SETTLED (1)
#elif defined(MUT_NEVER_SETTLES)
#define SETTLED (0)
#else
#define SETTLED (own && tr == 0 && tr2 == 0)
#endif

inline fail_attempt() {                    /* FailAttempt */
  step = S_WRITE;
  if
  :: c_att >= MAXATT -> n_st = FAILED
  :: c_att < MAXATT -> n_st = RETRYING
  fi
}

inline start() {                           /* Start (accepted, retrying, or a reconcile with no trace) */
  if
  :: MOVED -> step = S_WRITE; n_st = SKIPPED
  :: !MOVED && BUSY -> step = S_WAIT       /* never evacuate over a running evacuation (S4) */
  :: !MOVED && !BUSY && c_att >= MAXATT -> step = S_WRITE; n_st = FAILED
  :: !MOVED && !BUSY && c_att < MAXATT ->
     step = S_START; n_st = EVACUATING; n_att = c_att + 1; n_base = nmig
  fi
}

inline follow() {                          /* Follow */
  if
  :: !OURS && !BUSY && !MOVED && SETTLED -> fail_attempt()
  :: !OURS && !(!BUSY && !MOVED && SETTLED) -> step = S_WAIT
  :: OURS && mst == M_DONE -> step = S_WRITE; n_st = DONE
  :: OURS && mst == M_FAILED -> fail_attempt()
  :: OURS && mst == M_RUNNING -> step = S_WAIT
  fi
}

inline reconcile() {                       /* Reconcile */
#ifdef MUT_NO_RECONCILE
  /* mutant: a record found evacuating is re-issued without asking Nova */
  if
  :: c_att >= MAXATT -> step = S_WRITE; n_st = FAILED
  :: c_att < MAXATT -> step = S_START; n_st = EVACUATING; n_att = c_att + 1; n_base = nmig
  fi
#else
  if
  :: OURS ->
     follow();                             /* the call reached Nova: follow its migration */
     if :: step == S_WAIT -> step = S_WRITE; n_st = REBUILDING :: else fi
  :: !OURS && BUSY -> step = S_WAIT        /* task_state set, no migration of ours: never re-issue */
  :: !OURS && !BUSY && MOVED -> step = S_WRITE; n_st = SKIPPED
  :: !OURS && !BUSY && !MOVED && !SETTLED -> step = S_WAIT
  :: !OURS && !BUSY && !MOVED && SETTLED -> start()   /* no trace for CallSettle: the call never arrived */
  fi
#endif
}

inline decide() {                          /* ObserveAsync, then InstanceWorkflow.Decide */
  n_st = c_st; n_att = c_att; n_base = c_base;
  if
  :: c_st == ACCEPTED || c_st == RETRYING -> start()
  :: c_st == EVACUATING -> reconcile()
  :: c_st == REBUILDING -> follow()
  fi
}

inline after_call() {                      /* InstanceWorkflow.AfterCall */
  n_st = c_st; n_att = c_att; n_base = c_base;
  if
  :: ans[l] == A_ACCEPTED -> n_st = REBUILDING
  :: ans[l] == A_REJECTED -> fail_attempt()
  :: ans[l] == A_UNKNOWN -> skip          /* note OutcomeUnknownSince: stays evacuating, a new value */
  fi;
  ans[l] = A_NONE
}

/* ======================= host record transactions ======================= */

inline judge_claim_host(definite) {
  if
  :: ho != 0 && ho != l -> res = OWNEDBYOTHER
  :: ho == l -> res = OK                                  /* already mine (no update) */
  :: ho == 0 && !hfresh[l] -> res = CONFLICT
  :: ho == 0 && hfresh[l] -> res = ((definite) -> CONFLICT : RETRY)
  fi
}

/* TryClaimHostAsync(update: null) -> ClaimAsync: the owner key only (the host's revision stays) */
inline claim_host_txn() {
  if
  :: ho == 0 && hfresh[l] && alive[l] -> ho = l; res = OK;
     printf("EV lease %d (daemon %d): claimed the host record\n", l, d);
     LOSE_ANSWER
  :: ho == 0 && hfresh[l] && !alive[l] -> res = LEASELOST; LOSE_ANSWER
  :: !(ho == 0 && hfresh[l]) -> judge_claim_host(1); LOSE_ANSWER
  :: budget > 0 -> budget--; res = UNKNOWN; printf("EV lease %d: etcd request lost\n", l)
  fi
}

/* OwnedWriteAsync's judge for the host (also CommitPlanAsync's, which never releases) */
inline judge_update_host(rel, definite) {
  if
  :: hmine[l] && (((rel) && ho != l) || (!(rel) && ho == l)) -> res = OK
  :: !(hmine[l] && (((rel) && ho != l) || (!(rel) && ho == l))) ->
     if
     :: ho != l -> res = NOTOWNER
     :: ho == l && !hfresh[l] -> res = CONFLICT
     :: ho == l && hfresh[l] -> res = ((definite) -> CONFLICT : RETRY)
     fi
  fi
}

/* UpdateHostAsync (rel: the end of the fencing), or CommitPlanAsync (plan: creates the
 * instance record if absent, in the same transaction as the host update) */
inline update_host_txn(rel, plan) {
  hmine[l] = 0;
  if
  :: OWNED(ho) && hfresh[l] ->
     assert(ho == l && alive[l]);             /* S3 */
     if
     :: plan && r_st == R_NONE -> r_st = ACCEPTED   /* RequestTxn { Compare Absent(key), Put } */
     :: else
     fi;
     h_st = hn_st;
     if
     :: hn_st == H_EVACUATING -> printf("EV lease %d (daemon %d): plan committed: host evacuating, instance record created\n", l, d)
     :: else -> printf("EV lease %d (daemon %d): host record ended\n", l, d)
     fi;
     CLEAR(hfresh); CLEAR(hmine); hfresh[l] = 1; hmine[l] = 1;
     if :: rel -> ho = 0 :: else fi;
     res = OK;
     LOSE_ANSWER
  :: !(OWNED(ho) && hfresh[l]) ->
     judge_update_host(rel, 1);
     LOSE_ANSWER
  :: budget > 0 -> budget--; res = UNKNOWN; printf("EV lease %d: etcd request lost\n", l)
  fi
}

inline release_host() {
  if
  :: ho == l -> ho = 0
  :: ho == l && budget > 0 -> budget--
  :: ho != l -> skip
  fi
}

/* ======================= a daemon incarnation ======================= */
/* The daemon is a state machine (pc); every transition is one atomic step that contains at
 * most one interaction with etcd or Nova, so the interleavings are those of the real system
 * at the granularity of its store transactions and Nova calls. */

/* pc */
#define IDLE       0    /* EvacuationDaemon.SchedulerLoopAsync: StoreView.Claimable */
#define I_LOOP     1    /* InstanceRunner.LoopAsync: checkpoint, ObserveAsync + InstanceWorkflow.Decide */
#define I_WRITE    2    /* a guarded write of the instance record (PersistAsync / HandOverAsync) */
#define I_RESOLVE  3    /* its answer was lost: re-read and judge */
#define I_SEND     4    /* AttemptAsync: Session.IsValidFor(LeaseSafetyMargin), then EvacuateAsync */
#define I_ANSWER   5    /* AttemptAsync: the answer or the call's timeout, then AfterCall */
#define H_CLAIM    6    /* HostRunner.RunAsync: TryClaimHostAsync */
#define H_CRESOLVE 7
#define H_WRITE    9    /* CommitPlanAsync / WriteAsync (UpdateHostAsync) */
#define H_RESOLVE 10
#define GONE      11
#define I_SEND2   12    /* mutant MUT_CHECK_THEN_PAUSE only */

/* EvacuateAsync: the call leaves. Checked strictly (no second call while one may still be in
 * flight); with -DNOVA_S4 only Nova's side is checked (a second evacuate accepted while one runs). */
#ifndef NOVA_S4
#define SEND_CALL \
  assert(tr == 0 && tr2 == 0);   /* S4: never a second evacuate call while one is in flight */ \
  tr = l; ans[l] = A_WAIT; printf("EV lease %d (daemon %d): evacuate call sent (attempt %d)\n", l, d, c_att)
#else
#define SEND_CALL \
  assert(tr == 0 || tr2 == 0);   /* S4: three evacuate calls in flight at once */ \
  if :: tr == 0 -> tr = l :: else -> tr2 = l fi; ans[l] = A_WAIT; \
  printf("EV lease %d (daemon %d): evacuate call sent (attempt %d)\n", l, d, c_att)
#endif

/* kinds of instance writes */
#define W_CLAIM    1    /* ClaimAsync(update): not owned yet */
#define W_UPDATE   2    /* UpdateInstanceAsync(release: terminal) */
#define W_MINE     3    /* ClaimAsync found the key already ours: OwnedWriteAsync(release: false) */
#define W_HANDOVER 4    /* HandOverAsync: UpdateInstanceAsync(release: true) */
#define WREL (wm == W_HANDOVER || (wm == W_UPDATE && TERMINAL(n_st)))

inline restart(i) {
  alive[nextlease] = 1; dof[nextlease] = i; cur[i] = nextlease;
  printf("EV daemon %d started again with lease %d\n", i, nextlease);
  run daemon(i, nextlease);
  nextlease++
}

proctype daemon(byte d; byte l)
{
  byte pc;
  byte c_st, c_att, c_base;   /* InstanceRunner._current */
  bool own;                   /* InstanceRunner._own != null */
  byte n_st, n_att, n_base;   /* the record being written */
  byte wm, nx;                /* kind of that write, and where to go once it succeeded */
  byte step, res;
  bool stopping;              /* graceful stop (EvacuationDaemon.StopAsync) */
  byte hc_st, hn_st;          /* HostRunner._current.State and the state being written */
  bool hown;                  /* HostRunner._own != null */

/* the runner ends: RunAsync's finally hands an owned, unfinished record over */
#define INST_DONE \
  own = 0; c_st = 0; c_att = 0; c_base = 0; n_st = 0; n_att = 0; n_base = 0; \
  wm = 0; nx = 0; step = 0; res = 0; rfresh[l] = 0; rmine[l] = 0; \
  if \
  :: stopping -> \
     printf("EV lease %d (daemon %d): graceful stop, lease revoked\n", l, d); \
     if :: alive[l] -> expire(l); if :: nextlease <= NL -> restart(d) :: else fi :: else fi; \
     stopping = 0; pc = GONE   /* LeaseSession.RevokeAsync (then the daemon is started again) */ \
  :: else -> pc = IDLE \
  fi
#define INST_OUT \
  if \
  :: own && alive[l] && !TERMINAL(c_st) -> \
     n_st = c_st; n_att = c_att; n_base = c_base; wm = W_HANDOVER; nx = 0; res = 0; pc = I_WRITE \
  :: else -> INST_DONE \
  fi
/* what the runner does with a write's outcome (PersistAsync / ClaimAsync / HandOverAsync) */
#define INST_RESULT \
  if \
  :: wm == W_CLAIM && res == MINEWRITE -> wm = W_MINE; pc = I_WRITE \
  :: (wm == W_CLAIM || wm == W_MINE) && res == OK -> \
     own = 1; c_st = n_st; c_att = n_att; c_base = n_base; n_st = 0; n_att = 0; n_base = 0; res = 0; \
     if \
     :: TERMINAL(c_st) -> release_instance(); own = 0; INST_DONE \
     :: else -> pc = nx \
     fi \
  :: (wm == W_CLAIM || wm == W_MINE) && res != OK && res != MINEWRITE -> INST_OUT \
  :: wm == W_UPDATE && res == OK -> \
     c_st = n_st; c_att = n_att; c_base = n_base; n_st = 0; n_att = 0; n_base = 0; res = 0; \
     if \
     :: TERMINAL(c_st) -> own = 0; INST_DONE \
     :: else -> pc = nx \
     fi \
  :: wm == W_UPDATE && res != OK -> \
     if :: res == NOTOWNER || res == LEASELOST -> own = 0 :: else fi; \
     INST_OUT \
  :: wm == W_HANDOVER -> \
     if :: res != OK -> release_instance() :: else fi; \
     own = 0; INST_DONE \
  fi
#define HOST_DONE \
  if :: hown && alive[l] -> release_host() :: else fi; \
  hown = 0; hc_st = 0; hn_st = 0; res = 0; hfresh[l] = 0; hmine[l] = 0; pc = IDLE
#define HREL  (hn_st != H_EVACUATING)
#define HPLAN (hn_st == H_EVACUATING)
/* HostRunner.LoopAsync, right after the claim or the plan */
#define HOST_LOOP \
  if \
  :: !alive[l] -> HOST_DONE \
  :: alive[l] && hc_st == H_PLANNING -> hn_st = H_EVACUATING; pc = H_WRITE   /* force down, disable, plan */ \
  :: alive[l] && hc_st == H_EVACUATING && TERMINAL(r_st) ->                   /* DecideCompletion */ \
     hn_st = (r_st == FAILED -> H_FAILED : H_DONE); pc = H_WRITE \
  :: alive[l] && hc_st == H_EVACUATING && !TERMINAL(r_st) -> HOST_DONE       /* Wait: return, released */ \
  fi
#define HOST_RESULT \
  if \
  :: res == OK && HPLAN -> hc_st = H_EVACUATING; hn_st = 0; res = 0; HOST_LOOP \
  :: !(res == OK && HPLAN) -> hown = 0; HOST_DONE   /* ended and released, or refused: _own = null */ \
  fi

end_run:
  do
  /* ---------- the scheduler ---------- */
  :: atomic { pc == IDLE && !alive[l] -> pc = GONE }          /* Lost: all the daemon's work stops */
  :: atomic { pc == IDLE && alive[l] &&                       /* a workable host, unowned or "already mine" */
       (h_st == H_PLANNING || (h_st == H_EVACUATING && TERMINAL(r_st))) && (ho == 0 || ho == l) ->
       hc_st = h_st; hfresh[l] = 1; pc = H_CLAIM }            /* HostRunner.RunAsync: GetHostAsync */
  :: atomic { pc == IDLE && alive[l] &&                       /* a workable instance record */
       r_st != R_NONE && !TERMINAL(r_st) && (ro == 0 || ro == l) ->
       c_st = r_st; c_att = r_att; c_base = r_base; rfresh[l] = 1; pc = I_LOOP }   /* GetInstanceAsync */

  /* ---------- InstanceRunner.LoopAsync ---------- */
  :: atomic { pc == I_LOOP ->
       if
       :: !alive[l] -> INST_OUT                               /* lost.ThrowIfCancellationRequested() */
#ifndef NO_GRACEFUL
       :: alive[l] && own && budget > 0 && REPLACEABLE(d) ->  /* stopping: return at this checkpoint */
          budget--; stopping = 1; INST_OUT
#endif
       :: alive[l] ->
          decide();
          if
          :: step == S_WAIT && own -> skip                     /* DelayUntilAsync, then decide again */
          :: step == S_WAIT && !own ->                         /* ClaimAsync(null): the record as it is */
             n_st = c_st; n_att = c_att; n_base = c_base; wm = W_CLAIM; nx = I_LOOP; pc = I_WRITE
          :: step == S_WRITE -> wm = (own -> W_UPDATE : W_CLAIM); nx = I_LOOP; pc = I_WRITE
          :: step == S_START -> wm = (own -> W_UPDATE : W_CLAIM); nx = I_SEND; pc = I_WRITE   /* AttemptAsync: persist first */
          fi;
          step = 0;
          if :: pc == I_LOOP -> n_st = 0; n_att = 0; n_base = 0 :: else fi
       fi }
  :: atomic { pc == I_WRITE ->
       if
       :: wm == W_CLAIM -> claim_instance_txn()
       :: wm != W_CLAIM -> update_instance_txn(WREL)
       fi;
       if
       :: res == UNKNOWN -> pc = I_RESOLVE
       :: res != UNKNOWN -> INST_RESULT
       fi }
  :: atomic { pc == I_RESOLVE ->                              /* GuardedAsync/ClaimAsync: ReadPairAsync + judge */
       if
       :: wm == W_CLAIM -> judge_claim(0)
       :: wm != W_CLAIM -> judge_update(WREL, 0)
       fi;
       if
       :: res == RETRY -> pc = I_WRITE
       :: res != RETRY -> INST_RESULT
       fi }

  /* ---------- InstanceRunner.AttemptAsync: the call ---------- */
#ifndef MUT_CHECK_THEN_PAUSE
  :: atomic { pc == I_SEND ->
       if
       :: alive[l] ->                                         /* IsValidFor(LeaseSafetyMargin), EvacuateAsync */
          SEND_CALL; pc = I_ANSWER
       :: !alive[l] -> INST_OUT                               /* the lease is gone: IsValidFor is false */
       :: alive[l] && budget > 0 -> budget--; INST_OUT        /* valid, but not for the margin: no call */
       fi }
#else
  :: atomic { pc == I_SEND ->                                 /* mutant: the check ... */
       if
       :: alive[l] -> pc = I_SEND2
       :: !alive[l] -> INST_OUT
       fi }
  :: atomic { pc == I_SEND2 ->                                /* ... a pause ... then the send */
       SEND_CALL; pc = I_ANSWER }
#endif
  :: atomic { pc == I_ANSWER && (ans[l] != A_WAIT || budget > 0) ->
       if
       :: ans[l] != A_WAIT -> skip                            /* Nova answered */
       :: budget > 0 -> budget--; ans[l] = A_UNKNOWN;         /* EvacuateTimeout: the call may still land */
          printf("EV lease %d: evacuate call timed out (outcome unknown)\n", l)
       fi;
       after_call();                                          /* checkpoint 3 */
       wm = (own -> W_UPDATE : W_CLAIM); nx = I_LOOP; step = 0; pc = I_WRITE }

  /* ---------- HostRunner ---------- */
  :: atomic { pc == H_CLAIM ->
       claim_host_txn();
       if
       :: res == UNKNOWN -> pc = H_CRESOLVE
       :: res == OK -> hown = 1; res = 0; HOST_LOOP
       :: res != OK && res != UNKNOWN -> HOST_DONE
       fi }
  :: atomic { pc == H_CRESOLVE ->
       judge_claim_host(0);
       if
       :: res == RETRY -> pc = H_CLAIM
       :: res == OK -> hown = 1; res = 0; HOST_LOOP
       :: res != OK && res != RETRY -> HOST_DONE
       fi }
  :: atomic { pc == H_WRITE ->
       update_host_txn(HREL, HPLAN);
       if
       :: res == UNKNOWN -> pc = H_RESOLVE
       :: res != UNKNOWN -> HOST_RESULT
       fi }
  :: atomic { pc == H_RESOLVE ->
       judge_update_host(HREL, 0);
       if
       :: res == RETRY -> pc = H_WRITE
       :: res != RETRY -> HOST_RESULT
       fi }

  :: pc == GONE -> break
  od
}

/* ======================= the environment ======================= */


inline deliver(t) {
  printf("EV Nova: evacuate call of lease %d lands (newest migration status %d)\n", t, mst);
  assert(mst != M_RUNNING);   /* S4: a second evacuate while one is in flight (Nova breaks it) */
  assert(mst != M_DONE);      /* S4: no evacuate after the instance was rebuilt elsewhere */
  if
  :: nmig++; mst = M_RUNNING; if :: ans[t] == A_WAIT -> ans[t] = A_ACCEPTED :: else fi;  /* migration accepted */
     printf("EV Nova: accepted, migration %d running\n", nmig)
  :: if :: ans[t] == A_WAIT -> ans[t] = A_REJECTED :: else fi;                          /* 4xx: nothing started */
     printf("EV Nova: rejected (4xx)\n")
  fi;
  t = 0
}

inline lose(t) {
  printf("EV the evacuate call of lease %d is lost on the way\n", t);
  if :: ans[t] == A_WAIT -> ans[t] = A_UNKNOWN :: else fi;
  t = 0
}

/* leases (keepalive failures and restarts) and an abstract Nova */
active proctype env()
{
end_env:
  do
  /* a lease expires: crash, partition or pause of its daemon; the daemon starts again under a
   * new lease (same daemon id) while the old incarnation may still run as a zombie. (Starting
   * later adds nothing: a new incarnation does nothing observable before it picks work.) */
  :: atomic { budget > 0 && alive[cur[0]] && REPLACEABLE(0) -> budget--; expire(cur[0]);
              if :: nextlease <= NL -> restart(0) :: else fi }
  :: atomic { budget > 0 && alive[cur[1]] && REPLACEABLE(1) -> budget--; expire(cur[1]);
              if :: nextlease <= NL -> restart(1) :: else fi }
#if ND == 3
  :: atomic { budget > 0 && alive[cur[2]] && REPLACEABLE(2) -> budget--; expire(cur[2]);
              if :: nextlease <= NL -> restart(2) :: else fi }
#endif
  /* Nova: an evacuate call lands, or is lost on the way (the caller then times out) */
  :: atomic { tr != 0 -> deliver(tr) }
  :: atomic { tr != 0 && budget > 0 -> budget--; lose(tr) }
  :: atomic { tr2 != 0 -> deliver(tr2) }
  :: atomic { tr2 != 0 && budget > 0 -> budget--; lose(tr2) }
  /* the migration ends */
  :: atomic { mst == M_RUNNING -> mst = M_DONE; printf("EV Nova: migration %d done (rebuilt elsewhere)\n", nmig) }
  :: atomic { mst == M_RUNNING -> mst = M_FAILED; printf("EV Nova: migration %d failed\n", nmig) }
  od
}

/* the fence agent, and the daemon side of ReportFenced (FenceIntake.ReportAsync) */
active proctype fencer()
{
end_f:
  do
  :: acked -> break
  :: !acked ->
#ifdef MUT_ACK_BEFORE_COMMIT
     atomic {                                       /* mutant: answer first, commit after */
       if
       :: assert(h_st != H_NONE); acked = 1; printf("EV fencer: acknowledged\n")   /* S2 */
       :: budget > 0 -> budget--                    /* the answer is lost */
       fi
     };
     atomic {
       if
       :: h_st == H_NONE && ho == 0 -> h_st = H_PLANNING; CLEAR(hfresh); CLEAR(hmine); printf("EV host record committed (planning)\n")
       :: budget > 0 -> budget--                    /* the daemon dies before its commit */
       :: h_st != H_NONE -> skip
       fi
     }
#else
     atomic {
       if                                           /* GetHostAsync + FencePolicy.Decide */
       :: h_st == H_NONE && ho == 0 ->              /* Created: CommitFenceAsync (host absent, no owner) */
          h_st = H_PLANNING; CLEAR(hfresh); CLEAR(hmine); printf("EV fencer: host record committed (planning)\n")
       :: h_st == H_NONE && budget > 0 -> budget--  /* the commit is lost (or undecided): no answer */
       :: h_st != H_NONE -> skip                    /* Duplicate of the recorded fencing */
       fi;
       if
       :: h_st != H_NONE ->                         /* FenceOutcome Created/Duplicate: answer OK */
          if
          :: assert(h_st != H_NONE); acked = 1; printf("EV fencer: acknowledged\n")   /* S2: acknowledged only once committed */
          :: budget > 0 -> budget--                 /* the answer is lost: the agent reports again */
          fi
       :: else
       fi
     }
#endif
  od
}

init {
  atomic {
    alive[1] = 1; alive[2] = 1; dof[1] = 0; dof[2] = 1; cur[0] = 1; cur[1] = 2;
    run daemon(0, 1);
    run daemon(1, 2);
#if ND == 3
    alive[3] = 1; dof[3] = 2; cur[2] = 3;
    run daemon(2, 3)
#endif
  }
}

/* S5: the fencing is acknowledged, its record ends (done, failed or skipped), and so does the host */
ltl s5 { <> (acked && TERMINAL(r_st) && H_TERMINAL(h_st)) }
