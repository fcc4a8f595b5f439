import type { Logger } from '../logging/index.ts';
import { errorMessage } from '../errors/index.ts';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Keeps a daemon in the foreground until SIGINT/SIGTERM, then stops it cleanly
 * and exits 0. A second signal exits at once.
 */
export function runUntilSignalled(name: string, logger: Logger, daemon: Stoppable): Promise<never> {
  return new Promise<never>(() => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, `${name}: second signal, exiting now`);
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, `${name}: stopping`);
      daemon.stop().then(
        () => {
          logger.info(`${name}: stopped`);
          process.exit(0);
        },
        (e: unknown) => {
          logger.error({ err: e }, `${name}: error while stopping: ${errorMessage(e)}`);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
