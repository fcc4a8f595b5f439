import { constants, existsSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StdchkError, errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { MARKER_FILE, checkpointDir } from '../jobs/layout.ts';
import type { CheckpointMarker } from '../jobs/layout.ts';
import type { LocalJob } from './local-job.ts';
import type { SchedulerLink } from './scheduler-link.ts';
import type { CheckpointOutcome } from '../jobs/messages.ts';
import { isFenced } from './retry.ts';
import { newBytesBetween, pageHashes } from './page-hashes.ts';

export interface CheckpointProtocolOptions {
  /** The checkpoint storage as a folder. */
  mount: string;
  workerId: string;
  link: SchedulerLink;
  logger: Logger;
  /** Copies what the job wrote so far to its log in the storage (no-op without a lease). */
  shipLog(job: LocalJob): Promise<void>;
  /** The job is not ours any more: stop it. */
  drop(job: LocalJob, why: string): void;
  /** Told of each checkpoint written or discarded (metrics). */
  onWritten?: ((written: Omit<CheckpointOutcome, 'seq'>) => void) | undefined;
}

type Written = Omit<CheckpointOutcome, 'seq'>;

/**
 * One checkpoint of a running job, in the order that makes it safe:
 *
 * 1. reserve a seq with the scheduler (which refuses a worker that no longer
 *    holds the job: fencing);
 * 2. ship the log so far, dump the job into `jobs/<job>/<seq>/` (it keeps
 *    running), ship what it wrote up to the dump;
 * 3. the folder barrier: every file of the checkpoint durable, or EIO;
 * 4. measure what is new against the previous checkpoint;
 * 5. only if the lease still holds, write the completion marker (fsynced);
 * 6. report the result.
 *
 * A failure anywhere in 2-5 discards the folder and reports the checkpoint
 * failed; the job keeps running and older checkpoints are untouched.
 */
export class CheckpointProtocol {
  private readonly opts: CheckpointProtocolOptions;
  private readonly log: Logger;

  constructor(opts: CheckpointProtocolOptions) {
    this.opts = opts;
    this.log = opts.logger;
  }

  /** Takes one checkpoint of `job` (running); resolves when it is reported or abandoned. */
  async run(job: LocalJob): Promise<void> {
    const seq = await this.begin(job);
    if (seq === undefined || job.gone) return;
    let written: Written;
    if (job.phase === 'running') {
      job.to('checkpointing');
      written = await this.write(job, seq);
      job.checkpointDone();
      this.opts.onWritten?.(written);
    } else {
      written = { ok: false, error: `job is ${job.phase}`, seconds: 0, bytes: 0, newBytes: 0 };
    }
    job.lastCheckpointEnd = this.opts.link.lease.now();
    await this.report(job, { seq, ...written });
  }

  private async begin(job: LocalJob): Promise<number | undefined> {
    try {
      return await this.opts.link.beginCheckpoint(job);
    } catch (e) {
      if (isFenced(e)) {
        this.opts.drop(job, errorMessage(e));
      } else {
        // Not now (the scheduler is busy or unreachable): try again in about a second.
        const back = Math.max(0, job.intervalSeconds * 1000 - 1_000);
        job.lastCheckpointEnd = this.opts.link.lease.now() - back;
      }
      return undefined;
    }
  }

  /** Steps 2-5; never throws: a failure is a failed checkpoint, its folder gone. */
  private async write(job: LocalJob, seq: number): Promise<Written> {
    const dir = checkpointDir(this.opts.mount, job.jobId, seq);
    try {
      return await this.dumpAndMark(job, seq, dir);
    } catch (e) {
      // Stopped under the dump (a cancel, a move): the dump's failure is expected, not news.
      if (job.gone)
        this.log.info(
          { job: job.jobId, seq, err: errorMessage(e) },
          'checkpoint abandoned: the job was stopped',
        );
      else this.log.warn({ job: job.jobId, seq, err: errorMessage(e) }, 'checkpoint failed');
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      return { ok: false, error: errorMessage(e), seconds: 0, bytes: 0, newBytes: 0 };
    }
  }

  private async dumpAndMark(job: LocalJob, seq: number, dir: string): Promise<Written> {
    this.checkStillOurs(job, 'before the dump');
    const instance = job.instance;
    if (!instance) throw new StdchkError('CONFLICT', 'the job is not running here');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.opts.shipLog(job);
    const dump = await instance.checkpoint(dir);
    // Output written before the freeze must be in the storage before the
    // checkpoint counts: a restore re-emits only what was still in the pipe.
    await sleep(50);
    await job.shipper.flush();
    await folderBarrier(dir);
    const { pages, newBytes } = await this.measure(job, dir);
    this.checkStillOurs(job, 'during the checkpoint; not marking it complete');
    await this.writeMarker(job, seq, dir, dump);
    job.lastPages = { seq, pages };
    job.lastSeq = seq;
    this.log.info(
      { job: job.jobId, seq, seconds: dump.seconds, bytes: dump.bytes, newBytes },
      'checkpoint written',
    );
    return { ok: true, error: '', seconds: dump.seconds, bytes: dump.bytes, newBytes };
  }

  /** The lease holds and the job is still ours and checkpointing; otherwise CONFLICT. */
  private checkStillOurs(job: LocalJob, when: string): void {
    if (!this.opts.link.lease.valid()) throw new StdchkError('CONFLICT', `lease lost ${when}`);
    if (job.phase !== 'checkpointing') throw new StdchkError('CONFLICT', `job is ${job.phase} ${when}`);
  }

  /** Distinct non-zero 4 KiB pages that the previous checkpoint did not hold. */
  private async measure(
    job: LocalJob,
    dir: string,
  ): Promise<{ pages: Map<string, number>; newBytes: number }> {
    const pages = await pageHashes(dir);
    const previous =
      job.lastPages?.seq === job.lastSeq ? job.lastPages.pages : await this.pagesOf(job, job.lastSeq);
    return { pages, newBytes: newBytesBetween(previous, pages) };
  }

  private async pagesOf(job: LocalJob, seq: number): Promise<Map<string, number> | undefined> {
    if (seq <= 0) return undefined;
    return pageHashes(checkpointDir(this.opts.mount, job.jobId, seq)).catch(() => undefined);
  }

  private async writeMarker(
    job: LocalJob,
    seq: number,
    dir: string,
    dump: { seconds: number; bytes: number },
  ): Promise<void> {
    const marker: CheckpointMarker = {
      job: job.jobId,
      seq,
      epoch: job.epoch,
      worker: this.opts.workerId,
      kind: job.spec.kind,
      completedAt: new Date().toISOString(),
      seconds: dump.seconds,
      bytes: dump.bytes,
      logBytes: job.shipper.shippedBytes,
    };
    await writeDurably(path.join(dir, MARKER_FILE), JSON.stringify(marker, null, 1) + '\n');
  }

  private async report(job: LocalJob, report: CheckpointOutcome): Promise<void> {
    try {
      await this.opts.link.reportCheckpoint(job, report, () => (job.gone ? 'the job is gone' : undefined));
    } catch (e) {
      if (isFenced(e)) this.opts.drop(job, errorMessage(e));
      else
        this.log.warn({ job: job.jobId, seq: report.seq, err: errorMessage(e) }, 'checkpoint not reported');
    }
  }
}

/**
 * The folder barrier: fsync of the checkpoint folder itself. On the stdchk
 * mount it returns once every file written beneath the folder is committed
 * on its replicas, and fails with EIO if any could not be; CRIU ignores
 * errors from close(), so this is where a checkpoint missing an image is
 * caught. (On a local folder it syncs the folder's entries.)
 *
 * Test-only fault injection: while the file named by
 * STDCHK_FAULT_BARRIER_EIO_FILE exists, the barrier fails with EIO.
 */
export async function folderBarrier(dir: string): Promise<void> {
  try {
    const fault = process.env.STDCHK_FAULT_BARRIER_EIO_FILE;
    if (fault && existsSync(fault)) {
      throw Object.assign(new Error(`EIO: i/o error, fsync '${dir}' (STDCHK_FAULT_BARRIER_EIO_FILE)`), {
        code: 'EIO',
      });
    }
    const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new StdchkError(
      'UNAVAILABLE',
      `the folder barrier failed (not every file of the checkpoint is durable): ${errorMessage(e)}`,
      { cause: e },
    );
  }
}

/** Writes a small file and fsyncs it before closing (on the stdchk mount, close commits). */
async function writeDurably(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
