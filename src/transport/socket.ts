import { readFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { StdchkError, cleanTlsReason, errorMessage, tlsFailure } from '../errors/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';

/**
 * Socket plumbing shared by both ends of the data stream: addresses,
 * connecting (plain TCP or mutual TLS with the cluster's material, the same
 * checks as gRPC's channel credentials), and writing a frame's buffers with
 * one writev.
 */

/** HOST:PORT (HOST may be [v6]) as host and port; throws INVALID_ARGUMENT. */
export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (i <= 0 || !host || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `not a HOST:PORT address: ${JSON.stringify(address.slice(0, 80))}`,
    );
  }
  return { host, port };
}

export function joinAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Writes a frame's parts (header, metadata, chunk buffers) with one writev:
 * no buffer is copied or concatenated. Returns false when the socket's
 * buffer is over its high-water mark (wait for 'drain' before more).
 */
export function writeParts(socket: net.Socket, parts: readonly Buffer[]): boolean {
  if (parts.length === 1) return socket.write(parts[0] as Buffer);
  socket.cork();
  for (const p of parts) socket.write(p);
  socket.uncork();
  return !socket.writableNeedDrain;
}

const drains = new WeakMap<net.Socket, Promise<void>>();

/** Resolves once the socket can take more, or is gone (one pair of listeners per socket, however many wait). */
export function drained(socket: net.Socket): Promise<void> {
  if (!socket.writableNeedDrain || socket.destroyed) return Promise.resolve();
  let p = drains.get(socket);
  if (!p) {
    p = new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        drains.delete(socket);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
    drains.set(socket, p);
  }
  return p;
}

export interface ConnectOptions {
  tls?: TlsMaterial | undefined;
  timeoutMs: number;
}

/**
 * A connected socket to HOST:PORT, plain or mutual TLS (our certificate
 * presented, the server's verified against the cluster CA and its SANs
 * against the host dialled). Rejects with UNAVAILABLE (cannot connect),
 * UNAUTHENTICATED (TLS refused) or TIMEOUT.
 */
export async function connectSocket(address: string, opts: ConnectOptions): Promise<net.Socket> {
  const { host, port } = splitAddress(address);
  const socket = opts.tls
    ? tls.connect({
        host,
        port,
        ca: opts.tls.ca,
        cert: opts.tls.cert,
        key: opts.tls.key,
        // SNI only for names; the identity check covers IP SANs either way.
        ...(net.isIP(host) ? {} : { servername: host }),
      })
    : net.connect({ host, port });
  socket.setNoDelay(true);
  const ready = opts.tls ? 'secureConnect' : 'connect';
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      once(socket, ready),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new StdchkError('TIMEOUT', `no connection to ${address} in ${opts.timeoutMs} ms`)),
          opts.timeoutMs,
        );
      }),
    ]);
  } catch (e) {
    socket.destroy();
    throw connectError(e, address, !!opts.tls);
  } finally {
    clearTimeout(timer);
  }
  socket.setKeepAlive(true, 10_000);
  return socket;
}

let hostId: string | undefined;

/**
 * This machine's id for Unix sockets: the kernel's boot id (the same for
 * every process on this kernel, containers and network namespaces
 * included; new at each boot), else the host name. A benefactor advertises
 * it with its socket, and a client with the same id uses the socket.
 */
export function localHostId(): string {
  if (hostId === undefined) {
    try {
      hostId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      hostId = '';
    }
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(hostId))
      hostId = os
        .hostname()
        .slice(0, 64)
        .replace(/[^A-Za-z0-9._-]/g, '_');
  }
  return hostId;
}

/** A connected Unix socket; rejects (ENOENT, EACCES, ECONNREFUSED, TIMEOUT) if it cannot be opened. */
export async function connectUnix(file: string, timeoutMs: number): Promise<net.Socket> {
  const socket = net.connect({ path: file });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      once(socket, 'connect'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new StdchkError('TIMEOUT', `no connection to ${file}`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    socket.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return socket;
}

function connectError(e: unknown, address: string, usesTls: boolean): StdchkError {
  if (e instanceof StdchkError) return e;
  const err = e as NodeJS.ErrnoException;
  const msg = errorMessage(e);
  if (usesTls) {
    const hint =
      tlsFailure(msg) ??
      (/certificate|SSL|TLS|alert/i.test(msg) ? `TLS handshake failed: ${cleanTlsReason(msg)}` : undefined);
    if (hint) return new StdchkError('UNAUTHENTICATED', `${address}: ${hint}`, { cause: e });
  }
  const code = err.code ? `${err.code} ` : '';
  return new StdchkError(
    'UNAVAILABLE',
    `cannot connect to the data port ${address}: ${code === '' ? msg : `connect ${code}${address}`}`,
    {
      cause: e,
    },
  );
}
