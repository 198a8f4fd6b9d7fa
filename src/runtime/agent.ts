import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { MaestroError, errorMessage } from '../common/index.js';
import { describeExit, explainNotHealthy, type ExitFacts, type NotHealthyFacts } from './explain.js';
import { initialHealth, nextHealth, type HealthState } from './health-state.js';
import { LogFollower } from './log-follower.js';
import { appendMarker, currentLogPath, lastLines, rotateIfLarge } from './log-files.js';
import { allocatePort, checkPort } from './ports.js';
import { probeReplica, type ProbeResult } from './probe.js';
import { isSameProcessAlive, killGroupLeftovers, processStartTime, terminateGroup } from './processes.js';
import { CRASH_LOOP_EXITS, DEFAULT_BACKOFF, decideRestart } from './restart-policy.js';
import { assertReplicaId, buildReplicaEnv, validateReplicaSpec } from './spec.js';
import { readRecord, readRecords, removeRecord, writeRecord, type ReplicaRecord } from './state-files.js';
import type { AgentOptions, ReplicaSpec, ReplicaState, ReplicaStatus, RestartBackoff } from './types.js';

const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_LOG_KEEP = 3;
const DEFAULT_LOG_CHECK_MS = 2000;
const DEFAULT_STOP_GRACE_MS = 10_000;
/** While starting, probe this often whatever the interval, so a new revision is seen healthy right away. */
const STARTING_PROBE_MS = 100;
/** Adopted processes are not our children: no 'exit' event, so their pid is polled. */
const ADOPTED_POLL_MS = 1000;
/** adopt() waits at most this long for re-attached replicas to pass or fail their first probes. */
const ADOPT_SETTLE_MAX_MS = 10_000;
const DEFAULT_TAIL_LINES = 1000;
const LOG_TAIL_IN_ERRORS = 20;

/** One process of a replica: spawned by this agent, or adopted from an earlier one. */
interface Run {
  generation: number;
  /** Absent when spawning failed outright. */
  pid?: number;
  processStartTime?: string;
  child?: ChildProcess;
  adopted: boolean;
  startedAt: Date;
  livenessTimer?: NodeJS.Timeout;
}

interface Waiter {
  resolve: (status: ReplicaStatus) => void;
  reject: (error: MaestroError) => void;
  timer: NodeJS.Timeout;
}

interface Replica {
  spec: ReplicaSpec;
  port: number;
  state: ReplicaState;
  restarts: number;
  /** Start of the current (or last) process. */
  startedAt: Date;
  run?: Run;
  /** Bumped for every process, so late events of an earlier process are recognised and ignored. */
  generation: number;
  lastExit?: ExitFacts & { at: Date };
  lastError?: string;
  health: HealthState;
  lastProbe?: ProbeResult;
  /** Some probe of the current process passed. */
  answered: boolean;
  exitsWithoutHealthy: number;
  backoffStep: number;
  healthySince?: number;
  probeTimer?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  stopping?: Promise<void>;
  waiters: Set<Waiter>;
}

/**
 * The runtime agent: runs each replica as its own process group on this machine, checks its health,
 * restarts it when it crashes, rotates its log, and records it in a state file so that a later agent
 * (after the control plane died) adopts it instead of killing it.
 *
 * Emits 'change' (ReplicaStatus) on every state change and 'warning' (message) for problems it works around.
 */
export class Agent extends EventEmitter {
  private readonly stateDir: string;
  private readonly logDir: string;
  private readonly logMaxBytes: number;
  private readonly logKeep: number;
  private readonly backoff: RestartBackoff;
  private readonly replicas = new Map<string, Replica>();
  /** Ids whose start() is between its checks and its spawn. */
  private readonly reserved = new Set<string>();
  private readonly followers = new Map<string, Set<LogFollower>>();
  private readonly rotationTimer: NodeJS.Timeout;
  private closed = false;

  constructor(options: AgentOptions) {
    super();
    this.stateDir = options.stateDir;
    this.logDir = options.logDir;
    this.logMaxBytes = options.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.logKeep = options.logKeep ?? DEFAULT_LOG_KEEP;
    this.backoff = options.restartBackoff ?? DEFAULT_BACKOFF;
    const logCheckMs = options.logCheckIntervalMs ?? DEFAULT_LOG_CHECK_MS;
    if (!(this.logMaxBytes > 0)) throw new MaestroError('validation_error', `logMaxBytes must be positive (got ${this.logMaxBytes})`);
    if (!Number.isInteger(this.logKeep) || this.logKeep < 0) {
      throw new MaestroError('validation_error', `logKeep must be a whole number of files, 0 or more (got ${this.logKeep})`);
    }
    if (!(this.backoff.initialMs > 0) || !(this.backoff.maxMs >= this.backoff.initialMs)) {
      throw new MaestroError(
        'validation_error',
        `restartBackoff needs 0 < initialMs <= maxMs (got ${this.backoff.initialMs} and ${this.backoff.maxMs})`,
      );
    }
    if (!(logCheckMs > 0)) throw new MaestroError('validation_error', `logCheckIntervalMs must be positive (got ${logCheckMs})`);
    // The state files hold the apps' environments (a restart needs them): private to Maestro.
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.logDir, { recursive: true });
    this.rotationTimer = setInterval(() => this.rotateLogs(), logCheckMs);
    this.rotationTimer.unref();
  }

  // ---- the public face ---------------------------------------------------------------------------

  async start(input: ReplicaSpec): Promise<ReplicaStatus> {
    this.assertOpen();
    const spec = validateReplicaSpec(input);
    const { id } = spec;
    if (this.replicas.has(id) || this.reserved.has(id)) {
      throw new MaestroError('conflict', `replica ${id} is already running on this agent; stop it first or use another id`);
    }
    if (readRecord(this.stateDir, id) !== undefined) {
      throw new MaestroError(
        'conflict',
        `replica ${id} has a state file in ${this.stateDir} left by an earlier agent; call adopt() to take it over, or stop(${JSON.stringify(id)})`,
      );
    }
    if (!isDirectory(spec.cwd)) {
      throw new MaestroError('validation_error', `replica ${id}: cwd ${spec.cwd} is not a directory; is the revision's artifact unpacked?`);
    }
    this.reserved.add(id);
    try {
      const port = spec.port === undefined ? await allocatePort(this.portsInUse()) : await this.claimFixedPort(spec);
      this.assertOpen();
      const replica = newReplica(spec, port, 0, new Date());
      this.replicas.set(id, replica);
      this.launch(replica);
      try {
        this.persist(replica);
      } catch (error) {
        // A replica without a state file could never be adopted: do not leave it running.
        await this.stop(id, { graceMs: 1000 });
        throw new MaestroError('internal', `could not write the state file of replica ${id} in ${this.stateDir}: ${errorMessage(error)}`);
      }
      this.emitChange(replica);
      return this.toStatus(replica);
    } finally {
      this.reserved.delete(id);
    }
  }

  /** Resolves once the replica is healthy; rejects with MaestroError('unhealthy') saying why it is not. */
  async waitHealthy(id: string, timeoutMs: number): Promise<ReplicaStatus> {
    const replica = this.require(id);
    if (!(timeoutMs > 0)) throw new MaestroError('validation_error', `timeoutMs must be positive (got ${timeoutMs})`);
    if (replica.state === 'healthy') return this.toStatus(replica);
    return new Promise<ReplicaStatus>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          replica.waiters.delete(waiter);
          void this.failWaiter(replica, waiter, explainNotHealthy(this.notHealthyFacts(replica, timeoutMs)));
        }, timeoutMs),
      };
      replica.waiters.add(waiter);
      this.settleWaiters(replica);
    });
  }

  /** SIGTERM to the replica's process group, SIGKILL after `graceMs`; forgets the replica. Idempotent. */
  async stop(id: string, options: { graceMs?: number } = {}): Promise<void> {
    assertReplicaId(id);
    const graceMs = options.graceMs ?? DEFAULT_STOP_GRACE_MS;
    const replica = this.replicas.get(id);
    if (!replica) return this.stopUnmanaged(id, graceMs);
    replica.stopping ??= this.stopManaged(replica, graceMs);
    return replica.stopping;
  }

  /**
   * Takes over the replicas recorded in the state directory: live processes (the same pid with the same
   * start time) are re-attached, dead ones restarted from their saved spec, interrupted stops finished.
   */
  async adopt(): Promise<ReplicaStatus[]> {
    this.assertOpen();
    const { records, unreadable } = readRecords(this.stateDir);
    for (const bad of unreadable) this.emit('warning', `ignored state file ${bad.file}: ${bad.reason}`);
    const interruptedStops: Promise<void>[] = [];
    const reattached: Replica[] = [];
    for (const record of records) {
      const { id } = record.spec;
      if (this.replicas.has(id) || this.reserved.has(id)) continue;
      if (record.phase === 'stopping') {
        interruptedStops.push(this.finishStop(record, DEFAULT_STOP_GRACE_MS));
        continue;
      }
      const replica = newReplica(record.spec, record.port, record.restarts, new Date(record.startedAt));
      this.replicas.set(id, replica);
      if (record.phase === 'crashed') {
        replica.state = 'crashed';
        replica.exitsWithoutHealthy = CRASH_LOOP_EXITS;
        replica.lastError = 'it was in a crash loop before this agent started; stop it and start it again';
      } else if (record.pid !== undefined && isSameProcessAlive(record.pid, record.processStartTime)) {
        this.attach(replica, record.pid, record.processStartTime);
        reattached.push(replica);
      } else {
        this.mark(replica, record.pid === undefined
          ? `replica ${id} was waiting to restart when the previous agent ended; restarting`
          : `replica ${id} (pid ${record.pid}) died while no agent was watching; restarting`);
        if (record.pid !== undefined) killGroupLeftovers(record.pid);
        replica.lastExit = { code: null, signal: null, at: new Date() };
        replica.exitsWithoutHealthy = 1;
        replica.restarts += 1;
        this.launch(replica);
        this.persistQuietly(replica);
      }
      this.emitChange(replica);
    }
    await Promise.all(interruptedStops);
    await this.leftStarting(reattached);
    return this.list();
  }

  list(): ReplicaStatus[] {
    return [...this.replicas.values()].map((replica) => this.toStatus(replica));
  }

  get(id: string): ReplicaStatus | undefined {
    const replica = this.replicas.get(id);
    return replica && this.toStatus(replica);
  }

  logFile(id: string): string {
    assertReplicaId(id);
    return currentLogPath(this.logDir, id);
  }

  /** The last lines (default 1000) across the live log and its rotated files, oldest first. */
  async readLogs(id: string, options: { tail?: number } = {}): Promise<string[]> {
    assertReplicaId(id);
    const tail = options.tail ?? DEFAULT_TAIL_LINES;
    if (!Number.isInteger(tail) || tail < 0) throw new MaestroError('validation_error', `tail must be a whole number of lines (got ${tail})`);
    return lastLines(this.logDir, id, this.logKeep, tail);
  }

  /** Calls `onLine` for every line written from now on, across rotations; returns the unsubscribe function. */
  followLogs(id: string, onLine: (line: string) => void): () => void {
    const follower = new LogFollower(this.logFile(id), onLine);
    let set = this.followers.get(id);
    if (!set) this.followers.set(id, (set = new Set()));
    set.add(follower);
    return () => {
      follower.stop();
      set.delete(follower);
      if (set.size === 0 && this.followers.get(id) === set) this.followers.delete(id);
    };
  }

  /**
   * Stops timers and lets go of the replicas. With stopReplicas: false they keep running, recorded in
   * their state files for the next agent to adopt (what happens when the control plane dies).
   */
  async shutdown(options: { stopReplicas: boolean; graceMs?: number }): Promise<void> {
    this.closed = true;
    clearInterval(this.rotationTimer);
    if (options.stopReplicas) {
      await Promise.all([...this.replicas.keys()].map((id) => this.stop(id, { graceMs: options.graceMs })));
    }
    for (const replica of this.replicas.values()) {
      this.clearTimers(replica);
      const child = replica.run?.child;
      if (child) {
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        child.on('error', () => {});
        child.unref();
      }
      for (const waiter of replica.waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new MaestroError('unavailable', `the agent shut down before replica ${replica.spec.id} became healthy`));
      }
      replica.waiters.clear();
    }
    this.replicas.clear();
    for (const set of this.followers.values()) for (const follower of set) follower.stop();
    this.followers.clear();
  }

  // ---- processes ---------------------------------------------------------------------------------

  /** Spawns the replica's process as a new session (its own process group), output straight to its log. */
  private launch(replica: Replica): void {
    const { spec } = replica;
    const generation = ++replica.generation;
    const logPath = this.logFile(spec.id);
    const env = buildReplicaEnv(spec.env, replica.port, process.env);
    const startedAt = new Date();
    let child: ChildProcess | undefined;
    let spawnError: string | undefined;
    // O_APPEND: the app writes to the file itself, so a dead control plane neither kills nor blocks it,
    // and copy-and-truncate rotation leaves its writes at the new end of the file.
    let fd: number | undefined;
    try {
      fd = openSync(logPath, 'a');
      child = spawn('/bin/sh', ['-c', spec.command], { cwd: spec.cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    } catch (error) {
      // Counted as an exit like any other: restarted with backoff, a crash loop if it persists.
      spawnError = errorMessage(error);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const pid = child?.pid;
    const run: Run = { generation, pid, processStartTime: pid === undefined ? undefined : processStartTime(pid), child, adopted: false, startedAt };
    replica.run = run;
    replica.startedAt = startedAt;
    replica.state = 'starting';
    replica.health = initialHealth();
    replica.lastProbe = undefined;
    replica.answered = false;
    if (child) {
      // Not unref'd children would keep the control plane's event loop alive; the replicas outlive it anyway.
      child.unref();
      child.once('exit', (code, signal) => this.onExit(replica, generation, code, signal));
      child.on('error', (error) => {
        if (child.pid === undefined) this.onExit(replica, generation, null, null, error.message);
      });
    }
    if (pid === undefined) {
      if (spawnError !== undefined) queueMicrotask(() => this.onExit(replica, generation, null, null, spawnError));
      return;
    }
    const restart = replica.restarts > 0 ? `, restart ${replica.restarts}` : '';
    this.mark(replica, `replica ${spec.id} started pid ${pid} (revision ${spec.revisionId}, port ${replica.port}${restart}) at ${startedAt.toISOString()}`);
    this.scheduleProbe(replica, 0);
  }

  /** Re-attaches a live process started by an earlier agent. */
  private attach(replica: Replica, pid: number, startTime: string | undefined): void {
    const generation = ++replica.generation;
    const run: Run = { generation, pid, processStartTime: startTime, adopted: true, startedAt: replica.startedAt };
    replica.run = run;
    replica.state = 'starting';
    run.livenessTimer = setInterval(() => {
      if (!isSameProcessAlive(pid, startTime)) this.onExit(replica, generation, null, null);
    }, ADOPTED_POLL_MS);
    run.livenessTimer.unref();
    this.mark(replica, `replica ${replica.spec.id} pid ${pid} adopted by a new agent at ${new Date().toISOString()}`);
    this.scheduleProbe(replica, 0);
  }

  private onExit(replica: Replica, generation: number, code: number | null, signal: string | null, spawnError?: string): void {
    const run = replica.run;
    if (this.closed || this.replicas.get(replica.spec.id) !== replica || !run || run.generation !== generation) return;
    // stop() waits for the process group itself; an exit it caused is no crash.
    if (replica.state === 'stopping' || replica.state === 'stopped') return;
    const now = Date.now();
    this.clearTimers(replica);
    replica.run = undefined;
    // Whatever the app spawned dies with it, as it would on stop(): leftovers could hold the port.
    if (run.pid !== undefined) killGroupLeftovers(run.pid);
    const exit: ExitFacts = { code, signal, runMs: run.adopted ? undefined : now - run.startedAt.getTime(), answered: replica.answered };
    replica.lastExit = { ...exit, at: new Date(now) };
    replica.lastError = spawnError === undefined ? describeExit(exit) : `could not start: ${spawnError}`;
    this.mark(replica, `replica ${replica.spec.id}${run.pid === undefined ? '' : ` pid ${run.pid}`} ${replica.lastError}`);
    const healthyForMs = replica.healthySince === undefined ? 0 : now - replica.healthySince;
    replica.healthySince = undefined;
    replica.health = initialHealth();
    replica.exitsWithoutHealthy += 1;
    const decision = decideRestart(
      { exitsWithoutHealthy: replica.exitsWithoutHealthy, backoffStep: replica.backoffStep, healthyForMs },
      this.backoff,
    );
    if (decision.action === 'give_up') {
      replica.state = 'crashed';
      this.mark(replica, `replica ${replica.spec.id} exited ${replica.exitsWithoutHealthy} times without becoming healthy: crash loop, not restarting`);
    } else {
      replica.state = 'starting';
      replica.backoffStep = decision.nextBackoffStep;
      this.mark(replica, `replica ${replica.spec.id} restarting in ${decision.delayMs} ms`);
      replica.restartTimer = setTimeout(() => this.restart(replica), decision.delayMs);
      replica.restartTimer.unref();
    }
    this.persistQuietly(replica);
    this.emitChange(replica);
  }

  private restart(replica: Replica): void {
    replica.restartTimer = undefined;
    if (this.closed || this.replicas.get(replica.spec.id) !== replica || replica.run || replica.state !== 'starting') return;
    replica.restarts += 1;
    this.launch(replica);
    this.persistQuietly(replica);
    this.emitChange(replica);
  }

  private async stopManaged(replica: Replica, graceMs: number): Promise<void> {
    const { id } = replica.spec;
    replica.state = 'stopping';
    this.clearTimers(replica);
    // Recorded first: if the control plane dies mid-stop, the next agent finishes the stop.
    this.persistQuietly(replica);
    this.emitChange(replica);
    const run = replica.run;
    let outcome = 'no process was running';
    if (run?.pid !== undefined) {
      const result = await terminateGroup(run.pid, run.processStartTime, graceMs);
      outcome = result === 'killed' ? `still running after ${graceMs} ms, killed` : result === 'terminated' ? 'terminated' : 'already gone';
    }
    replica.run = undefined;
    replica.state = 'stopped';
    this.mark(replica, `replica ${id} stopped (${outcome})`);
    removeRecord(this.stateDir, id);
    if (this.replicas.get(id) === replica) this.replicas.delete(id);
    this.emitChange(replica);
  }

  /** stop() of a replica this agent does not manage: one recorded by an earlier agent and not adopted. */
  private async stopUnmanaged(id: string, graceMs: number): Promise<void> {
    const record = readRecord(this.stateDir, id);
    if (record) await this.finishStop(record, graceMs);
  }

  private async finishStop(record: ReplicaRecord, graceMs: number): Promise<void> {
    if (record.pid !== undefined) await terminateGroup(record.pid, record.processStartTime, graceMs);
    removeRecord(this.stateDir, record.spec.id);
    appendMarkerQuietly(currentLogPath(this.logDir, record.spec.id), `replica ${record.spec.id} stopped`);
  }

  // ---- health ------------------------------------------------------------------------------------

  private scheduleProbe(replica: Replica, delayMs: number): void {
    clearTimeout(replica.probeTimer);
    const generation = replica.generation;
    replica.probeTimer = setTimeout(() => void this.probe(replica, generation), delayMs);
    replica.probeTimer.unref();
  }

  private async probe(replica: Replica, generation: number): Promise<void> {
    const result = await probeReplica(replica.port, replica.spec.health);
    const live = replica.state === 'starting' || replica.state === 'healthy' || replica.state === 'unhealthy';
    if (this.closed || !live || replica.run?.generation !== generation || replica.generation !== generation) return;
    replica.lastProbe = result;
    if (result.ok) replica.answered = true;
    else replica.lastError = result.message;
    const before = replica.health.phase;
    replica.health = nextHealth(replica.health, result.ok, replica.spec.health);
    const after = replica.health.phase;
    if (after !== before) {
      replica.state = after;
      if (after === 'healthy') {
        replica.exitsWithoutHealthy = 0;
        replica.healthySince = Date.now();
        replica.lastError = undefined;
      } else {
        replica.healthySince = undefined;
      }
      this.emitChange(replica);
    }
    this.scheduleProbe(replica, after === 'starting' ? STARTING_PROBE_MS : replica.spec.health.intervalMs);
  }

  /** Resolves when every one of `replicas` has left 'starting' (passed or failed its first probes), or after a bound. */
  private leftStarting(replicas: Replica[]): Promise<void> {
    const pending = new Set(replicas.filter((replica) => replica.state === 'starting').map((replica) => replica.spec.id));
    if (pending.size === 0) return Promise.resolve();
    const boundMs = Math.max(...replicas.map((replica) => adoptSettleMs(replica.spec)));
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('change', onChange);
        resolve();
      };
      const onChange = (status: ReplicaStatus): void => {
        if (status.state !== 'starting') pending.delete(status.id);
        if (pending.size === 0) done();
      };
      const timer = setTimeout(done, boundMs);
      this.on('change', onChange);
    });
  }

  private settleWaiters(replica: Replica): void {
    if (replica.waiters.size === 0) return;
    const { state } = replica;
    if (state === 'starting' || state === 'unhealthy') return;
    for (const waiter of replica.waiters) {
      clearTimeout(waiter.timer);
      if (state === 'healthy') waiter.resolve(this.toStatus(replica));
      else if (state === 'crashed') void this.failWaiter(replica, waiter, explainNotHealthy(this.notHealthyFacts(replica)));
      else waiter.reject(new MaestroError('conflict', `replica ${replica.spec.id} was stopped before it became healthy`));
    }
    replica.waiters.clear();
  }

  private async failWaiter(replica: Replica, waiter: Waiter, message: string): Promise<void> {
    const status = this.toStatus(replica);
    const logTail = await this.readLogs(replica.spec.id, { tail: LOG_TAIL_IN_ERRORS }).catch(() => []);
    waiter.reject(
      new MaestroError('unhealthy', message, {
        replicaId: status.id,
        port: status.port,
        state: status.state,
        restarts: status.restarts,
        lastExit: status.lastExit,
        logTail,
      }),
    );
  }

  private notHealthyFacts(replica: Replica, waitedMs?: number): NotHealthyFacts {
    return {
      id: replica.spec.id,
      port: replica.port,
      fixedPort: replica.spec.port !== undefined,
      state: replica.state,
      restarts: replica.restarts,
      exitsWithoutHealthy: replica.exitsWithoutHealthy,
      running: replica.run?.pid !== undefined,
      lastExit: replica.lastExit,
      lastProbe: replica.lastProbe,
      answered: replica.answered,
      waitedMs,
    };
  }

  // ---- ports, logs, state files ------------------------------------------------------------------

  private portsInUse(): Set<number> {
    return new Set([...this.replicas.values()].map((replica) => replica.port));
  }

  private async claimFixedPort(spec: ReplicaSpec): Promise<number> {
    const port = spec.port!;
    const holder = [...this.replicas.values()].find((replica) => replica.port === port);
    if (holder) {
      throw new MaestroError(
        'conflict',
        `port ${port} is already in use by replica ${holder.spec.id} (revision ${holder.spec.revisionId}); stop it first, or drop the fixed port so Maestro allocates one`,
      );
    }
    const availability = await checkPort(port);
    if (availability === 'in_use') {
      throw new MaestroError(
        'conflict',
        `port ${port} is already in use by another process on this machine; stop that process, or drop the fixed port so Maestro allocates one`,
      );
    }
    if (availability === 'forbidden') {
      throw new MaestroError('validation_error', `port ${port} needs privileges this machine's user does not have; use a port above 1023`);
    }
    return port;
  }

  private rotateLogs(): void {
    for (const id of this.replicas.keys()) {
      const followers = this.followers.get(id);
      try {
        const rotated = rotateIfLarge(this.logFile(id), this.logMaxBytes, this.logKeep, () => followers?.forEach((follower) => follower.drain()));
        if (rotated) followers?.forEach((follower) => follower.rewind());
      } catch (error) {
        this.emit('warning', `could not rotate the log of replica ${id}: ${errorMessage(error)}`);
      }
    }
  }

  /** The agent's own lines in the replica's log (never the environment: it may hold secrets). */
  private mark(replica: Replica, text: string): void {
    appendMarkerQuietly(this.logFile(replica.spec.id), text);
  }

  private persist(replica: Replica): void {
    const { run } = replica;
    writeRecord(this.stateDir, {
      version: 1,
      spec: replica.spec,
      port: replica.port,
      pid: run?.pid,
      processStartTime: run?.processStartTime,
      restarts: replica.restarts,
      startedAt: replica.startedAt.toISOString(),
      phase: replica.state === 'crashed' ? 'crashed' : replica.state === 'stopping' ? 'stopping' : 'running',
    });
  }

  private persistQuietly(replica: Replica): void {
    try {
      this.persist(replica);
    } catch (error) {
      this.emit('warning', `could not write the state file of replica ${replica.spec.id}: ${errorMessage(error)}`);
    }
  }

  // ---- bookkeeping -------------------------------------------------------------------------------

  private emitChange(replica: Replica): void {
    this.emit('change', this.toStatus(replica));
    this.settleWaiters(replica);
  }

  private toStatus(replica: Replica): ReplicaStatus {
    const { spec, run, lastExit } = replica;
    return {
      id: spec.id,
      revisionId: spec.revisionId,
      ...(run?.pid === undefined ? {} : { pid: run.pid }),
      port: replica.port,
      state: replica.state,
      restarts: replica.restarts,
      startedAt: replica.startedAt,
      ...(lastExit ? { lastExit: { code: lastExit.code, signal: lastExit.signal, at: lastExit.at } } : {}),
      ...(replica.lastError === undefined ? {} : { lastError: replica.lastError }),
      adopted: run?.adopted ?? false,
      labels: { ...spec.labels },
    };
  }

  private clearTimers(replica: Replica): void {
    clearTimeout(replica.probeTimer);
    clearTimeout(replica.restartTimer);
    clearInterval(replica.run?.livenessTimer);
    replica.probeTimer = undefined;
    replica.restartTimer = undefined;
  }

  private require(id: string): Replica {
    const replica = this.replicas.get(id);
    if (!replica) throw new MaestroError('not_found', `no replica ${JSON.stringify(id)} on this agent`);
    return replica;
  }

  private assertOpen(): void {
    if (this.closed) throw new MaestroError('unavailable', 'the agent has shut down; create a new Agent');
  }
}

function newReplica(spec: ReplicaSpec, port: number, restarts: number, startedAt: Date): Replica {
  return {
    spec,
    port,
    state: 'starting',
    restarts,
    startedAt,
    generation: 0,
    health: initialHealth(),
    answered: false,
    exitsWithoutHealthy: 0,
    backoffStep: 0,
    waiters: new Set(),
  };
}

/** Long enough for healthyThreshold probes at the starting pace, each allowed its full timeout. */
function adoptSettleMs(spec: ReplicaSpec): number {
  return Math.min(ADOPT_SETTLE_MAX_MS, spec.health.healthyThreshold * (STARTING_PROBE_MS + spec.health.timeoutMs) + STARTING_PROBE_MS);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function appendMarkerQuietly(file: string, text: string): void {
  try {
    appendMarker(file, text);
  } catch {
    // The log directory vanished or is full: the marker is a courtesy, the replica matters more.
  }
}
