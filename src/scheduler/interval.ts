import type { CheckpointPolicy } from '../jobs/spec.ts';
import { MIN_INTERVAL_MS } from '../jobs/spec.ts';

/**
 * Checkpoint interval policy.
 *
 * Young (1974), first order: T = sqrt(2 C M).
 * Daly (2006), "A higher order estimate of the optimum checkpoint interval
 * for restart dumps", FGCS 22(3), 2006:
 *   T = sqrt(2 C M) * [1 + (1/3) sqrt(C / (2M)) + (1/9) (C / (2M))] - C   for C < 2M
 *   T = M                                                              for C >= 2M
 * where C is the time to write a checkpoint, M the mean time between
 * failures, and T the compute time between the end of one checkpoint and the
 * start of the next. Daly's examples: C = 5 min with M = 24 h gives 117 min,
 * with M = 6 h 57 min, with M = 15 min 9.1 min.
 */
export function youngInterval(cost: number, mtbf: number): number {
  return Math.sqrt(2 * cost * mtbf);
}

export function dalyInterval(cost: number, mtbf: number): number {
  if (!(cost >= 0) || !(mtbf > 0)) throw new RangeError('checkpoint cost must be >= 0 and MTBF > 0');
  if (cost >= 2 * mtbf) return mtbf;
  const x = cost / (2 * mtbf);
  return Math.sqrt(2 * cost * mtbf) * (1 + Math.sqrt(x) / 3 + x / 9) - cost;
}

export interface IntervalChoice {
  seconds: number;
  policy: 'fixed' | 'auto' | 'off';
  /** C in seconds; 0 when not measured yet. */
  checkpointCost: number;
  /** M in seconds (auto only; 0 otherwise unless given). */
  mtbf: number;
  mtbfSource: 'given' | 'observed' | 'assumed' | '';
  youngSeconds: number;
  reason: string;
}

export interface GridFailureHistory {
  /** Workers declared lost so far. */
  failures: number;
  /** Total time workers were alive, seconds. */
  workerSeconds: number;
}

export interface IntervalInputs {
  policy: CheckpointPolicy;
  /** Measured checkpoint durations, oldest first (seconds). */
  costs: number[];
  history: GridFailureHistory;
  /** M when the job gives none and the grid has seen no failure. */
  defaultMtbfSeconds: number;
  /** C before any checkpoint has been measured. */
  initialCostSeconds?: number;
}

/** How many recent measurements make the estimate of C. */
export const COST_WINDOW = 3;

const fmt = (s: number) => (s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));

/** Observed M: worker uptime per worker failure, once at least one failure was seen. */
export function observedMtbf(h: GridFailureHistory): number | undefined {
  return h.failures > 0 && h.workerSeconds > 0 ? h.workerSeconds / h.failures : undefined;
}

export function chooseInterval(inp: IntervalInputs): IntervalChoice {
  const p = inp.policy;
  const recent = inp.costs.slice(-COST_WINDOW);
  const measured = recent.length > 0 ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
  if (p.policy === 'off') {
    return {
      seconds: 0,
      policy: 'off',
      checkpointCost: measured,
      mtbf: 0,
      mtbfSource: '',
      youngSeconds: 0,
      reason: 'checkpoints are off for this job ("interval": "off")',
    };
  }
  if (p.policy === 'fixed') {
    const seconds = (p.intervalMs ?? MIN_INTERVAL_MS) / 1000;
    return {
      seconds,
      policy: 'fixed',
      checkpointCost: measured,
      mtbf: p.mtbfMs !== undefined ? p.mtbfMs / 1000 : 0,
      mtbfSource: p.mtbfMs !== undefined ? 'given' : '',
      youngSeconds: 0,
      reason: `fixed interval of ${fmt(seconds)} s from the job file`,
    };
  }
  let mtbf: number;
  let mtbfSource: IntervalChoice['mtbfSource'];
  let mtbfWhy: string;
  const observed = observedMtbf(inp.history);
  if (p.mtbfMs !== undefined) {
    mtbf = p.mtbfMs / 1000;
    mtbfSource = 'given';
    mtbfWhy = 'given in the job file';
  } else if (observed !== undefined) {
    mtbf = observed;
    mtbfSource = 'observed';
    mtbfWhy = `observed: ${inp.history.failures} worker failure(s) in ${fmt(inp.history.workerSeconds / 3600)} worker-hours`;
  } else {
    mtbf = inp.defaultMtbfSeconds;
    mtbfSource = 'assumed';
    mtbfWhy = 'assumed: no worker failure observed yet';
  }
  const initial = inp.initialCostSeconds ?? 1;
  const cost = recent.length > 0 ? measured : initial;
  const costWhy =
    recent.length > 0
      ? `mean of the last ${recent.length} checkpoint(s)`
      : `not measured yet, ${fmt(initial)} s assumed until the first checkpoint`;
  const daly = dalyInterval(cost, mtbf);
  const seconds = Math.max(MIN_INTERVAL_MS / 1000, daly);
  const young = youngInterval(cost, mtbf);
  const formula = cost < 2 * mtbf ? 'sqrt(2CM)[1 + (1/3)sqrt(C/2M) + (1/9)(C/2M)] - C' : 'M (C >= 2M)';
  return {
    seconds,
    policy: 'auto',
    checkpointCost: recent.length > 0 ? measured : 0,
    mtbf,
    mtbfSource,
    youngSeconds: young,
    reason:
      `Daly's higher-order optimum ${formula} with C = ${fmt(cost)} s (${costWhy}) and ` +
      `M = ${fmt(mtbf)} s (${mtbfWhy}) gives ${fmt(daly)} s` +
      (seconds > daly ? `, raised to the ${fmt(seconds)} s minimum` : '') +
      `; Young's first order sqrt(2CM) = ${fmt(young)} s`,
  };
}
