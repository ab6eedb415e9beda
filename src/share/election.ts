/**
 * Who leads: the tab that holds the group's Web Lock. Every member asks for
 * the lock; the browser grants it to one and queues the others, and hands it
 * to the next when the holder's page closes, navigates or crashes. A page
 * that is frozen (or stalled in a long task, or in the debugger) keeps its
 * lock, so the leader also beats on the channel: a follower that hears
 * nothing for `LAPSE_MS` (plus a random share of `LAPSE_JITTER_MS`, so that
 * followers do not all act at once) probes, and after `PROBE_MS` more of
 * silence steals the lock (`steal: true`), unless the lock changed hands
 * meanwhile. A frozen leader, once it runs again, finds out before it acts:
 * its own beats stopped for longer than the lapse, so it asks the lock
 * manager whether it still holds the lock (`confirm()`).
 *
 * Terms order leaders: a new leader takes a term above every term it knows
 * (and at least the clock, so a tab that knew none still comes after the
 * last); ties go to the higher member id. A tab heeds only the leader of
 * the highest term it has heard, and no term a leader could not have: more
 * than `TERM_SLACK_MS` above the clock and more than `TERM_STEP` above the
 * highest it knows. So a forged term cannot be one the real leader cannot
 * go above, and a forger pushing terms up gains at most a step a message.
 */
import type { LockManagerLike, SharePlatform } from './platform.js'
import { MAX_TERM } from './protocol.js'

/** The leader beats this often. */
export const BEAT_MS = 250
/** Silence from the leader after which a follower probes it (hidden tabs' timers run once a second: their beats may come that late, the probe is answered at once). */
export const LAPSE_MS = 750
/** Spread of the lapse between followers. */
export const LAPSE_JITTER_MS = 250
/** Silence after the probe before the follower steals the lock. */
export const PROBE_MS = 250
/** How far above the clock a term may be (a day: the clock set back by less keeps a group whole). */
export const TERM_SLACK_MS = 24 * 60 * 60_000
/** How far above the highest term a tab knows a newer one may be (elections it missed while frozen). */
export const TERM_STEP = 1_024

/** What the election tells the member around it. */
export interface ElectionHost {
  /** This member holds the lock now. */
  elected(): void
  /** It holds it no more (stolen, or another leader proved newer). */
  deposed(): void
  /** Posts a beat or a probe. */
  beat(term: number): void
  probe(): void
  /** The leader said nothing for a lapse and a probe: no leader is known until one speaks. */
  lapsed(): void
  /** A failure of the lock manager itself. */
  report(error: unknown): void
}

interface Grant {
  held: boolean
  /** The request settled (stolen, released, aborted): a callback that comes after it holds nothing. */
  settled: boolean
  release: (() => void) | undefined
}

const isAbort = (error: unknown): boolean => (error as { name?: unknown } | null)?.name === 'AbortError'

export class Election {
  role: 'candidate' | 'leader' | 'stopped' = 'stopped'
  /** The highest term heard, and its leader's member id. */
  term = 0
  leader: string | undefined
  /** The lock manager's id of the current leader's page, when it said. */
  holder: string | undefined
  /** This page's id at the lock manager, learned while leading. */
  ownHolder: string | undefined
  private grant: Grant | undefined
  private queued: AbortController | undefined
  private lastSign = 0
  private lastTick = 0
  private probedAt: number | undefined
  private stealing = false
  private confirming: Promise<boolean> | undefined
  private timer: unknown
  private lapse = LAPSE_MS + Math.floor(Math.random() * LAPSE_JITTER_MS)
  private probeTimer: unknown
  // The term of a leader that resigned: its late words are stale.
  private retired = 0

  constructor(
    private readonly member: string,
    private readonly lockName: string,
    private readonly platform: SharePlatform,
    private readonly host: ElectionHost,
  ) {}

  private get locks(): LockManagerLike {
    return this.platform.locks
  }

  private now(): number {
    return this.platform.clock.now()
  }

  /** Joins: asks for the lock and starts the beat. */
  start(): void {
    if (this.role !== 'stopped') return
    this.role = 'candidate'
    this.lastSign = this.now()
    this.enqueue()
    this.schedule()
  }

  /** Leaves: gives up the lock (held or asked for) and stops beating. */
  stop(): void {
    if (this.role === 'stopped') return
    this.role = 'stopped'
    this.queued?.abort()
    this.queued = undefined
    this.releaseHeld()
    this.platform.clock.clearTimeout(this.timer)
    this.platform.clock.clearTimeout(this.probeTimer)
  }

  /** Gives the lead up while staying a member: `to` steals the lock, or, without one, the next in line gets it. */
  resign(to: string | undefined): void {
    if (this.role !== 'leader') return
    this.role = 'candidate'
    this.leaderGone()
    if (to === undefined) this.releaseHeld()
    // Else kept until `to` steals it; asked for again once it is gone.
  }

  /** Takes the lock now (the leader handed over to this member). */
  takeOver(): void {
    if (this.role !== 'candidate') return
    this.queued?.abort()
    this.queued = undefined
    this.request({ steal: true }, () => {})
  }

  /**
   * Hears a leader's message of `term` from `from`: `'current'` if it comes
   * from the current leader (a newer one becomes current); `'stale'` for an
   * older one (answered with a beat if this member leads); `'contested'` for
   * a newer one while this member leads, until the lock manager says which
   * of the two holds the lock (the member keeps such messages till then).
   */
  heard(from: string, term: number, holder?: string): 'current' | 'stale' | 'contested' {
    if (term > Math.max(this.now() + TERM_SLACK_MS, this.term + TERM_STEP)) return 'stale' // no leader's: not even answered
    if (from === this.leader && term === this.term) {
      this.lastSign = this.now()
      this.probedAt = undefined
      if (holder !== undefined) this.holder = holder
      return 'current'
    }
    // Two tabs elected in the same millisecond have the same term: the higher member id wins (a deposed tab knows no leader).
    const newer = term > this.term || (term === this.term && (this.leader === undefined || from > this.leader))
    if (!newer || term <= this.retired) {
      if (this.role === 'leader') this.host.beat(this.term)
      return 'stale'
    }
    if (this.role === 'leader' && from !== this.member) {
      // Another leader with a newer term: this tab's lock was stolen while it did not run, or the other is wrong.
      void this.confirm().then((still) => {
        if (still) this.announceAbove(term)
        else this.lose()
      })
      return 'contested'
    }
    this.term = term
    this.leader = from
    this.holder = holder
    this.lastSign = this.now()
    this.probedAt = undefined
    return 'current'
  }

  /** Forgets the current leader (it resigned): the next one is awaited, as after a lapse. */
  leaderGone(): void {
    if (this.role === 'leader') return
    this.retired = Math.max(this.retired, this.term)
    this.leader = undefined
    this.holder = undefined
    this.lastSign = this.now()
  }

  /** Whether this leader stopped running for longer than a lapse (frozen, stalled): it must confirm before it acts. */
  suspect(): boolean {
    return this.role === 'leader' && this.now() - this.lastTick > LAPSE_MS
  }

  /** Asks the lock manager whether this member still holds the lock. */
  confirm(): Promise<boolean> {
    this.confirming ??= this.locks.query().then(
      (state) => {
        this.confirming = undefined
        if (this.role !== 'leader') return false
        const holder = state.held?.find((lock) => lock.name === this.lockName)?.clientId
        const still = holder !== undefined && (this.ownHolder === undefined || holder === this.ownHolder)
        if (still) this.lastTick = this.now()
        else this.lose()
        return still
      },
      (error: unknown) => {
        this.confirming = undefined
        this.host.report(error)
        return this.role === 'leader'
      },
    )
    return this.confirming
  }

  private announceAbove(term: number): void {
    if (this.role !== 'leader') return
    this.term = Math.min(Math.max(term + 1, this.now()), MAX_TERM)
    this.elect()
  }

  private enqueue(): void {
    if (this.role !== 'candidate' || this.queued !== undefined || this.grant !== undefined) return
    const controller = new AbortController()
    this.queued = controller
    this.request({ signal: controller.signal }, () => {
      if (this.queued === controller) this.queued = undefined
    })
  }

  private request(options: { signal?: AbortSignal; steal?: boolean }, onSettled: () => void): void {
    const grant: Grant = { held: false, settled: false, release: undefined }
    let request: Promise<unknown>
    try {
      request = this.locks.request(this.lockName, { mode: 'exclusive', ...options }, () => this.granted(grant))
    } catch (error) {
      onSettled()
      return this.host.report(error)
    }
    request.then(
      () => {
        grant.settled = true
        onSettled()
        this.ended(grant)
      },
      (error: unknown) => {
        grant.settled = true
        onSettled()
        if (grant.held) return this.ended(grant) // stolen
        if (!isAbort(error)) this.host.report(error)
      },
    )
  }

  private granted(grant: Grant): Promise<void> {
    if (this.role === 'stopped' || this.grant !== undefined || grant.settled) return Promise.resolve()
    grant.held = true
    this.grant = grant
    const held = new Promise<void>((resolve) => (grant.release = resolve))
    this.queued?.abort()
    this.queued = undefined
    this.role = 'leader'
    this.term = Math.min(Math.max(this.term + 1, this.now()), MAX_TERM)
    this.leader = this.member
    this.lastTick = this.now()
    void this.locks.query().then(
      (state) => {
        if (this.grant === grant) this.ownHolder = this.holder = state.held?.find((lock) => lock.name === this.lockName)?.clientId
      },
      () => {},
    )
    this.elect()
    return held
  }

  // What the member does when elected must not cost it the lock: a failure is reported, the lead kept.
  private elect(): void {
    try {
      this.host.elected()
    } catch (error) {
      this.host.report(error)
    }
  }

  // The lock went: released by this member, or stolen from it.
  private ended(grant: Grant): void {
    if (this.grant !== grant) return
    this.grant = undefined
    if (this.role === 'leader') this.lose()
    else this.enqueue()
  }

  private lose(): void {
    if (this.role !== 'leader') return
    this.role = 'candidate'
    if (this.leader === this.member) this.leader = undefined
    // Whoever holds the lock now spoke at once when granted it: unheard by the next beat, it is probed (stalled right after its steal).
    this.lastSign = this.now() - this.lapse
    this.releaseHeld()
    this.host.deposed()
    this.enqueue()
  }

  private releaseHeld(): void {
    const grant = this.grant
    if (grant === undefined) return
    grant.release?.()
  }

  private schedule(): void {
    this.timer = this.platform.clock.setTimeout(() => this.tick(), BEAT_MS)
  }

  private tick(): void {
    if (this.role === 'stopped') return
    this.schedule()
    const now = this.now()
    if (this.role === 'leader') {
      this.lastTick = now
      return this.host.beat(this.term)
    }
    this.enqueue()
    if (this.stealing || this.probedAt !== undefined || now - this.lastSign <= this.lapse) return
    this.probe()
  }

  private probe(): void {
    const probedAt = (this.probedAt = this.now())
    this.host.probe()
    this.probeTimer = this.platform.clock.setTimeout(() => {
      if (this.role !== 'candidate' || this.probedAt !== probedAt || this.lastSign > probedAt) return
      // Still silent since the probe: no leader is known; take the lock.
      this.host.lapsed()
      void this.steal()
    }, PROBE_MS)
  }

  // The leader went quiet: take the lock from it, unless it changed hands.
  private async steal(): Promise<void> {
    this.stealing = true
    const silentSince = this.lastSign
    const silent = this.holder
    // When the silence is judged again: after a new lapse (stolen, or a leader spoke), at the next beat, or at once.
    let again: 'lapse' | 'beat' | 'now' = 'lapse'
    try {
      const state = await this.locks.query()
      const holder = state.held?.find((lock) => lock.name === this.lockName)?.clientId
      if (this.role !== 'candidate' || this.lastSign !== silentSince) return // a leader spoke meanwhile
      // Free: the queue grants it at once, to this tab or another, which then speaks or is found silent in turn.
      if (holder === undefined) return void (again = 'beat')
      if (silent !== undefined && holder !== silent) {
        // Another page took the lock and said nothing either (stalled as it was granted it, or right after its own steal):
        // watched as the silent one was, the silence counted on, and probed at once.
        this.holder = holder
        return void (again = 'now')
      }
      this.queued?.abort()
      this.queued = undefined
      this.request({ steal: true }, () => {})
    } catch (error) {
      this.host.report(error)
    } finally {
      this.stealing = false
      this.probedAt = undefined
      if (again === 'lapse') {
        this.lapse = LAPSE_MS + Math.floor(Math.random() * LAPSE_JITTER_MS)
        this.lastSign = this.now()
      } else if (again === 'now' && this.role === 'candidate') {
        this.probe()
      }
    }
  }
}
