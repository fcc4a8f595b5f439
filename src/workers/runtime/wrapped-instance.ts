import path from 'node:path';
import type { ExitInfo, JobInstance, JobKind } from './types.ts';
import type { Wrapper } from './os-util.ts';
import { readIntFile } from './os-util.ts';

/**
 * Runs `"$@"` with stdin on /dev/null and stdout+stderr on a real pipe into
 * `cat >> LOG`, then writes the command's exit status to STATUS.
 * Arguments: STATUS LOG CAT COMMAND... (CAT is cat's absolute path: the
 * wrapper runs with the job's environment, whose PATH may be anything).
 * The subshell's own stderr goes to /dev/null so the shell's "Killed" notes do
 * not end up in the job's log. Files are created with umask 077: the log is
 * 0600, root's (it holds what the job printed).
 */
export const PIPE_WRAPPER = [
  'statf=$1; log=$2; cat=$3; shift 3',
  // The log (and whatever the runtime's tools create) is root's alone; jobs set their own umask.
  'umask 077',
  'exec </dev/null',
  '( "$@" 2>&1; echo $? > "$statf" ) 2>/dev/null | "$cat" >> "$log"',
].join('\n');

/** Common part of an instance started through a wrapper script. */
export abstract class WrappedInstance implements JobInstance {
  abstract readonly kind: JobKind;
  readonly name: string;
  readonly dir: string;
  readonly logFile: string;
  readonly exited: Promise<ExitInfo>;
  pid = 0;
  protected readonly wrapper: Wrapper;
  private ended = false;

  constructor(name: string, dir: string, logFile: string, wrapper: Wrapper, statusFile: string) {
    this.name = name;
    this.dir = dir;
    this.logFile = logFile;
    this.wrapper = wrapper;
    this.exited = wrapper.exited
      .then(() => this.afterExit())
      .then(
        (): ExitInfo => {
          const code = readIntFile(statusFile);
          return code === undefined
            ? { code: 255, error: 'the job wrapper ended without an exit status' }
            : { code };
        },
        (e: unknown): ExitInfo => ({ code: 255, error: String(e) }),
      )
      .finally(() => {
        this.ended = true;
      });
  }

  isRunning(): boolean {
    return !this.ended;
  }

  /** Cleanup once the wrapper has ended (e.g. runc delete). */
  protected async afterExit(): Promise<void> {}

  abstract checkpoint(imageDir: string): Promise<{ seconds: number; bytes: number }>;
  abstract pause(): Promise<void>;
  abstract resume(): Promise<void>;
  abstract kill(): Promise<void>;
}

export function statusFileOf(dir: string, attempt: string): string {
  return path.join(dir, `exit-status.${attempt}`);
}
