/*
 * hanasr's election, lease, epoch, handover, self-fencing, watchdog and fence-agent protocol,
 * for spin. model/README.md maps every part of this file to the code and lists what is
 * abstracted. Checked by scripts/model-check.ts (`npm run model-check`).
 *
 * Properties (assertions, checked in every state a step can reach):
 *   P1 never two writers: at most one site can acknowledge a commit (WRITERS <= 1);
 *   P2 no lost acknowledged commit: a site that becomes primary by sr_takeover holds every
 *      commit acknowledged before (no DBA forced takeovers are modelled);
 *   P4 (only with -DMAINT) nothing in maintenance: no action starts that was decided while
 *      maintenance was on, while it is still on (the sim's nothing-in-maintenance, c876690);
 *   P3 (only with -DREACH_TAKEOVER) "no takeover ever happens": expected to FAIL, which shows
 *      that a takeover is reachable and the model is not safe because nothing moves.
 *
 * Time is a global tick (one agent cycle, probes.intervalSeconds + probes.timeoutSeconds);
 * every timer is a saturating age counter. A live agent completes at least one cycle between
 * two ticks, and its lease watchdog runs within the tick window in which it is due.
 *
 * Compile-time switches (all off by default; the runner sets them per configuration):
 *   N=2|3          sites
 *   HFREEZE        HANA hangs (agent alive): probes time out, commands wait for the thaw
 *   AGENTFAULTS    an agent process is killed (restarted later, or never) or freezes
 *   AGENTRESTART   an agent process crashes and is restarted at once (never stays down)
 *   NODEFREEZE     a whole node freezes (HANA and agent)
 *   STALL          a replication link gets slow (acks late, lag visible or unknown)
 *   SKEW           host clocks differ by up to one tick (clock.maxSkewSeconds)
 *   SKEWFIXED      with SKEW: only A's clock ahead by a tick (the worst case for readers of A)
 *   PLANNED        a DBA asks for a planned takeover (handover)
 *   WATCHDOG       node watchdog armed by the leader, fed by lease renewals
 *   FENCEAGENT     a secondary powers off the primary's node through a fence agent
 *   ASYNC          async replication (checks P1 only: async takeover loses commits by design)
 *   NOFAILSAFE     variant without the failsafe (see model/README.md: async + failsafe)
 *   MAXF=k         fault budget (default 3)
 *   ONLYA          faults of a site and lost messages only at A (the first primary), slow links
 *                  only into the others (the smaller configurations of the test)
 *   MAXL=k         message-loss budget (default 2)
 *   KEEPALIVE_APART the session keepalive may renew (or replace) the lease while the cycle's
 *                  read is lost, as its own timer does in the code (the regrant configurations)
 *   RESTART_FIRST  a takeover waits for the last leader's running agent to decide first in the
 *                  tick window (the timing of sim:fuzz 1318956004; without it: the restart race)
 *   TODAY_RESTART_RACE  no former_primary_stop_not_sent: a successor takes over next to a last
 *                  leader whose live agent cannot read its HANA and has not reported its stop of
 *                  it sent (the code before issue 12's fix, and with an agent of an earlier
 *                  version: finding-restart-race; without it: two-sites-restart-race)
 *   BYHAND         a DBA starts a stopped primary by hand (fence_rogue_primary); P1 then holds
 *                  outside the human's window (hw: until a whole cycle with hanasr in charge) and
 *                  P2 is not checked after such a start (the human's commits)
 *   MAINT          a DBA sets and clears maintenance mode at any time; P4: no action starts that
 *                  was decided in maintenance while it is still on; P1 not while it is on nor
 *                  within a cycle after it (mwin)
 *   P2ONLY         P1 not checked (configurations in the documented limit's ground: a primary
 *                  writes without its agent and no watchdog; P2 is what they check)
 *   TODAY_NO_MGEN  leaderMayBeInMaintenance from this agent's own spec reads only, without the
 *                  maintenance generation (the code before issue 12's fix: the finding
 *                  finding-maintenance-single-writer; without it: two-sites-maintenance)
 * Mutations (each must make spin report a counterexample; see scripts/model-check.ts):
 *   MUT_NO_CAS                  the leader key is taken without compare-and-set
 *   MUT_NO_SELF_FENCE           a leader that cannot renew its lease keeps running
 *   MUT_FAILSAFE_BLIND          the failsafe keeps a cut-off primary without seeing its peers
 *   MUT_SOK_ANY_EPOCH           a SOK record of an older term is trusted
 *   MUT_UNKNOWN_LAG_ZERO        an unknown lag is taken as zero lag (the code before issue 12)
 *   MUT_RELEASE_BEFORE_STOP     a failed primary hands on the key before its stop completed
 *   MUT_NO_EPOCH_RECHECK        start/register/promote without re-checking the epoch
 *   MUT_UNKNOWN_LOCAL_NOSTOP    a non-leader whose HANA state is unknown does nothing
 *   MUT_BLIND_PROMOTION         a failed handshake falls back to a plain takeover on an unknown peer
 *   MUT_NO_SKEW_ALLOWANCE       cross-host times compared without the skew bound
 *   MUT_WATCHDOG_TOO_LONG       the device fires later than the timeout the agent counts on
 *   MUT_FEED_WITHOUT_RENEWAL    the watchdog is fed while the agent process runs, renewed or not
 *   MUT_TRUST_UNCONFIRMED_FENCE a takeover proceeds after a fence that was not confirmed
 *   MUT_NO_INSYNC_RECHECK       a retried plain takeover is not asked the in-sync rule again
 *   MUT_UNKNOWN_KEY_LOST_WAIT   the last leader whose key ran out waits on an unknown local state
 *   MUT_NO_ROGUE_FENCE          the leader does not fence a writable primary no agent reports for
 *   MUT_ACT_IN_MAINTENANCE      agents act in maintenance mode
 *   LST=5                       the schema's bound ttl + 2 cycles < logShippingTimeout broken
 */

#ifndef N
#define N 2
#endif
#define NO 3            /* no site */
#define NUL 15          /* a null time (never) */

/* ---- timing, in ticks (1 tick = probes.intervalSeconds + probes.timeoutSeconds) ---- */
#define TTL 3           /* lease.ttlSeconds */
#define FENCE 2         /* 0.7 x TTL: FENCE_AFTER_TTL_FRACTION, rounded down */
#ifndef LST
#define LST 6           /* replication.logShippingTimeoutSeconds; TTL + 2 x CYC < LST */
/* (The schema now asks TTL + 3 x CYC + skew < LST, a liveness rule: 6 is shorter than it allows,
   which only makes commits alone come sooner, the harder case for P1 and P2.) */
#endif
#define CYC 1           /* cycleMs(spec): one cycle */
#define WDSPEC (TTL - 1) /* the device timeout the agent reads: <= TTL - safetyMarginSeconds */
#ifdef MUT_WATCHDOG_TOO_LONG
#define WD (TTL + 1)    /* the mutation: the device really fires later than the agent counts on */
#else
#define WD WDSPEC
#endif
#define AMAX 1          /* replication.asyncTakeoverMaxLagSeconds (ASYNC) */
#define MAXEP 3         /* terms explored: a compare-and-set beyond is refused */
#define FAULT (nf < MAXF)
#ifndef MAXF
#define MAXF 3
#endif

/*
 * ONLYA (the smaller configurations of the test): faults of a site and lost messages only at A,
 * the first primary, and slow replication only into the others; the store outage as always.
 */
#ifdef ONLYA
#define AT(s) ((s) == 0)
#define INTO(s) ((s) != 0)
#else
#define AT(s) true
#define INTO(s) true
#endif

#ifdef SKEW
#define SKMAX 1         /* the real skew between two hosts, at most the bound */
#define SKA 1           /* clock.maxSkewSeconds as the rules count it */
#ifdef MUT_NO_SKEW_ALLOWANCE
#define ALLOW 0
#else
#define ALLOW SKA
#endif
#else
#define SKMAX 0
#define ALLOW 0
#endif

/* ---- the local probe (HanaHealth, reduced) ---- */
#define H_UNK 0         /* probe failed or timed out: probeOk false, role none */
#define H_PW 1          /* primary, running, acceptsWrites */
#define H_PS 2          /* primary, running, suspended */
#define H_PD 3          /* primary, not running */
#define H_SR 4          /* secondary, running */
#define H_SD 5          /* secondary, not running */
#define ISPRI(x) ((x) == H_PW || (x) == H_PS || (x) == H_PD)
#define RUNNING(x) ((x) == H_PW || (x) == H_PS || (x) == H_SR)
/* failedProbes >= failureThreshold, with failureThreshold 1: the last probe failed */
#define FAILED(x) ((x) == H_UNK || (x) == H_PD || (x) == H_SD)

/* ---- a peer check (PeerView) ---- */
#define PV_UNR 0        /* not reachable / unknown */
#define PV_WPRI 1       /* acceptsWrites, its agent says primary */
#define PV_WX 2         /* acceptsWrites (SQL answers), agent silent or role none */
#define PV_PRI 3        /* reachable, role primary, not writable */
#define PV_SEC 4        /* reachable secondary */
#define PV_OTH 5        /* reachable, role none */
#define PVW(x) ((x) == PV_WPRI || (x) == PV_WX)

/* ---- sync records ---- */
#define R_NONE 0
#define R_SOK 1
#define R_SFAIL 2

/* ---- actions carried over from decide (phase 2) to act (phase 3) ---- */
#define A_NONE 0
#define A_FENCE 1       /* stop own HANA (no epoch needed: only removes a writer) */
#define A_PROMOTE 2     /* sr_takeover; aarg = handshake + 2 x planned; afrom = old primary */
#define A_STEPSTOP 3    /* stop own HANA, then release the key at aep */
#define A_START 4       /* aarg = restart */
#define A_REGISTER 5    /* register as secondary of afrom at aep */
#define A_ACQUIRE 6     /* compare-and-set on the key, expecting lastEpoch aep */
#define A_TAKEOVER 7    /* compare-and-set, then A_PROMOTE (aarg, afrom as for A_PROMOTE) */
#define A_FENCENODE 8   /* fence_rogue_primary: power afrom's node off and on again (FENCEAGENT) */

/* ================================ state ================================ */

/* HANA (src/hana/sim/model.ts) */
bit hup[N];             /* instance running */
bit hpri[N];            /* configured as primary (else secondary) */
bit hsusp[N];           /* suspended by a --suspendPrimary handshake */
byte hsrc[N];           /* a secondary's source site */
bit miss[N];            /* the site lacks a commit that was acknowledged */
bit sreq[N * N];        /* primary p waits for secondary j: p * N + j (syncRequired) */
byte dage[N * N];       /* ticks p has waited for j's acknowledgement */
bit hfrz[N];            /* HANA hung (HFREEZE) */
bit pstop[N];           /* a hard stop waits for the thaw */
byte ptko[N];           /* a takeover waits for the thaw: 1 plain, 2 handshake */
bit stall[N];           /* the link into this site is slow (STALL) */

/* nodes, network, store availability */
bit ndown[N];           /* node crashed (HANA and agent) */
bit nfrz[N];            /* node frozen (HANA and agent) */
bit iso[N];             /* site cut from the network (store, peers, replication) */
bit sdown;              /* store outage (no quorum): nothing expires */

/* coordination store (src/coordination/port.ts, memory.ts, etcd.ts) */
byte ldr;               /* leader key: site, or NO */
byte ep;                /* lastEpoch (the epoch of the current or last term) */
byte lastL;             /* lastLeader */
byte prevL = NO;        /* the leader of the term before lastL's (the code: that agent's memory, ledEpoch, or the store's lpe record, which outlives restarts as this does) */
byte hov;               /* handoverTo */
byte klease;            /* ticks left on the lease the leader key is bound to */
bit kcur;               /* the key is bound to its holder's current session lease */
byte lease[N];          /* ticks left on each agent session's lease (0: none) */
byte rst[N];            /* sync record of a site: R_NONE, R_SOK, R_SFAIL */
byte rep[N];            /* its epoch */
byte sconf;             /* age of the confirmedAt of the current SOK records (one write sets them all) */
byte rlag[N];           /* confirmedAt - contactAt in ticks, NUL = contact unknown */
bit rpon[N];            /* report present (bound to the agent's lease) */
byte rph[N];            /* report: health */
byte rlwd[N];           /* report: lastWritableAt, as lwd below */
byte rdnd[N];           /* report: first seen not writable, as dnd below */
byte rpob[N];           /* report: age of observedAt */
bit rpfen[N];           /* report: fenced */
bit rpss[N];            /* report: stopSent (a hard stop of the site sent, not known landed) */
byte rpsrc[N];          /* report: the source of a secondary */
byte itgt = NO;         /* a planned-takeover intent: target (PLANNED) */
byte iep;               /* its epoch */

/* agents (src/agent/agent.ts) */
bit alive[N];           /* the agent process exists */
bit afrz[N];            /* the agent process is frozen (AGENTFAULTS) */
byte ph[N];             /* cycle phase: 0 probe, 1 peers, 2 store+decide, 3 act */
bit cyc[N];             /* completed a cycle since the last tick */
bit wdn[N];             /* lease watchdog ran in this tick window */
bit fenced[N];
bit ssent[N];           /* a hard stop sent since the agent last read its HANA (stopSent) */
/*
 * lastWritableAt, relative: NUL = null; else lastWritableAt - confirmedAt of the current SOK
 * records in ticks, 0, 1, or 2 for 2 and more (only the term leader's value is ever compared
 * with the records, and only "> CYC" and "+ lag + CYC < LST" matter). Ticks age both alike.
 */
byte lwd[N];
/*
 * notWritableSince (src/domain/sync-trust.ts notWritableAfterProbe/notWritableAfterStop): since
 * the last writable probe, the first probe that found the instance down, or the agent's own
 * confirmed stop, whichever came first; relative like lwd: NUL = none since (it may still take
 * writes), else ticks after the confirmedAt of the current records, up to LST (see trust()).
 */
byte dnd[N];
byte ren[N];            /* age of session.lastRenewedAt (NUL = null), saturates at FENCE */
bit kb[N];              /* the session bound the key to its lease (acquire/seize), not released since */
bit rgr[N];             /* that lease ran out and a new one replaced it: ren stays that lease's */
bit mine[N];            /* leaderMine */
bit mw[N];              /* the last probe that answered saw a writable primary */
byte h[N];              /* last probe */
byte hsv[N];            /* source site seen by the last probe */
byte pa[N];             /* age of the last probe */
byte pv[N * N];         /* last peer checks: i * N + j */
byte lk[N * N];         /* links seen by the last probe: 0 SFAIL, 1 + lag SOK, NUL SOK lag unknown */
byte act[N];
byte aep[N];
byte asv[N];            /* the stuck handover an acquire or takeover is won over (NO: none) */
byte aarg[N];
byte afrom[N];
/*
 * agent.ts pendingTakeover (actions.ts): the old primary of the unplanned takeover this agent won
 * the key for and has not carried out yet (NO: none). Read only while this site holds the key,
 * whose epoch is then the one it won (the old primary's term: ep - 1).
 */
byte ptk[N];

/* node watchdog (WATCHDOG) and fence agents (FENCEAGENT) */
bit wdarm[N];
bit nofeed[N];          /* a stop of the own HANA failed (stopping 'failed'): not fed */
byte wdage[N];          /* ticks since the last feed (the device fires at WD) */
byte fsafe[N];          /* ticks since a failsafe decision + 1 (0: none within a cycle) */
byte fcon = NO;         /* a fence confirmed: the site whose node is off */
byte fcep;              /* the epoch the fence carried */

/* clock skew (SKEW): host offsets in ticks, fixed at start */
byte off[N];

/* a start by hand (BYHAND): ticks of the human's own window left, and the site started */
byte hw;
byte hws = NO;

/* maintenance mode (MAINT): the spec's flag, as each agent last read it, leaderMayBeInMaintenance,
   and the report's maintenance field */
bit mnt;
byte mwin;              /* ticks since maintenance went off, until hanasr had a cycle (2, 1, 0) */
bit byh;                /* a primary was started by hand (P2 excused: the human's commits) */
bit am[N];
bit lmm[N];
bit rpm[N];
/* the maintenance generation (issue 12; ClusterState.maintenanceGeneration, one more on every
   change, src/domain/maintenance-watch.ts), abstracted to what the rule compares: */
bit agc[N];             /* the spec agent i last read has the current generation */
bit rpg[N];             /* site i's report carries the current generation */
bit bfl[N];             /* maintenance changed since agent i's last read */
byte lrs[N];            /* the leader whose report agent i saw last (NO: none) */
bit lrg[N];             /* that report's generation is the one published at i's last read */
bit lrm[N];             /* that report said maintenance */
bit inm;                /* scratch: an action starts in maintenance (P4) */

/* fault budget and observers */
byte nf;
byte nl;                /* messages lost so far */
bit took;               /* a takeover happened (REACH_TAKEOVER only) */
#if defined(REACH_WONBACK) || defined(REACH_NEVERTOOK) || defined(REACH_RETRY)
bit rfh[N];             /* this decision took the path a REACH_WONBACK / REACH_NEVERTOOK / REACH_RETRY run looks for */
#define RFH(i, v) rfh[i] = v
#else
#define RFH(i, v) skip
#endif
#ifdef REACH_WONBACK
#define RFH_WONBACK(i) RFH(i, 1)
#else
#define RFH_WONBACK(i) skip
#endif
#ifdef REACH_NEVERTOOK
#define RFH_NEVERTOOK(i) RFH(i, 1)
#else
#define RFH_NEVERTOOK(i) skip
#endif
#ifdef REACH_RETRY
#define RFH_RETRY(i) RFH(i, 1)
#else
#define RFH_RETRY(i) skip
#endif

/* narration for trails (spin -t); scripts/model-check.ts numbers the ticks */
#define SAY(msg) printf("%c: ", 65 + i); printf(msg); printf("\n")

/* scratch, always back to 0 at the end of a step */
byte j_, k_, b_, c_, v_, p_, e_;
bit x_, y_, z_, l1, l2, l3, l4, lp, cont, lost, pl_;
byte writers;
int d_;

/* ============================ derived predicates ============================ */

#define OPER(i) (hup[i] && !hfrz[i] && !nfrz[i])
#define RUNA(i) (alive[i] && !afrz[i] && !nfrz[i])
#define NET(a, b) (!iso[a] && !iso[b])
#define STORE(i) (!sdown && !iso[i])
#define TCP(p, s) (hup[p] && hpri[p] && hup[s] && !hpri[s] && hsrc[s] == (p) && NET(p, s))
#define ACK(p, s) (TCP(p, s) && !hfrz[s] && !nfrz[s] && !stall[s])
#ifndef ASYNC
#define WAITS(p, s) (sreq[(p) * N + (s)] && !ACK(p, s))
#else
/* async: the primary never waits; dage is how long the link has not kept up (its lag) */
#define WAITS(p, s) false
#define LAGS(p, s) (TCP(p, s) && !ACK(p, s))
#endif
#if N == 2
#define BLOCKED(p) (WAITS(p, 0) || WAITS(p, 1))
#else
#define BLOCKED(p) (WAITS(p, 0) || WAITS(p, 1) || WAITS(p, 2))
#endif
#define WRITER(p) (OPER(p) && hpri[p] && !hsusp[p] && !BLOCKED(p))
#if N == 2
#define WRITERS (WRITER(0) + WRITER(1))
#else
#define WRITERS (WRITER(0) + WRITER(1) + WRITER(2))
#endif

#define INCTO(x, m) if :: (x) < (m) -> x++ :: else -> skip fi

/* A reading of another host's time: age as the reader's clock sees it. */
#ifdef SKEW
#define PERC(a, rd, wr) ((a) + off[rd] - off[wr])
#else
#define PERC(a, rd, wr) (a)
#endif

/*
 * watchdogFeed (src/domain/fencing.ts), as the feeder (agent.ts feedTick) applies it: not once a
 * stop of the own HANA failed while leading or while it may write; while leading (leaderMine, or
 * racing for the key) only in failsafe or within the lease bound of watchdogFeedAllowed: a feed
 * now must not keep the node up past lastRenewedAt + ttl (WDSPEC ticks of device timeout, fed in
 * the tick window of the renewal: ren = 0); while not leading, always. The session's
 * lastRenewedAt (ren) is the current session's (of the lease it bound the key to: renew()),
 * whatever lease a previous session of the site bound the key to.
 */
#define MAYW(i) (h[i] == H_PW || h[i] == H_PS || h[i] == H_UNK)
#define LEADING(i) (mine[i] || act[i] == A_ACQUIRE || act[i] == A_TAKEOVER)
#ifndef MUT_FEED_WITHOUT_RENEWAL
#define FEEDOK(i) (!(nofeed[i] && (LEADING(i) || MAYW(i))) && \
  (!LEADING(i) || fsafe[i] > 0 || (ren[i] != NUL && ren[i] + WDSPEC < TTL)))
#else
/* the mutation: the watchdog fed as a sign of life of the agent process, renewed or not */
#define FEEDOK(i) true
#endif

/*
 * BYHAND: hanasr in charge of the site started by hand: a leader running and connected, holding
 * the key on its session, its primary running, no store outage or maintenance, and the site's
 * agent running or its report gone (then the leader's rogue rule sees it).
 */
#define CHARGE (!sdown && ldr != NO && kcur && RUNA(ldr) && OPER(ldr) && hpri[ldr] && !iso[ldr] && \
  !iso[hws] && !mnt && (RUNA(hws) || !rpon[hws]))

/* the end of every step: P1, and a link that acknowledges has no wait running */
inline check() {
#ifdef BYHAND
  if :: hw > 0 && !CHARGE -> hw = 2 :: else -> skip fi;   /* out of charge: the window starts again */
#endif
#ifndef P2ONLY
  writers = WRITERS;
#if !defined(BYHAND) && !defined(MAINT)
  assert(writers <= 1);   /* P1: never two writers */
#else
  /* P1 while hanasr is in charge: not within the human's own window after a start by hand (hw),
     nor in maintenance or within a cycle after it (mwin) */
  assert(writers <= 1 || hw > 0 || mnt || mwin > 0);
#endif
  writers = 0;
#endif
  for (k_ : 0 .. N * N - 1) {
    if
#ifndef ASYNC
    :: dage[k_] > 0 && !WAITS(k_ / N, k_ % N) -> dage[k_] = 0
#else
    :: dage[k_] > 0 && !LAGS(k_ / N, k_ % N) -> dage[k_] = 0
#endif
    :: else -> skip
    fi
  }
  k_ = 0
}

/* ============================== HANA actions ============================== */

inline hana_down(s) {
  hup[s] = 0;
  hsusp[s] = 0;
  for (k_ : 0 .. N - 1) {
    sreq[s * N + k_] = 0;
    dage[s * N + k_] = 0
  }
  k_ = 0
}

/* hdbnsutil -sr_takeover on site t (a running secondary); hs: --suspendPrimary */
inline become_primary(t) {
  printf("%c: sr_takeover done: %c is primary (it misses an acknowledged commit: %d)\n", 65 + t, 65 + t, miss[t]);
#ifndef REACH_TAKEOVER
#ifndef ASYNC
  lost = miss[t] && !byh;
  assert(!lost);          /* P2: the promoted site holds every acknowledged commit (BYHAND: not
                             after a start by hand, whose commits are the human's doing) */
  lost = 0;
#endif
#else
  took = 1;
  assert(!took);          /* REACH_TAKEOVER: fails once a takeover is reachable (expected) */
#endif
#ifdef REACH_SILENT
  took = (aarg[t] / 4) & 1;
  assert(!took);          /* REACH_SILENT: fails once a takeover from a silent primary is reachable */
  took = 0;
#endif
  hpri[t] = 1;
  hsusp[t] = 0;
  hsrc[t] = NO;
  ptk[t] = NO;
#ifndef MUT_SOK_ANY_EPOCH
  /* its own record of the old term is never read again (state-space reduction, as in cas) */
  rst[t] = R_NONE; rep[t] = 0; rlag[t] = NUL;
#endif
  for (k_ : 0 .. N - 1) {
    sreq[t * N + k_] = 0;
    dage[t * N + k_] = 0
  }
  k_ = 0
}

/* The handshake: suspend the old primary and ship all its log first. Sets x_ = 1 on success. */
inline suspend_and_ship(t) {
  p_ = hsrc[t];
  x_ = 0;
  if
  :: p_ != NO && NET(t, p_) && OPER(p_) && hpri[p_] ->
     printf("%c: --suspendPrimary suspends %c and ships its log\n", 65 + t, 65 + p_);
     hsusp[p_] = 1;
     miss[t] = miss[p_];
     x_ = 1
  :: else -> skip
  fi;
  p_ = 0
}

/* ============================ coordination store ============================ */

/*
 * session.renew(): keepalive; a lease that ran out is replaced (nothing bound to it survives).
 * lastRenewedAt (ren) is the renewal of the lease the key is bound to (port.ts lastRenewedAt(),
 * memory.ts/etcd.ts keyLease): once the lease this session bound the key to ran out, a grant or a
 * keepalive of the lease that replaced it is no renewal of it; a key bound again (cas) counts from
 * the current lease, whose last renewal is TTL - lease[i] ticks old (or less, after a store outage
 * extended it: a fresher ren than the code's, which only lets the model do more).
 */
inline renew(i) {
#ifndef TODAY_REGRANT_RENEWS
  if
  :: lease[i] == 0 && kb[i] -> rgr[i] = 1
  :: lease[i] > 0 && rgr[i] -> skip
  :: else -> ren[i] = 0
  fi;
#else
  ren[i] = 0;
#endif
  lease[i] = TTL;
  if
  :: ldr == i && kcur -> klease = TTL
  :: else -> skip
  fi
}

/* ensureLease(): a session without a live lease grants one */
inline ensure_lease(i) {
  if
#ifndef TODAY_REGRANT_RENEWS
  :: lease[i] == 0 && kb[i] -> lease[i] = TTL; rgr[i] = 1
  :: lease[i] == 0 && !kb[i] -> lease[i] = TTL; ren[i] = 0
#else
  :: lease[i] == 0 -> lease[i] = TTL; ren[i] = 0
#endif
  :: else -> skip
  fi
}

/* ================================ sync trust ================================ */

/*
 * Is candidate c's last sync record a trustworthy SOK for a promotion from primary p, as reader
 * rd sees it? view: 0 self (the primary's own agent: rd == p), 1 report, 2 silent; te: the
 * epoch of the primary's term (the records it wrote: ep, or ep - 1 for a retried promotion).
 * (src/domain/decide.ts syncTrust, with issue 12's rules: contact known, report freshness, skew.)
 * Result in y_. Uses d_, v_.
 */
inline trust(rd, c, p, view, te) {
  y_ = 0;
  if
  :: rst[c] != R_SOK -> skip
#ifndef MUT_SOK_ANY_EPOCH
  :: rst[c] == R_SOK && rep[c] != te -> skip
#endif
  :: else ->
     if
     :: rlag[c] == NUL -> skip   /* the replication contact is unknown */
#ifdef ASYNC
     :: rlag[c] != NUL && rlag[c] > AMAX -> skip   /* asyncTakeoverMaxLagSeconds exceeded */
#endif
     :: else ->
        /* v_: 1 = the primary's last writable moment is known (lw age in d_) */
        v_ = 0;
        if
        :: view == 0 && lwd[rd] != NUL -> v_ = 1; d_ = lwd[rd]; e_ = dnd[rd]
        :: view == 1 && rlwd[p] != NUL && PERC(rpob[p], rd, p) + ALLOW <= CYC -> v_ = 1; d_ = rlwd[p]; e_ = rdnd[p]
        /* 3, 4: the primary's own memory judged as its heir would judge a report of it made now
           (3) or a tick old (4; the code: an interval old): the heir may read either (decide.ts heirViews) */
        :: view == 3 && lwd[rd] != NUL && ALLOW <= CYC -> v_ = 1; d_ = lwd[rd]; e_ = dnd[rd]
        :: view == 4 && lwd[rd] != NUL && CYC + ALLOW <= CYC -> v_ = 1; d_ = lwd[rd]; e_ = dnd[rd]
        :: else -> skip
        fi;
        if
        :: v_ == 0 ->
           /* unknown: trusted while now + allowance < contact + LST */
           if
           :: view == 0 -> y_ = (sconf + rlag[c] < LST)
#ifndef TODAY_SILENT_NO_MARGIN
           /*
            * PROPOSED (found by this model): a primary that is silent to us may still run (the
            * failsafe keeps it while it sees its peers): it needs a cycle to see the new key,
            * so the takeover must come a cycle before it could commit alone.
            */
           :: else -> y_ = (PERC(sconf + rlag[c], rd, p) + ALLOW + CYC < LST)
#else
           :: else -> y_ = (PERC(sconf + rlag[c], rd, p) + ALLOW < LST)
#endif
           fi
        :: else ->
           /* known, both times on the primary's clock: d_ = lastWritable - confirmedAt */
#ifndef TODAY_CYCLE_BOUND
           /*
            * The end of its writes is the moment it was known to take none (e_: its instance
            * seen down, or its stop confirmed), not "the last writable probe + one cycle": the
            * next probe comes an interval after the end of a cycle of any length (found by this
            * model, finding-cycle-bound). While nothing shows it stopped it may be writing now:
            * as for a silent primary (found by this model with probes that time out,
            * finding-unknown-probe); its own agent keeps at least a cycle after its last write.
            */
           if
           :: e_ != NUL -> y_ = (d_ <= CYC && e_ + rlag[c] < LST)
#ifndef TODAY_UNKNOWN_PROBE_NOT_WRITING
           :: e_ == NUL && view == 0 -> y_ = (d_ <= CYC && (d_ + CYC > sconf -> d_ + CYC : sconf) + rlag[c] < LST)
           :: e_ == NUL && view != 0 -> y_ = (d_ <= CYC && PERC(sconf + rlag[c], rd, p) + ALLOW + CYC < LST)
#else
           :: e_ == NUL -> y_ = (d_ <= CYC && d_ + rlag[c] + CYC < LST)
#endif
           fi;
#else
           y_ = (d_ <= CYC && d_ + rlag[c] + CYC < LST);
#endif
           e_ = 0
        fi;
        v_ = 0;
        d_ = 0
     fi
  fi
}

/*
 * takeoverCandidates(p)[0] as reader rd sees it, into b_ (NO: none). Health of rd itself comes
 * from its probe, of others from their reports.
 */
inline best_candidate(rd, p, view) {
  b_ = NO;
  for (c_ : 0 .. N - 1) {
    if
    :: b_ == NO && c_ != p ->
       if
       :: (c_ == rd && h[rd] == H_SR && hsv[rd] == p) ||
          (c_ != rd && rpon[c_] && rph[c_] == H_SR && rpsrc[c_] == p) ->
          trust(rd, c_, p, view, ep);
          if
          :: y_ -> b_ = c_
          :: else -> skip
          fi;
          y_ = 0
       :: else -> skip
       fi
    :: else -> skip
    fi
  }
  c_ = 0
}

/*
 * The heir a stopped last leader leaves the key to (decideWithoutLeader, waiting_for_takeover),
 * into b_: a candidate in sync by its own view (0) and as the heir would judge its report made
 * now (3) or a tick old (4; the code: an interval), the skew bound and a cycle against trust (sim:fuzz 1050048263: the
 * heir's reads kept missing the moments a report was fresh). Before, view 0 alone: with the skew bound
 * above a cycle the heir refused while the old primary waited for it (e2e region switchover); a
 * liveness fault, so no configuration here keeps the older rule: this checks that the key taken
 * back in those states breaks no safety property.
 */
inline common_heir(i) {
  b_ = NO;
  for (c_ : 0 .. N - 1) {
    if
    :: b_ == NO && c_ != i && rpon[c_] && rph[c_] == H_SR && rpsrc[c_] == i ->
       trust(i, c_, i, 0, ep);
       if
       :: y_ -> trust(i, c_, i, 3, ep)
       :: else -> skip
       fi;
       if
       :: y_ -> trust(i, c_, i, 4, ep)
       :: else -> skip
       fi;
       if
       :: y_ -> b_ = c_
       :: else -> skip
       fi;
       y_ = 0
    :: else -> skip
    fi
  }
  c_ = 0
}

/*
 * Maintenance (MAINT): decide() returns no action while the spec of the cycle says maintenance
 * (MNT(i)); the mutation MUT_ACT_IN_MAINTENANCE acts anyway. P4 (MAINTOK): no action starts whose
 * decision was made in maintenance while maintenance is still on (the sim's checker, c876690).
 */
/*
 * leaderMayBeInMaintenance (maintenance-watch.ts leaderMayBeInMaintenance()): where this agent saw
 * a report of the last leader, that report decides: it said maintenance or carries an older
 * generation than the published one. Without one, this agent's own reads (lmm: it read
 * maintenance on itself). Before, lmm counted as well, and a leader that stepped down in its first
 * cycle after maintenance off left its secondary waiting for ever (sim:fuzz 970000179).
 * TODAY_NO_MGEN: the older rule alone (the finding).
 */
#ifdef TODAY_NO_MGEN
#define LMM(i) lmm[i]
#else
#define LMM(i) ((lrs[i] == lastL && lastL != i) -> (lrm[i] || !lrg[i]) : lmm[i])
#endif
/* a change of maintenance: one more generation; every read and report of it is older now */
#define MGEN_STEP() \
  for (j_ : 0 .. N - 1) { agc[j_] = 0; rpg[j_] = 0; bfl[j_] = 1 }; \
  j_ = 0

#if defined(MAINT) && !defined(MUT_ACT_IN_MAINTENANCE)
#define MNT(i) am[i]
#else
#define MNT(i) false
#endif
#ifdef MAINT
#define P4(i) inm = (am[i] && mnt); assert(!inm); inm = 0
#else
#define P4(i) skip
#endif

/*
 * fence_rogue_primary (decide.ts decideFenceRogueWriter): the healthy leader sees another site
 * answer as a writable primary (its SQL port) and no report of an agent for it.
 */
#define ROGUEJ(i, j) ((j) != (i) && PVW(pv[(i) * N + (j)]) && !rpon[j])
#if defined(FENCEAGENT) && !defined(MUT_NO_ROGUE_FENCE)
#define ROGUE_ANY(i) (ROGUEJ(i, 0) || ROGUEJ(i, 1) || ROGUEJ(i, N - 1))
#else
#define ROGUE_ANY(i) false
#endif

/* ================================ decide ================================ */

/* decideWithoutStore: may this site write, and is the lease overdue without the failsafe? */
inline decide_without_store(i) {
  /* mayWrite: a primary, or a probe that failed on a site last seen writable; a leader's failed
     probe counts only with a lease it renewed (leaseAgeMs), a non-leader's always: only a
     leader's lease can vouch for a primary (74481d4) */
  x_ = (h[i] == H_PW || h[i] == H_PS || (h[i] == H_UNK && lwd[i] != NUL && (ren[i] != NUL || !mine[i])));
  if
  :: x_ && !mine[i] ->
     /* not_leader_store_unreachable: the site did not hold the key at its last store read; no
        failsafe and no lease bound for it: stop its primary at once */
     act[i] = A_FENCE; SAY("store unreachable, does not hold the key, may be writing: stop (not_leader_store_unreachable)")
  :: !x_ && h[i] == H_UNK && !mine[i] ->
     /* the same rule for an agent that has read no probe of its site since it started (the
        code: lastKnownRole unknown; sim:fuzz 1140014018). The model keeps no such memory, so a
        non-leader that cannot read its site may stop it here or not: both are the code's. */
     if
     :: act[i] = A_FENCE; SAY("store unreachable, no key, own state never read since the agent started: stop (not_leader_store_unreachable)")
     :: skip
     fi
  :: x_ && mine[i] ->
     z_ = 1;
#ifdef NOFAILSAFE
     z_ = 0;   /* variant: no failsafe, a leader that cannot renew always fences */
#endif
#ifndef MUT_FAILSAFE_BLIND
     for (j_ : 0 .. N - 1) {
       if
       :: j_ != i && pv[i * N + j_] != PV_SEC -> z_ = 0
       :: else -> skip
       fi
     }
     j_ = 0;
#endif
     if
     :: z_ ->
        SAY("store unreachable, every peer a reachable secondary: keep running (failsafe)");
#ifdef WATCHDOG
        /* the feeder may feed for a cycle after a failsafe decision (a store outage alone must
           not reset the node): watchdogFeed's failsafe */
        fsafe[i] = 1;
#endif
        skip
#ifndef MUT_NO_SELF_FENCE
     :: !z_ && (ren[i] == NUL || ren[i] >= FENCE) -> act[i] = A_FENCE; SAY("lease not renewed in time and not every peer is a reachable secondary: fence (lease_not_renewed)")
#endif
     :: else -> skip
     fi;
     z_ = 0
  :: else -> skip
  fi;
  x_ = 0
}

inline decide_as_leader(i) {
  if
#ifndef MUT_NO_SELF_FENCE
  /* decideAsLeader: an overdue lease fences a primary that may be writing (mayBeWriting) */
  :: ren[i] != NUL && ren[i] >= FENCE && MAYW(i) -> act[i] = A_FENCE; SAY("leader lease not renewed in time: fence")
#endif
  :: else ->
     if
     :: h[i] == H_SR || h[i] == H_SD ->
        /* promote_after_acquiring_leader (handshake on: takeover.handshake defaults to true) */
        x_ = (hov == i);
        for (j_ : 0 .. N - 1) {
          if
          :: j_ != i && (PVW(pv[i * N + j_]) || pv[i * N + j_] == PV_PRI) -> x_ = 1
          :: else -> skip
          fi
        }
        j_ = 0;
        /* the same takeover as the one that won the key (pendingTakeover): aarg 8 = retried; a
           key of a previous session of this site (the agent restarted: no pendingTakeover; only
           with TODAY_ORPHAN_KEY_MINE, the code's key-is-mine rule) names the site this one
           replicates from, the old term ep - 1 (actions.ts 'promote', issue 12) */
        k_ = (ptk[i] != NO -> ptk[i] : (!kcur && hsv[i] != NO && hsv[i] != i -> hsv[i] : NO));
        act[i] = A_PROMOTE; aep[i] = ep; aarg[i] = x_ + (k_ != NO -> 8 : 0); afrom[i] = k_;
        k_ = 0;
        SAY("holds the key as a secondary: promote (promote_after_acquiring_leader)");
        x_ = 0
     :: h[i] == H_PW && ROGUE_ANY(i) ->
        afrom[i] = (ROGUEJ(i, 0) -> 0 : (ROGUEJ(i, 1) -> 1 : N - 1));
        act[i] = A_FENCENODE; aep[i] = ep;
        printf("%c: %c answers as a writable primary and no agent reports for it: fence its node (fence_rogue_primary)\n", 65 + i, 65 + afrom[i])
     :: h[i] == H_PW && !ROGUE_ANY(i) ->
#ifdef PLANNED
        /* decideHealthyLeader: a planned takeover intent */
        if
        :: itgt != NO && (iep != ep || itgt == i) -> itgt = NO; SAY("planned takeover refused (stale epoch or already primary)")
        :: itgt != NO && iep == ep && itgt != i && !MNT(i) ->
           if
           :: rpon[itgt] && rph[itgt] == H_SR && rpsrc[itgt] == i ->
              trust(i, itgt, i, 0, ep);
              if
              :: y_ ->
                 /* step-down with handover: release the key naming the successor */
                 if
                 :: !l3 && kcur -> ldr = NO; hov = itgt; mine[i] = 0; kb[i] = 0; printf("%c: planned takeover: releases the key for %c\n", 65 + i, 65 + itgt)
                 :: else -> skip
                 fi
              :: else -> itgt = NO; SAY("planned takeover refused: target not in sync")
              fi;
              y_ = 0
           :: else -> itgt = NO; SAY("planned takeover refused: target not ready")
           fi
        :: else -> skip
        fi
#else
        skip
#endif
     :: fenced[i] && (h[i] == H_PS || h[i] == H_PD) ->
        act[i] = A_START; aep[i] = ep; aarg[i] = 0; SAY("still the leader after fencing: start again (unfence_still_leader)")
     :: h[i] == H_UNK || (h[i] == H_PD && !fenced[i]) ->
        /* failed primary: hand over to an in-sync secondary, else restart locally */
        best_candidate(i, i, 0);
        if
        :: b_ != NO -> act[i] = A_STEPSTOP; aep[i] = ep; printf("%c: primary failed, %c in sync: stop and release the key (primary_failed_takeover)\n", 65 + i, 65 + b_)
        :: else -> act[i] = A_START; aep[i] = ep; aarg[i] = 1; SAY("primary failed, no secondary in sync: restart locally")
        fi;
        b_ = 0
     :: else -> skip
     fi
  fi
}

inline decide_under_other_leader(i) {
  if
  :: h[i] == H_PW || h[i] == H_PS -> act[i] = A_FENCE; printf("%c: runs as primary but %c holds the key: fence (leader_key_held_by_other)\n", 65 + i, 65 + ldr)
  :: h[i] == H_UNK ->
#ifndef MUT_UNKNOWN_LOCAL_NOSTOP
     act[i] = A_FENCE; SAY("own HANA state unknown under another leader: hard stop (local_state_unknown)")
#else
     skip
#endif
  :: h[i] == H_PD ->
     /* decideFormerPrimary: register when the leader is a running primary (automatedRegister) */
     if
     :: rpon[ldr] && rph[ldr] == H_PW -> act[i] = A_REGISTER; aep[i] = ep; afrom[i] = ldr; aarg[i] = 0; SAY("former primary: register as secondary")
     :: else -> skip
     fi
  :: h[i] == H_SD -> act[i] = A_START; aep[i] = ep; aarg[i] = 0; SAY("secondary down: start it")
  :: h[i] == H_SR && hsv[i] != ldr ->
     /* reregister_to_new_source (online) */
     if
     :: rpon[ldr] && rph[ldr] == H_PW -> act[i] = A_REGISTER; aep[i] = ep; afrom[i] = ldr; aarg[i] = 1; SAY("secondary of the old source: register with the new primary (online)")
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* compare-and-set on the leader key (acquireLeader); x_ = 1 when won */
/* the report of site s shows a stopped secondary (the code also wants no direct check finding it running) */
/* deadHandover(): a stopped secondary, or a stopped primary while the decider is a writable one */
#define HDEAD(s, i) (rpon[s] && (rph[s] == H_SD || (rph[s] == H_PD && h[i] == H_PW)))

inline cas(i, expected) {
  x_ = 0;
#ifndef MUT_NO_CAS
  if
  :: STORE(i) && !l1 && ldr == NO && ep == expected && (hov == NO || hov == i || (asv[i] != NO && hov == asv[i])) && ep < MAXEP ->
#else
  if
  :: STORE(i) && !l1 && ep < MAXEP && ldr != i ->
#endif
     ensure_lease(i);
     ldr = i; ep++; prevL = lastL; lastL = i; hov = NO; kcur = 1; klease = lease[i];
#ifndef TODAY_REGRANT_RENEWS
     /* the key is bound to the current lease: its renewals are the key's from now on */
     if
     :: rgr[i] -> ren[i] = (TTL - lease[i] > FENCE -> FENCE : TTL - lease[i]); rgr[i] = 0
     :: else -> skip
     fi;
     kb[i] = 1;
#endif
     /* a new term: its first sync write happens at a writable probe (d = 0 then) */
     if :: lwd[i] != NUL -> lwd[i] = 0 :: else -> skip fi;
     dnd[i] = NUL;
     fcon = NO; fcep = 0;
#ifndef MUT_SOK_ANY_EPOCH
     /* records of older terms are never trusted again: forget them (state-space reduction) */
     for (k_ : 0 .. N - 1) {
       if
       /* the winner of an unplanned takeover keeps its own: a retried promotion asks again */
       :: k_ == i && act[i] == A_TAKEOVER && !(aarg[i] & 2) -> skip
       :: else -> rst[k_] = R_NONE; rep[k_] = 0; rlag[k_] = NUL
       fi
     }
     k_ = 0;
#endif
     /* pendingTakeover: set by an unplanned takeover, dropped by a plain acquire */
     ptk[i] = (act[i] == A_TAKEOVER && !(aarg[i] & 2) -> afrom[i] : NO);
     printf("%c: wins the leader key, epoch %d\n", 65 + i, ep);
#ifdef REACH_WONBACK
     took = (asv[i] != NO && rfh[i]);
     assert(!took);      /* REACH_WONBACK: fails once the key is won back over a refused handover */
#endif
#ifdef REACH_NEVERTOOK
     took = rfh[i];
     assert(!took);      /* REACH_NEVERTOOK: fails once a stopped primary takes the key after a last leader that never took over */
#endif
#ifdef REACH_RETRY
     took = rfh[i];
     assert(!took);      /* REACH_RETRY: fails once a last leader that never took over takes the key again */
#endif
     mine[i] = 1;
     x_ = 1
  :: else -> skip
  fi;
  asv[i] = NO
}

#define FENCED_LAST (fcon == lastL && fcep == ep)

/*
 * RESTART_FIRST: the timing of sim:fuzz 1318956004, where the last leader's running agent (just
 * restarted) decided first after its key ran out: a takeover waits for that agent's cycle in the
 * same tick window. Without it the successor may decide first (model/README.md,
 * local_state_unknown_key_lost: the race that remains).
 */
#ifdef RESTART_FIRST
#define LASTFIRST (!RUNA(lastL) || cyc[lastL])
#else
#define LASTFIRST true
#endif

inline decide_without_leader(i) {
  /* a handover to a site whose report shows it stopped, a secondary, or a primary while this
     site takes writes, can never complete (decide.ts deadHandover): the rules go on without it,
     and the key is won over it */
  RFH(i, 0);
  if
  :: hov != NO && hov != i && HDEAD(hov, i) -> asv[i] = hov
  :: else -> asv[i] = NO
  fi;
  /* refusedHandover (decide.ts): the site that handed over (the last leader) still takes writes
     and its target may refuse the key as it judges a report of it made now or a tick old (trust
     views 3 and 4: the primary wrote after the SOK, no SOK of this term, the contact too old for a
     stale report): the key is won back over it. Before, it
     waited for ever (sim:fuzz 1010002825); reach-handover-won-back shows the path is taken. */
  if
  :: asv[i] == NO && hov != NO && hov != i && lastL == i && h[i] == H_PW ->
     trust(i, hov, i, 3, ep);
     if
     :: y_ -> trust(i, hov, i, 4, ep)
     :: else -> skip
     fi;
     if
     :: !y_ -> asv[i] = hov; RFH_WONBACK(i)
     :: else -> skip
     fi;
     y_ = 0
  :: else -> skip
  fi;
  if
  :: ISPRI(h[i]) && (lastL == NO || lastL == i) ->
     /* bootstrap/reacquire: the primary takes the free key */
     x_ = 1;
     if
     :: hov != NO && hov != i && asv[i] == NO -> x_ = 0           /* handover_to_other */
     :: else -> skip
     fi;
     for (j_ : 0 .. N - 1) {
       if
       :: j_ != i && rpon[j_] && rph[j_] == H_PW -> x_ = 0   /* another_primary_running */
       :: else -> skip
       fi
     }
     j_ = 0;
     if
     :: x_ && h[i] == H_PD ->
        common_heir(i);
        if
        :: b_ != NO -> x_ = 0                     /* waiting_for_takeover */
        :: else -> skip
        fi;
        b_ = 0
     :: else -> skip
     fi;
     if
     :: x_ -> act[i] = A_ACQUIRE; aep[i] = ep; SAY("primary and the key is free: acquire it")
     :: else -> skip
     fi;
     x_ = 0
  :: ISPRI(h[i]) && lastL != NO && lastL != i && (h[i] == H_PW || h[i] == H_PS) ->
     act[i] = A_FENCE; SAY("runs as primary but another site was the last leader: fence (stale_primary)")
  :: h[i] == H_PD && lastL != NO && lastL != i && prevL == i && rpon[lastL] && rph[lastL] == H_SD &&
     pv[i * N + lastL] == PV_UNR ->
     /* last_leader_never_took_over: this site led the term before the last leader's, whose agent
        reads it a stopped secondary (a stopped secondary cannot be mid-takeover): its term made
        no primary, this site takes the key and, as leader, starts itself (sim:fuzz 980006877) */
     x_ = 1;
     for (j_ : 0 .. N - 1) {
       if
       :: j_ != i && ((rpon[j_] && rph[j_] == H_PW) || PVW(pv[i * N + j_])) -> x_ = 0   /* otherWriter */
       :: else -> skip
       fi
     }
     j_ = 0;
     if
     :: x_ -> act[i] = A_ACQUIRE; aep[i] = ep; RFH_NEVERTOOK(i); SAY("the last leader never took over: acquire the key (last_leader_never_took_over)")
     :: else -> skip
     fi;
     x_ = 0
  :: h[i] == H_SR && lastL == i && prevL != NO && prevL != i && hsv[i] == prevL &&
     (hov == NO || (hov != i && asv[i] != NO)) && rpon[prevL] && rph[prevL] == H_PD &&
     pv[i * N + prevL] == PV_UNR ->
     /*
      * The last leader never took over (its promotion failed, its agent died, its node froze)
      * and runs as a secondary of the leader of the term before, whose agent reads it a stopped
      * primary and whose SQL port does not answer (decide.ts decideLastLeaderSecondary; sim:fuzz
      * 1070098632, 1050017408: everybody waited for ever). Next to no writer it takes the key
      * again: in sync by the records of the term before (ep - 1), it retries its takeover
      * (last_leader_retries_takeover, aarg 0); otherwise, and here also when in sync (the code
      * hands back when it is no takeover candidate), it takes the key to hand it back at once
      * (last_leader_hands_back): aarg 8, a retried plain promotion, whose RECHECK (ep - 1 of the
      * new key, a term it has no record of) refuses and hands the key to afrom, as the code's
      * hand-back action does (handBackOrKeep).
      */
     x_ = 1;
     for (j_ : 0 .. N - 1) {
       if
       :: j_ != i && ((rpon[j_] && rph[j_] == H_PW) || PVW(pv[i * N + j_])) -> x_ = 0   /* otherWriter */
       :: else -> skip
       fi
     }
     j_ = 0;
     if
     :: x_ ->
        trust(i, i, prevL, 1, ep - 1);
        if
        :: y_ -> aarg[i] = 0
        :: true -> aarg[i] = 8
        fi;
        y_ = 0;
        afrom[i] = prevL;
        act[i] = A_TAKEOVER; aep[i] = ep; RFH_RETRY(i);
        printf("%c: the last leader never took over: takes the key again (%d: 0 retries the takeover from %c, 8 hands the key back to it)\n", 65 + i, aarg[i], 65 + prevL)
     :: else -> skip
     fi;
     x_ = 0
  :: h[i] == H_UNK && lastL == i ->
     /*
      * local_state_unknown_key_lost: the last leader's key ran out (its agent restarted under an
      * instance that answers nothing, sim:fuzz 1318956004) and it cannot read its own state: a
      * successor takes over by the lease rule, so stop the instance now (a hard stop lands even
      * on a hung one). The code spares a blip on a site last seen as a secondary, with fewer
      * failed probes than failureThreshold: with the model's threshold of 1 that never applies.
      */
#ifndef MUT_UNKNOWN_KEY_LOST_WAIT
     act[i] = A_FENCE; SAY("own state unknown and its leader key ran out: hard stop (local_state_unknown_key_lost)")
#else
     SAY("own state unknown, its key ran out: waiting (the mutation)")
#endif
  :: h[i] == H_SR && lastL != NO && (hov == NO || hov == i || asv[i] != NO) && hsv[i] == lastL && LASTFIRST ->
     /* takeover: y_ = planned */
     z_ = (hov == i);
     x_ = 1;
     if
     :: FENCED_LAST -> skip   /* its node is confirmed off: neither its report nor its SQL port counts */
     :: !FENCED_LAST && !z_ && PVW(pv[i * N + lastL]) -> x_ = 0                            /* former_primary_still_serving */
     :: !FENCED_LAST && !z_ && rpon[lastL] && rph[lastL] == H_PW && !rpfen[lastL] -> x_ = 0 /* former_primary_reports_healthy */
#ifndef TODAY_RESTART_RACE
     /* former_primary_stop_not_sent: the last leader's agent is alive, cannot read its HANA, has
        not stopped it nor seen it take no writes, has not reported a stop of it sent, and the
        direct check got no answer: its agent stops it (local_state_unknown_key_lost), and a
        stop sent reaches the hung instance at the thaw, before any write: wait for that report */
     :: !FENCED_LAST && !z_ && rpon[lastL] && rph[lastL] == H_UNK && !rpfen[lastL] && rdnd[lastL] == NUL &&
        !rpss[lastL] && pv[i * N + lastL] == PV_UNR -> x_ = 0
#endif
#ifdef MAINT
     /* leader_lost_in_maintenance: a leader in maintenance fences nothing, so its key running
        out says nothing of its HANA (the code also goes on when it is seen stopped: not modelled) */
     :: !FENCED_LAST && !z_ && LMM(i) -> x_ = 0
#endif
     :: else -> skip
     fi;
     if
     :: x_ ->
        trust(i, i, lastL, (rpon[lastL] && !FENCED_LAST -> 1 : 2), ep);
        x_ = y_;
        y_ = 0
     :: else -> skip
     fi;
     if
     :: x_ && !z_ ->
        best_candidate(i, lastL, (rpon[lastL] && !FENCED_LAST -> 1 : 2));
        if
        :: b_ != i -> x_ = 0                      /* better_candidate */
        :: else -> skip
        fi;
        b_ = 0
     :: else -> skip
     fi;
     if
     :: x_ ->
        /* handshake: planned, or the old primary answers as a primary */
        y_ = (z_ || pv[i * N + lastL] == PV_WPRI || pv[i * N + lastL] == PV_PRI);
        afrom[i] = lastL;
        aarg[i] = y_ + 2 * z_;
#ifdef REACH_SILENT
        /* remember that this takeover rests on a silent primary (its report gone) */
        if :: !rpon[lastL] || FENCED_LAST -> aarg[i] = aarg[i] + 4 :: else -> skip fi;
#endif
        y_ = 0;
        act[i] = A_TAKEOVER; aep[i] = ep;
        printf("%c: in sync, takes over from %c (handshake %d, planned %d)\n", 65 + i, 65 + afrom[i], aarg[i] & 1, (aarg[i] / 2) & 1)
     :: else -> skip
     fi;
     x_ = 0;
     z_ = 0
  :: else -> skip
  fi
}

/* ============================== the agent's steps ============================== */

/* 1. probe the local HANA (l1: the probe times out) */
inline probe(i) {
  if
  :: l1 || hfrz[i] -> h[i] = H_UNK
  :: else ->
     if
     :: hpri[i] && hup[i] && hsusp[i] -> h[i] = H_PS
     :: hpri[i] && hup[i] && !hsusp[i] -> h[i] = H_PW
     :: hpri[i] && !hup[i] -> h[i] = H_PD
     :: !hpri[i] && hup[i] -> h[i] = H_SR
     :: else -> h[i] = H_SD
     fi
  fi;
  hsv[i] = (h[i] == H_SR || h[i] == H_SD -> hsrc[i] : NO);
  /*
   * notWritableSince: reset by a writable answer, set by the first answer since that found the
   * instance down (a running instance that takes no writes may take them again by itself).
   */
  if
  :: h[i] == H_PW -> dnd[i] = NUL
  :: (h[i] == H_PD || h[i] == H_SD) && mw[i] && dnd[i] == NUL -> dnd[i] = (sconf > LST -> LST : sconf)
  :: else -> skip
  fi;
  if
  :: h[i] != H_UNK -> mw[i] = (h[i] == H_PW); ssent[i] = 0   /* read again: no stop on its way */
  :: else -> skip
  fi;
  pa[i] = 0;
  if
  :: h[i] == H_PW ->
     lwd[i] = (sconf > 2 -> 2 : sconf);   /* now - confirmedAt */
     /* the replication links as systemReplicationStatus.py and M_SERVICE_REPLICATION show them */
     for (j_ : 0 .. N - 1) {
       if
#ifndef ASYNC
       :: j_ != i && TCP(i, j_) && sreq[i * N + j_] ->
#else
       :: j_ != i && TCP(i, j_) ->
#endif
          if
          :: l2 -> lk[i * N + j_] = NUL                /* lag unknown (SQL lag source failed) */
          :: else -> lk[i * N + j_] = 1 + (ACK(i, j_) -> 0 : dage[i * N + j_])
          fi
       :: else -> lk[i * N + j_] = 0
       fi
     }
     j_ = 0
  :: else -> skip
  fi
}

/* what a peer check of site s from site i returns (l: this check was lost), into v_ */
inline peer_view(i, s, l) {
  if
  :: l || !NET(i, s) -> v_ = PV_UNR
  :: else ->
     x_ = RUNA(s);                    /* its agent answers GET /status */
     y_ = OPER(s) && hpri[s];         /* its SQL port answers */
     if
     :: !x_ && !y_ -> v_ = PV_UNR
     :: !x_ && y_ -> v_ = PV_WX
     :: x_ && !RUNNING(h[s]) && !y_ -> v_ = PV_UNR
     :: x_ && y_ && h[s] != H_SR && h[s] != H_SD -> v_ = (ISPRI(h[s]) -> PV_WPRI : PV_WX)
     :: else ->
        if
        :: h[s] == H_SR || h[s] == H_SD -> v_ = PV_SEC
        :: ISPRI(h[s]) -> v_ = PV_PRI
        :: else -> v_ = PV_OTH
        fi
     fi;
     x_ = 0;
     y_ = 0
  fi
}

inline peers(i) {
  /* l1: the check of the first other site is lost, l2: of the second */
  for (j_ : 0 .. N - 1) {
    if
    :: j_ != i ->
       if
       :: j_ == 0 || (j_ == 1 && i != 0) -> lp = l1
       :: else -> lp = l2
       fi;
       peer_view(i, j_, lp);
       pv[i * N + j_] = v_;
       v_ = 0;
       lp = 0
    :: else -> skip
    fi
  }
  j_ = 0
}

/* 3. the store: read, renew, publish, write sync records (l1: read fails, l2: writes fail) */
inline write_sync(i) {
  for (j_ : 0 .. N - 1) {
    if
    :: j_ != i ->
       if
       :: lk[i * N + j_] == 0 -> rst[j_] = R_SFAIL; rlag[j_] = NUL
       :: lk[i * N + j_] == NUL ->
#ifdef MUT_UNKNOWN_LAG_ZERO
          rlag[j_] = 0;
#else
          /* carry the last known contact of this term (unknown lag is not zero lag) */
          if
          :: rst[j_] == R_SOK && rep[j_] == ep && rlag[j_] != NUL ->
             d_ = sconf + rlag[j_] - pa[i];
             rlag[j_] = (d_ > LST -> LST : d_);
             d_ = 0
          :: else -> rlag[j_] = NUL
          fi;
#endif
          rst[j_] = R_SOK
       :: else -> rst[j_] = R_SOK; rlag[j_] = lk[i * N + j_] - 1
       fi;
       rep[j_] = ep
    :: else -> skip
    fi
  }
  j_ = 0;
#ifdef MUT_SOK_ANY_EPOCH
  rst[i] = R_NONE;   /* an older record of the writer itself would not share sconf */
#endif
  sconf = pa[i];
  for (j_ : 0 .. N - 1) {
    if
    :: j_ != i && rst[j_] == R_SOK && rlag[j_] != NUL -> printf("%c: records %c SOK, contact %d tick(s) before\n", 65 + i, 65 + j_, rlag[j_])
    :: j_ != i && rst[j_] == R_SOK && rlag[j_] == NUL -> printf("%c: records %c SOK, contact unknown\n", 65 + i, 65 + j_)
    :: j_ != i && rst[j_] == R_SFAIL -> printf("%c: records %c SFAIL\n", 65 + i, 65 + j_)
    :: else -> skip
    fi
  }
  j_ = 0;
  /* the probe of this write saw the site writable: lastWritableAt = confirmedAt */
  lwd[i] = 0;
  rlwd[i] = 0;
  dnd[i] = NUL;
  rdnd[i] = NUL
}

inline store_and_decide(i) {
  act[i] = A_NONE;
#ifdef WATCHDOG
  fsafe[i] = 0;
#endif
  if
  :: STORE(i) && !l1 ->
     /*
      * The session keepalive (every TTL/3 in the code, on its own timer) and the leader's renew:
      * a cycle completes every tick here, so one renewal per cycle stands for both.
      */
     if
     :: !l2 -> renew(i)
     :: else -> skip
     fi;
#ifdef MAINT
     /* the spec, read every cycle; leaderMayBeInMaintenance (agent.ts noteMaintenance(),
        maintenance-watch.ts): lmm is the older rule (this agent's own reads, `sawOn`) */
     am[i] = mnt; agc[i] = 1;
     if
     :: am[i] -> lmm[i] = 1
     :: !am[i] && ldr != NO && (ldr == i || (rpon[ldr] && !rpm[ldr])) -> lmm[i] = 0
     :: else -> skip
     fi;
#ifndef TODAY_NO_MGEN
     /* the leader's last report seen, its generation against the published one (watchMaintenance) */
     k_ = (ldr != NO -> ldr : lastL);
     if
     :: k_ != NO && k_ != lrs[i] -> lrs[i] = NO
     :: else -> skip
     fi;
     if
     :: k_ != NO && rpon[k_] -> lrs[i] = k_; lrg[i] = rpg[k_]; lrm[i] = rpm[k_]
     :: else -> lrg[i] = (lrg[i] && !bfl[i])
     fi;
     bfl[i] = 0;
     k_ = 0;
#endif
#endif
     if
     :: !l2 ->
        ensure_lease(i);
        rpm[i] = am[i];
#ifdef MAINT
        rpg[i] = agc[i];
#endif
        rpon[i] = 1; rph[i] = h[i]; rlwd[i] = lwd[i]; rdnd[i] = dnd[i]; rpob[i] = pa[i]; rpfen[i] = fenced[i]; rpsrc[i] = hsv[i]; rpss[i] = ssent[i];
        if
        :: ldr == i && kcur && h[i] == H_PW -> write_sync(i)
        :: else -> skip
        fi
     :: else -> skip
     fi;
     /* a pending takeover matters only while this site holds the key it won for it */
     if :: ldr != i -> ptk[i] = NO :: else -> skip fi;
#ifndef TODAY_ORPHAN_KEY_MINE
     /*
      * PROPOSED (found by this model): the key counts as ours only when it is bound to this
      * session's lease; a key of this site's previous session (the agent restarted) is left to
      * run out: no start, stop, promotion or release under it.
      */
     mine[i] = (ldr == i && kcur);
#else
     mine[i] = (ldr == i);
#endif
#ifdef WATCHDOG
     /*
      * Armed while this site holds the key or its HANA may take writes (a primary whose key ran
      * out is still a writer until it is stopped); disarmed cleanly only when neither holds.
      */
     if
     :: (ldr == i || h[i] == H_PW || h[i] == H_PS || (h[i] == H_UNK && mw[i])) && !wdarm[i] && FEEDOK(i) -> wdarm[i] = 1; wdage[i] = 0
     :: !(ldr == i || h[i] == H_PW || h[i] == H_PS || (h[i] == H_UNK && mw[i])) -> watchdog_off(i)
     :: else -> skip
     fi;
#endif
     if
     :: ldr == NO -> decide_without_leader(i)
     :: ldr == i && mine[i] -> decide_as_leader(i)
     :: ldr == i && !mine[i] -> SAY("the key is bound to a previous session of this site: waiting for it to run out")
     :: else -> decide_under_other_leader(i)
     fi;
     if
     :: MNT(i) && act[i] != A_NONE -> act[i] = A_NONE; aep[i] = 0; aarg[i] = 0; afrom[i] = 0; SAY("maintenance mode: observing only (maintenance_mode)")
     :: else -> skip
     fi
#ifdef KEEPALIVE_APART
  :: STORE(i) && l1 ->
     /*
      * The read is lost, but the session keepalive runs on its own timer (etcd-lease.ts, memory.ts
      * scheduleKeepalive): it may renew the lease, or replace one that ran out, in the meantime.
      * (Off by default: the CI set keeps its size; the regrant configurations set it.)
      */
     if
     :: renew(i)
     :: skip
     fi;
     decide_without_store(i)
#endif
  :: else -> decide_without_store(i)
  fi;
  if
  :: MNT(i) && act[i] != A_NONE -> act[i] = A_NONE; SAY("maintenance mode: observing only (maintenance_mode)")
  :: else -> skip
  fi
}

/* 4. act: HANA commands and the epoch re-checks before them */
inline stop_hana(i) {
  /* hana.stop({hard: true}); x_ = 1 when it completed; l2: the call failed (sapcontrol error) */
  if
  :: l2 && !hfrz[i] && hup[i] -> nofeed[i] = 1; x_ = 0; SAY("stop failed (hard stop and kill)")
  :: hfrz[i] -> pstop[i] = 1; nofeed[i] = 1; x_ = 0; ssent[i] = 1; SAY("stop sent to the hung HANA: lands at the thaw");
     /* the agent publishes its report at once (onSent): stopSent, unless that write is lost */
     if
     :: rpon[i] -> rpss[i] = 1
     :: skip
     fi
  :: else -> hana_down(i); nofeed[i] = 0; x_ = 1; SAY("HANA stopped");
#ifndef TODAY_UNKNOWN_PROBE_NOT_WRITING
     /* the confirmed stop ends the writes (notWritableAfterStop), unless known ended before */
     if
     :: lwd[i] != NUL && dnd[i] == NUL -> dnd[i] = (sconf > LST -> LST : sconf)
     :: else -> skip
     fi
#else
     skip
#endif
  fi
}

/*
 * inSyncAgain() (actions.ts): the in-sync rule on the fresh read (z_ = 0 when it says no), for
 * the takeover from afrom[i], whose term is the one before the key's (the records it wrote).
 */
#define RECHECK(i) \
  p_ = afrom[i]; \
  trust(i, i, p_, (rpon[p_] -> 1 : 2), ep - 1); \
  if \
  :: !y_ -> z_ = 0; SAY("not in sync any more: keeps the key, not promoting (not_in_sync_any_more)") \
  :: else -> skip \
  fi; \
  y_ = 0; p_ = 0

inline act_step(i) {
  P4(i);
  if
  :: act[i] == A_FENCENODE ->
     /* fenceNode() in the background, then powerOn (powerOnAfter): HANA stays down there */
     p_ = afrom[i];
     if
     :: l1 -> printf("%c: fence agent: power-off of %c not confirmed\n", 65 + i, 65 + p_)
     :: else ->
        printf("%c: fence agent powers %c's node off and on again: HANA stopped, its agent starts\n", 65 + i, 65 + p_);
        hana_down(p_); hfrz[p_] = 0; pstop[p_] = 0; ptko[p_] = 0; nfrz[p_] = 0;
        agent_reset(p_); watchdog_off(p_); alive[p_] = 1; afrz[p_] = 0
     fi;
     p_ = 0
  :: act[i] == A_ACQUIRE ->
     cas(i, aep[i]);
     x_ = 0
  :: act[i] == A_TAKEOVER ->
     cas(i, aep[i]);
     if
     :: x_ -> act[i] = A_PROMOTE; aep[i] = ep; cont = 1   /* promote in a step of its own */
     :: else -> SAY("lost the race for the key")
     fi;
     x_ = 0
  :: act[i] == A_FENCE ->
     fenced[i] = 1;
     stop_hana(i);
     x_ = 0
  :: act[i] == A_STEPSTOP ->
     stop_hana(i);
#ifdef MUT_RELEASE_BEFORE_STOP
     x_ = 1;
#endif
     if
     :: x_ ->
        fenced[i] = 1;
        if
        :: !l1 && STORE(i) && ldr == i && ep == aep[i] && kcur -> ldr = NO; hov = NO; mine[i] = 0; kb[i] = 0; SAY("released the leader key")
        :: else -> skip
        fi
     :: else -> skip     /* fence_failed: keep the key until it is stopped */
     fi;
     x_ = 0
  :: act[i] == A_START ->
     /* epochStillCurrent, and a primary starts only under its own key */
#ifndef MUT_NO_EPOCH_RECHECK
     if
     :: !l1 && STORE(i) && ep == aep[i] && (!ISPRI(h[i]) || ldr == i) -> x_ = 1
     :: else -> x_ = 0
     fi;
#else
     x_ = 1;
#endif
#ifndef TODAY_START_KEEPS_SOK
     /*
      * PROPOSED (found by this model, not in the code yet): a primary that starts commits
      * alone until its secondaries have caught up, so before it starts its agent writes SFAIL
      * for every secondary of this term (no start when that write fails).
      */
     if
     :: x_ && (ISPRI(h[i]) || h[i] == H_UNK) ->
        if
#ifndef MUT_NO_EPOCH_RECHECK
        :: !l1 && STORE(i) && ldr == i && kcur && ep == aep[i] ->
#else
        :: !l1 && STORE(i) ->
#endif
           for (k_ : 0 .. N - 1) {
             if :: k_ != i -> rst[k_] = R_SFAIL; rep[k_] = ep; rlag[k_] = NUL :: else -> skip fi
           }
           k_ = 0;
           SAY("before starting a primary: SFAIL recorded for every secondary")
        :: else -> x_ = 0
        fi
     :: else -> skip
     fi;
#endif
     if
     :: x_ && !hfrz[i] ->
        if
        :: aarg[i] && RUNNING(h[i]) && hup[i] -> hana_down(i)   /* restart: stop what the probe saw running */
        :: else -> skip
        fi;
        if
        :: !hup[i] -> hup[i] = 1; SAY("HANA started")
        :: else -> skip   /* already running: StartSystem does nothing */
        fi;
        fenced[i] = 0
     :: else -> SAY("start refused or failed (epoch re-check)")
     fi;
     x_ = 0
  :: act[i] == A_REGISTER ->
#ifndef MUT_NO_EPOCH_RECHECK
     if
     :: !l1 && STORE(i) && ep == aep[i] -> x_ = 1
     :: else -> x_ = 0
     fi;
#else
     x_ = 1;
#endif
     p_ = afrom[i];
     if
     :: x_ && !hfrz[i] && (!hup[i] || aarg[i]) && NET(i, p_) && OPER(p_) && hpri[p_] && p_ != i ->
        if
        :: hpri[i] -> hana_down(i)      /* a former primary is registered while stopped */
        :: else -> skip
        fi;
        for (k_ : 0 .. N - 1) {
          sreq[k_ * N + i] = 0;
          dage[k_ * N + i] = 0
        }
        k_ = 0;
        hpri[i] = 0;
        hsrc[i] = p_;
        fenced[i] = 0;
        printf("%c: registered as secondary of %c\n", 65 + i, 65 + p_)
     :: else -> skip
     fi;
     p_ = 0;
     x_ = 0
  :: act[i] == A_PROMOTE ->
     /* every promotion re-checks the epoch (the key is still ours) just before sr_takeover */
#ifndef MUT_NO_EPOCH_RECHECK
     if
     :: !l1 && STORE(i) && ldr == i && ep == aep[i] -> z_ = 1
     :: else -> z_ = 0
     fi;
#else
     z_ = 1;
#endif
#ifndef MUT_NO_INSYNC_RECHECK
     /*
      * A retried plain takeover (decided in an earlier cycle) asks the in-sync rule again on the
      * fresh read (actions.ts inSyncAgain(), sim:fuzz 1318931430): the old primary may have
      * committed alone since the decision.
      */
     if
     :: z_ && (aarg[i] & 8) && !(aarg[i] & 1) ->
        RECHECK(i);
        /*
         * handBackOrKeep() (actions.ts): refused, but this site is a running secondary and the
         * old primary's agent reports a primary: the key goes back to it (released, handover to
         * it), which holds every commit; otherwise it is kept (sim:fuzz 970001301).
         */
        p_ = afrom[i];
        if
        :: !z_ && h[i] == H_SR && rpon[p_] && (rph[p_] == H_PW || rph[p_] == H_PS || rph[p_] == H_PD) ->
           if
           :: !l1 && STORE(i) && ldr == i && ep == aep[i] && kcur ->
              ldr = NO; hov = p_; mine[i] = 0; kb[i] = 0; ptk[i] = NO;
              printf("%c: not in sync any more: hands the key back to %c\n", 65 + i, 65 + p_)
           :: else -> skip
           fi
        :: else -> skip
        fi;
        p_ = 0
     :: else -> skip
     fi;
#endif
     if
     :: z_ && hfrz[i] -> ptko[i] = 1 + (aarg[i] & 1); SAY("sr_takeover waits for the hung HANA")
     :: z_ && !hfrz[i] && hup[i] && !hpri[i] ->
        if
        :: aarg[i] & 1 ->
           suspend_and_ship(i);
           if
           :: x_ -> become_primary(i)
           :: else ->
              /* the handshake failed: a plain takeover only if no suspect may still write */
#ifndef MUT_NO_INSYNC_RECHECK
              /* ... and only if the takeover is still in sync (inSyncAgain(), as above) */
              if
              :: afrom[i] != NO && !(aarg[i] & 2) -> RECHECK(i)
              :: else -> skip
              fi;
              pl_ = z_;
#else
              pl_ = 1;
#endif
              for (j_ : 0 .. N - 1) {
                if
                :: j_ != i && (afrom[i] == NO || afrom[i] == j_) ->
                   peer_view(i, j_, l2);
                   if
                   :: PVW(v_) -> pl_ = 0
#ifndef MUT_BLIND_PROMOTION
                   /* a running primary that answers takes writes again by itself, whatever its
                      lease or report say (writerState; sim:fuzz schedule 120000466) */
                   :: v_ == PV_PRI -> pl_ = 0
                   /* unknown counts as may still write, unless its lease ran out or it is fenced */
                   :: v_ == PV_UNR && !(STORE(i) && !l1 && !rpon[j_]) && fcon != j_ -> pl_ = 0
#endif
                   :: else -> skip
                   fi;
                   v_ = 0
                :: else -> skip
                fi
              }
              j_ = 0;
              if
              :: pl_ -> SAY("handshake failed, no suspect may write: plain takeover"); become_primary(i)
              :: else -> SAY("handshake failed and the old primary may still write: not promoting")
              fi;
              pl_ = 0
           fi;
           x_ = 0
        :: else -> become_primary(i)
        fi;
        fenced[i] = 0
     :: else -> skip
     fi;
     z_ = 0
  :: else -> skip
  fi;
  if
  :: !cont -> act[i] = A_NONE; aep[i] = 0; aarg[i] = 0; afrom[i] = 0
  :: else -> skip
  fi
}

/* the lease watchdog (armWatchdog/watchdog): decide on the last state with the store unknown */
inline lease_watchdog(i) {
  wdn[i] = 1;
  peers(i);
  l2 = l3;       /* l2 was a peer check; now: the stop fails */
  b_ = act[i];   /* the cycle's pending action is not the watchdog's */
  act[i] = A_NONE;
  decide_without_store(i);
  if :: MNT(i) -> act[i] = A_NONE :: else -> skip fi;
  if :: act[i] != A_NONE -> P4(i) :: else -> skip fi;
  if
  :: act[i] == A_FENCE -> SAY("lease watchdog: fence"); fenced[i] = 1; stop_hana(i); x_ = 0; mine[i] = 0
  :: else -> skip
  fi;
  act[i] = b_;
  b_ = 0
}

/*
 * decideFenceLostLeader (src/domain/decide.ts): a secondary of the lost leader powers its node
 * off when (a) the leader holds the key but is silent to it (its agent dead or frozen, or cut off
 * from it or from the store; the code wants it silent for leaderSilenceWindowMs() on its own
 * clock, which a slow but live leader can be too: -DFENCELIVE), or (b) the key ran
 * out but its database still answers as a writable primary. The code also wants this site in sync
 * and the best candidate first; the model fences without (a fence only removes a writer, so it
 * explores more) and checks what a confirmed or failed fence allows afterwards.
 */
#define FTGT (ldr != NO -> ldr : lastL)
/*
 * FENCELIVE: the code counts the leader's silence in time on the fencing agent's clock
 * (leaderSilenceWindowMs()): a leader that is alive and connected but whose report lags (a slow
 * cycle, a lost write) can be fenced too. With it the fence may fire at any leader that holds
 * the key.
 */
#ifdef FENCELIVE
#define LEADER_SILENT(i) true
#else
#define LEADER_SILENT(i) (!RUNA(ldr) || !NET(i, ldr) || !STORE(ldr))
#endif
#define FENCE_WANTED(i) (fcon == NO && FTGT != NO && FTGT != i && h[i] == H_SR && hsv[i] == FTGT && \
  STORE(i) && !ndown[FTGT] && \
  ((ldr != NO && LEADER_SILENT(i)) || \
   (ldr == NO && NET(i, lastL) && OPER(lastL) && hpri[lastL])))

inline fence_node(i) {
  p_ = FTGT;
  if
#ifdef MUT_TRUST_UNCONFIRMED_FENCE
  :: l1 -> printf("%c: fence agent: power-off of %c NOT confirmed, trusted anyway\n", 65 + i, 65 + p_); fcon = p_; fcep = ep
#endif
  :: !l1 ->
     printf("%c: fence agent powers off %c's node: confirmed off (epoch %d)\n", 65 + i, 65 + p_, ep);
     ndown[p_] = 1; hana_down(p_); hfrz[p_] = 0; pstop[p_] = 0; ptko[p_] = 0; nfrz[p_] = 0;
     agent_reset(p_); watchdog_off(p_); alive[p_] = 0;
     fcon = p_; fcep = ep
  :: else -> SAY("fence agent: power-off not confirmed: the lease rule stays in force")
  fi;
  l1 = 0;
  /* a confirmed fence ends the fenced term's key at once (compare-and-delete on its epoch) */
  if
  :: fcon == p_ && fcep == ep && ldr == p_ && STORE(i) -> ldr = NO; hov = NO; kcur = 0;
     printf("%c: removes the leader key of fenced %c (epoch %d)\n", 65 + i, 65 + p_, ep)
  :: else -> skip
  fi;
  p_ = 0
}

inline agent_reset(i) {
  ph[i] = 0; fenced[i] = 0; ssent[i] = 0; rpss[i] = 0; lwd[i] = NUL; dnd[i] = NUL; ren[i] = NUL; mine[i] = 0; mw[i] = 0; kb[i] = 0; rgr[i] = 0;
  h[i] = H_UNK; hsv[i] = NO; pa[i] = 0; act[i] = A_NONE; aep[i] = 0; aarg[i] = 0; afrom[i] = 0; ptk[i] = NO;
  am[i] = 0; lmm[i] = 0; agc[i] = 0; lrs[i] = NO; lrg[i] = 0; lrm[i] = 0;
  for (k_ : 0 .. N - 1) {
    pv[i * N + k_] = PV_UNR;
    lk[i * N + k_] = 0
  }
  k_ = 0;
  /* the old session's lease is abandoned: its report goes (at the latest at expiry) */
  lease[i] = 0; rpon[i] = 0;
  if
  :: ldr == i -> kcur = 0
  :: else -> skip
  fi
  /* the node watchdog is a device of the node: it stays armed when the agent process dies */
}

inline watchdog_off(i) {
  wdarm[i] = 0; wdage[i] = 0; nofeed[i] = 0; fsafe[i] = 0
}

/* a message (call, probe, reply) lost or timed out: within the loss budget MAXL */
#ifndef MAXL
#define MAXL 2
#endif
/* the fence agent's call may fail at any site (ONLYA: B fences A) */
#define LOSSANY(b) if :: nl < MAXL -> b = 1; nl++; printf("%c: (a call, probe or reply is lost)\n", 65 + i) :: b = 0 fi
#define LOSS(b) if :: nl < MAXL && AT(i) -> b = 1; nl++; printf("%c: (a call, probe or reply is lost)\n", 65 + i) :: b = 0 fi
#define LOSSIF(b, cond) if :: (cond) && nl < MAXL && AT(i) -> b = 1; nl++; printf("%c: (a call, probe or reply is lost)\n", 65 + i) :: else -> b = 0 :: (cond) -> b = 0 fi

/*
 * A new cycle starts only in a tick window in which this agent has not completed one yet (the
 * agent sleeps probes.intervalSeconds after each cycle; a tick is interval + timeout).
 */
#ifdef MANYCYCLES
#define ONECYCLE(i) true
#else
#define ONECYCLE(i) (!cyc[i])
#endif

/* the end of a cycle: the snapshot of this cycle is not needed any more */
inline cycle_done(i) {
  ph[i] = 0;
  cyc[i] = 1;
  pa[i] = 0;
  for (k_ : 0 .. N - 1) {
    pv[i * N + k_] = PV_UNR;
    lk[i * N + k_] = 0
  }
  k_ = 0
}

proctype Agent(byte i) {
  do
  /* 1-2. probe the local HANA, then check the peers (l1: probe, l2: lag, l3/l4: peer checks) */
  :: atomic { RUNA(i) && ph[i] == 0 && ONECYCLE(i) -> LOSS(l1); LOSSIF(l2, hpri[i] && hup[i] && !hfrz[i] && !l1);
       LOSSIF(l3, !iso[i]); if :: N == 3 -> LOSSIF(l4, !iso[i]) :: else -> skip fi;
       d_step { probe(i); l1 = l3; l2 = l4; peers(i); ph[i] = 2; l1 = 0; l2 = 0; l3 = 0; l4 = 0 } }
  /* 3-4. the store, then decide (l1: the read fails, l2: the writes fail, l3: the action's call) */
  :: atomic { RUNA(i) && ph[i] == 2 -> LOSSIF(l1, STORE(i)); LOSSIF(l2, STORE(i) && !l1);
       LOSSIF(l3, STORE(i) && !l1);
       d_step {
         store_and_decide(i);
         if
         :: act[i] == A_NONE -> cycle_done(i)
         :: else -> ph[i] = 3
         fi;
         check();
         l1 = 0; l2 = 0; l3 = 0
       } }
  /* 5. act (l1: the call to the store fails, l2: a peer check in the handshake fallback or the
     stop fails); a
     takeover is a compare-and-set (phase 3), then the promotion (phase 4) */
  :: atomic { RUNA(i) && (ph[i] == 3 || ph[i] == 4) -> LOSSIF(l1, STORE(i));
       LOSSIF(l2, act[i] == A_PROMOTE || ((act[i] == A_FENCE || act[i] == A_STEPSTOP) && hup[i] && !hfrz[i]));
       d_step {
         act_step(i);
         if
         :: cont -> ph[i] = 4; cont = 0
         :: else -> cycle_done(i)
         fi;
         check(); l1 = 0; l2 = 0
       } }
#ifdef FENCEAGENT
  /*
   * Fence agent (issue 11): a secondary of the primary whose agent went silent powers off the
   * primary's node: action=off, then
   * status until off. Confirmed (l1 = 0): the node is off and the fence carries the epoch of
   * the fenced term; failed (l1 = 1): nothing is known and the lease rule stays in force.
   */
  :: atomic { RUNA(i) && FENCE_WANTED(i) && !MNT(i) -> LOSSANY(l1);
       d_step { P4(i); fence_node(i); check(); l1 = 0 } }
#endif
#ifdef WATCHDOG
  /* the watchdog feeder (its own timer: runs whenever the agent process runs) */
  :: atomic { RUNA(i) && wdarm[i] && wdage[i] > 0 && FEEDOK(i) -> wdage[i] = 0 }
#endif
  /* the lease watchdog (l1, l2: its peer checks, l3: its stop fails) */
  :: atomic { RUNA(i) && mine[i] && ren[i] != NUL && ren[i] >= FENCE && !wdn[i] ->
       LOSSIF(l1, !iso[i]); if :: N == 3 -> LOSSIF(l2, !iso[i]) :: else -> skip fi;
       LOSSIF(l3, hup[i] && !hfrz[i]);
       d_step { lease_watchdog(i); for (k_ : 0 .. N - 1) { pv[i * N + k_] = PV_UNR }; k_ = 0; check(); l1 = 0; l2 = 0; l3 = 0 } }
  od
}

/* ================================ time ================================ */

#define DUE(i) (RUNA(i) && (!cyc[i] || (mine[i] && ren[i] != NUL && ren[i] >= FENCE && !wdn[i])))
#if N == 2
#define TICKOK (!DUE(0) && !DUE(1))
#else
#define TICKOK (!DUE(0) && !DUE(1) && !DUE(2))
#endif

inline node_reset(i) {
  hana_down(i);
  hfrz[i] = 0; pstop[i] = 0; ptko[i] = 0; nfrz[i] = 0;
  agent_reset(i);
  watchdog_off(i);
  alive[i] = 1;
  afrz[i] = 0     /* a new agent process */
}

proctype Clock() {
  do
  :: d_step { TICKOK ->
       printf("-- tick\n");
       for (j_ : 0 .. N - 1) {
         cyc[j_] = 0; wdn[j_] = 0;
         if :: ph[j_] != 0 -> INCTO(pa[j_], 2) :: else -> skip fi;
         if :: ren[j_] != NUL -> INCTO(ren[j_], FENCE) :: else -> skip fi;

         INCTO(rpob[j_], CYC + 1 + ALLOW);
#ifdef WATCHDOG
         if :: fsafe[j_] == 1 -> fsafe[j_] = 2 :: else -> fsafe[j_] = 0 fi;
#endif
         if
         :: !sdown && lease[j_] > 0 ->
            lease[j_]--;
            if :: lease[j_] == 0 -> rpon[j_] = 0 :: else -> skip fi
         :: else -> skip
         fi;
         for (k_ : 0 .. N - 1) {
           if
#ifndef ASYNC
           :: WAITS(j_, k_) && hup[j_] -> INCTO(dage[j_ * N + k_], LST)
#else
           :: LAGS(j_, k_) -> INCTO(dage[j_ * N + k_], LST)
#endif
           :: else -> dage[j_ * N + k_] = 0
           fi
         }
         k_ = 0;
#ifdef WATCHDOG
         if
         :: wdarm[j_] && !ndown[j_] ->
            wdage[j_]++;
            if
            :: wdage[j_] >= WD -> printf("%c: node watchdog fires: node reset\n", 65 + j_); node_reset(j_)
            :: else -> skip
            fi
         :: else -> skip
         fi;
#endif
         skip
       }
       j_ = 0;
       /* the SOK records age (only while some exists: else the value is never read) */
       if
       :: rst[0] == R_SOK || rst[1] == R_SOK || (N == 3 && rst[N - 1] == R_SOK) -> INCTO(sconf, LST + SKMAX)
       :: else -> sconf = 0
       fi;
#ifdef BYHAND
       /* the human's window runs down only while hanasr is in charge of the site started by hand:
          a leader running and connected, holding the key on its session, its primary running, and
          the site's agent running or its report gone; it closes after two ticks in a row in charge,
          i.e. a whole cycle of the leader in charge */
       if
       :: hw > 0 && CHARGE -> hw--
       :: hw > 0 -> hw = 2      /* not in charge: the window starts again */
       :: else -> skip
       fi;
#endif
#ifdef MAINT
       if :: !mnt && mwin > 0 -> mwin-- :: else -> skip fi;
#endif
       if
       :: !sdown && ldr != NO ->
          klease--;
          if :: klease == 0 -> printf("%c: leader lease expired, the key is gone\n", 65 + ldr); ldr = NO; kcur = 0 :: else -> skip fi
       :: else -> skip
       fi;
       check()
     }
  od
}

/* ============================ faults and HANA ============================ */

inline thaw_hana(i) {
  if
  :: pstop[i] -> hana_down(i)        /* the hard stop lands before any write */
  :: !pstop[i] && ptko[i] && hup[i] && !hpri[i] ->
     if
     :: ptko[i] == 2 -> suspend_and_ship(i); x_ = 0
     :: else -> skip
     fi;
     become_primary(i)
  :: else -> skip
  fi;
  pstop[i] = 0; ptko[i] = 0
}

#if N == 2
#define EACH(M) M(0) M(1)
#define EACH2(M) M(0, 1) M(1, 0)
#else
#define EACH(M) M(0) M(1) M(2)
#define EACH2(M) M(0, 1) M(0, 2) M(1, 0) M(1, 2) M(2, 0) M(2, 1)
#endif

/* a client commit on a writer: every site that does not acknowledge it synchronously misses it */
#define COMMIT(s) \
  :: d_step { WRITER(s) -> \
       for (j_ : 0 .. N - 1) { \
         if \
         :: j_ != s && !(SYNCACK(s, j_)) && !miss[j_] -> miss[j_] = 1; \
            printf("%c: commit acknowledged without %c\n", 65 + s, 65 + j_) \
         :: else -> skip \
         fi \
       } \
       j_ = 0 }

#ifndef ASYNC
#define SYNCACK(p, q) (sreq[p * N + q] && ACK(p, q))
#else
#define SYNCACK(p, q) false   /* async: acknowledged before it is shipped */
#endif

#ifdef ASYNC
/* async: a link that keeps up ships what the primary has */
#define LINK(p, q) \
  :: d_step { ACK(p, q) && OPER(p) && miss[q] != miss[p] -> miss[q] = miss[p] }
#else
/* logshipping_timeout: primary p stops waiting for q and commits alone; q catches up later */
#define LINK(p, q) \
  :: d_step { sreq[p * N + q] && !ACK(p, q) && dage[p * N + q] >= LST && OPER(p) -> \
       sreq[p * N + q] = 0; dage[p * N + q] = 0; \
       printf("%c: logshipping_timeout for %c: commits alone\n", 65 + p, 65 + q); check() } \
  :: d_step { !sreq[p * N + q] && ACK(p, q) && OPER(p) && !hsusp[p] -> \
       sreq[p * N + q] = 1; miss[q] = miss[p]; dage[p * N + q] = 0; \
       printf("%c: %c caught up, in sync again\n", 65 + p, 65 + q); check() }
#endif


/* A node reboot outlasts its leases, unless agent restarts are modelled (AGENTFAULTS). */
#if defined(AGENTFAULTS) || defined(AGENTRESTART)
#define RESTORE_OK(s) true
#else
#define RESTORE_OK(s) (ldr != s && fcon != s)
#endif

#define SITE_FAULTS(s) \
  :: d_step { FAULT && AT(s) && hup[s] && !hfrz[s] && !ndown[s] -> nf++; hana_down(s); \
       printf("%c: FAULT HANA crashes\n", 65 + s); check() } \
  :: d_step { FAULT && AT(s) && !ndown[s] -> \
       nf++; ndown[s] = 1; hana_down(s); hfrz[s] = 0; pstop[s] = 0; ptko[s] = 0; nfrz[s] = 0; \
       agent_reset(s); watchdog_off(s); alive[s] = 0; printf("%c: FAULT node crashes\n", 65 + s); check() } \
  :: d_step { ndown[s] && RESTORE_OK(s) -> ndown[s] = 0; agent_reset(s); alive[s] = 1; afrz[s] = 0; printf("%c: node back, agent restarted\n", 65 + s) } \
  :: d_step { FAULT && AT(s) && !iso[s] -> nf++; iso[s] = 1; printf("%c: FAULT site cut from the network\n", 65 + s); check() } \
  :: d_step { iso[s] -> iso[s] = 0; printf("%c: network back\n", 65 + s); check() }

#ifdef HFREEZE
#define HFREEZE_FAULTS(s) \
  :: d_step { FAULT && AT(s) && hup[s] && !hfrz[s] && !ndown[s] -> nf++; hfrz[s] = 1; printf("%c: FAULT HANA hangs\n", 65 + s); check() } \
  :: d_step { hfrz[s] && !nfrz[s] -> hfrz[s] = 0; printf("%c: HANA thaws\n", 65 + s); thaw_hana(s); check() }
#else
#define HFREEZE_FAULTS(s)
#endif
#ifdef NODEFREEZE
#define NFREEZE_FAULTS(s) \
  :: d_step { FAULT && AT(s) && !ndown[s] && !nfrz[s] -> nf++; nfrz[s] = 1; printf("%c: FAULT node freezes\n", 65 + s); check() } \
  :: d_step { nfrz[s] -> nfrz[s] = 0; printf("%c: node thaws\n", 65 + s); check() }
#else
#define NFREEZE_FAULTS(s)
#endif
/* an agent lost or back within the human's window re-opens it (the sim's checker, 9868478):
   hanasr gets a whole cycle in charge */
#define REOPEN if :: hw > 0 -> hw = 2 :: else -> skip fi
#ifdef AGENTFAULTS
#define AGENT_FAULTS(s) \
  :: d_step { FAULT && AT(s) && alive[s] && !ndown[s] -> nf++; agent_reset(s); alive[s] = 0; REOPEN; printf("%c: FAULT agent killed\n", 65 + s) } \
  :: d_step { !alive[s] && !ndown[s] -> agent_reset(s); alive[s] = 1; REOPEN; printf("%c: agent restarted\n", 65 + s) } \
  :: d_step { FAULT && AT(s) && alive[s] && !afrz[s] -> nf++; afrz[s] = 1; REOPEN; printf("%c: FAULT agent frozen\n", 65 + s) } \
  :: d_step { afrz[s] -> afrz[s] = 0; REOPEN; printf("%c: agent thaws\n", 65 + s) }
#else
#define AGENT_FAULTS(s)
#endif
#ifdef AGENTRESTART
/* the agent process crashes and its supervisor starts it again at once (systemd Restart=always) */
#define RESTART_FAULTS(s) \
  :: d_step { FAULT && AT(s) && alive[s] && !afrz[s] && !ndown[s] -> nf++; agent_reset(s); \
       printf("%c: FAULT agent crashes, restarted at once\n", 65 + s) }
#else
#define RESTART_FAULTS(s)
#endif
#ifdef STALL
#define STALL_FAULTS(s) \
  :: d_step { FAULT && INTO(s) && !stall[s] -> nf++; stall[s] = 1; printf("%c: FAULT replication into %c slow\n", 65 + s, 65 + s); check() } \
  :: d_step { stall[s] -> stall[s] = 0; printf("%c: replication back to normal\n", 65 + s); check() }
#else
#define STALL_FAULTS(s)
#endif
#ifdef BYHAND
/* a DBA starts a stopped primary by hand (a former primary, or one hanasr stopped) */
#define BYHAND_START(s) \
  :: d_step { FAULT && AT(s) && hpri[s] && !hup[s] && !ndown[s] && !nfrz[s] -> nf++; hup[s] = 1; hw = 2; hws = s; byh = 1; \
       printf("%c: FAULT a DBA starts %c's primary by hand\n", 65 + s, 65 + s); check() }
#else
#define BYHAND_START(s)
#endif
#ifdef PLANNED
#define PLANNED_ASK(s) \
  :: d_step { FAULT && itgt == NO && ldr != NO && ldr != s -> nf++; itgt = s; iep = ep; \
       printf("%c: DBA: hanasr takeover --to %c\n", 65 + s, 65 + s) }
#else
#define PLANNED_ASK(s)
#endif

proctype Env() {
  do
  EACH(COMMIT)
  EACH2(LINK)
  EACH(SITE_FAULTS)
  EACH(HFREEZE_FAULTS)
  EACH(NFREEZE_FAULTS)
  EACH(AGENT_FAULTS)
  EACH(RESTART_FAULTS)
  EACH(STALL_FAULTS)
  EACH(PLANNED_ASK)
  EACH(BYHAND_START)
#ifdef MAINT
  /* a DBA sets or clears maintenance mode at any time */
  :: d_step { !mnt -> mnt = 1; MGEN_STEP(); printf("-: DBA: maintenance on\n") }
  :: d_step { mnt -> mnt = 0; mwin = 2; MGEN_STEP(); printf("-: DBA: maintenance off\n") }
#endif
  :: d_step { FAULT && !sdown -> nf++; sdown = 1; printf("-: FAULT store outage\n") }
  :: d_step { sdown ->
       sdown = 0;
       printf("-: store back\n");
       for (j_ : 0 .. N - 1) {
         if :: lease[j_] > 0 -> lease[j_] = TTL :: else -> skip fi
       }
       j_ = 0;
       if :: ldr != NO -> klease = TTL :: else -> skip fi }   /* a new raft leader extends every lease */
  od
}

init {
  byte i;
  atomic {
    /* steady state: site 0 primary at epoch 1, every secondary in sync and SOK */
    for (i : 0 .. N - 1) {
      hup[i] = 1;
      hpri[i] = (i == 0);
      hsrc[i] = (i == 0 -> NO : 0);
      alive[i] = 1;
      ptk[i] = NO;
      lease[i] = TTL;
      ren[i] = 0;
      mw[i] = (i == 0);
      lwd[i] = (i == 0 -> 0 : NUL);
      h[i] = (i == 0 -> H_PW : H_SR);
      hsv[i] = (i == 0 -> NO : 0);
      rpon[i] = 1;
      rph[i] = h[i];
      /* every agent has read the spec of generation 0 and seen A's report of it */
      agc[i] = 1; rpg[i] = 1; lrs[i] = 0; lrg[i] = 1;
      rlwd[i] = lwd[i];
      dnd[i] = NUL;
      rdnd[i] = NUL;
      rpob[i] = 0;
#ifndef ASYNC
      sreq[i] = (i != 0);
#endif
      if
      :: i != 0 -> rst[i] = R_SOK; rep[i] = 1; rlag[i] = 0; lk[i] = 1
      :: else -> rlag[i] = NUL
      fi;
#ifdef SKEW
#ifdef SKEWFIXED
      off[i] = (i == 0);   /* the worst case for readers: A's clock a tick ahead of the others */
#else
      if :: off[i] = 0 :: off[i] = 1 fi;
#endif
#endif
      skip
    }
    ldr = 0; ep = 1; lastL = 0; hov = NO; klease = TTL; kcur = 1; mine[0] = 1; kb[0] = 1;
#ifdef WATCHDOG
    wdarm[0] = 1;
#endif
    i = 0;
    run Clock();
    run Env();
    for (i : 0 .. N - 1) { run Agent(i) }
    i = 0
  }
}
