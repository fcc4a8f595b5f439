import type { Logger } from '../logging/index.ts';
import { errorMessage } from '../errors/index.ts';
import type { HealthListener } from '../health/http.ts';
import { sdNotify } from '../config/sd-notify.ts';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * `--health-listen HOST:PORT` of the daemons without a gRPC server (mount,
 * worker): started before the daemon (a bad address fails first), answering
 * 503 until runUntilSignalled() marks it ready.
 */
export async function startHealth(
  listen: string | undefined,
  role: string,
  logger: Logger,
): Promise<HealthListener | undefined> {
  if (listen === undefined) return undefined;
  const { startHealthListener } = await import('../health/http.ts');
  const health = await startHealthListener(listen, { role });
  logger.info({ address: health.address }, `${role}: health at http://${health.address}/healthz`);
  return health;
}

/**
 * Keeps a daemon in the foreground until SIGINT/SIGTERM, then stops it cleanly
 * and exits 0. A second signal exits at once. The daemon is ready when this is
 * called: its HTTP health (if any) says so.
 */
export function runUntilSignalled(
  name: string,
  logger: Logger,
  daemon: Stoppable,
  health?: HealthListener,
): Promise<never> {
  health?.ready();
  sdNotify(`READY=1\nSTATUS=${name} serving`);
  return new Promise<never>(() => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, `${name}: second signal, exiting now`);
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, `${name}: stopping`);
      health?.stopping();
      sdNotify(`STOPPING=1\nSTATUS=${name} stopping`);
      daemon.stop().then(
        async () => {
          await health?.close();
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
