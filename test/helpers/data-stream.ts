import net from 'node:net';
import tls from 'node:tls';
import {
  FrameDecoder,
  FrameType,
  MAX_DATA_BYTES,
  MAX_META_BYTES,
  frameParts,
} from '../../src/transport/frames.ts';
import type { Frame } from '../../src/transport/frames.ts';
import { ClientHandshake } from '../../src/transport/handshake.ts';

/**
 * A raw peer of a benefactor's data port (docs/data-path.md), for tests that
 * send what a well-behaved client never would: frames before the handshake,
 * wrong proofs, malformed or oversized frames, garbage.
 */
export interface RawPeer {
  socket: net.Socket;
  /** Resolves when the benefactor (or we) closed the connection. */
  closed: Promise<void>;
  send(parts: Buffer[] | Buffer): void;
  /** The next frame from the benefactor; rejects if none comes within `timeoutMs` or the connection closed first. */
  next(timeoutMs?: number): Promise<Frame>;
  /** Frames received and not taken by next(). */
  readonly received: Frame[];
  close(): void;
}

const ANY = {
  maxMetaBytes: MAX_META_BYTES,
  maxDataBytes: MAX_DATA_BYTES,
  types: new Set<number>(Object.values(FrameType)),
};

export function rawPeer(
  address: string,
  opts: { tls?: tls.ConnectionOptions | undefined } = {},
): Promise<RawPeer> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  return new Promise((resolve, reject) => {
    const socket = opts.tls ? tls.connect({ host, port, ...opts.tls }) : net.connect({ host, port });
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      const received: Frame[] = [];
      const waiters: { resolve(f: Frame): void; reject(e: Error): void }[] = [];
      let ended = false;
      const decoder = new FrameDecoder(ANY, (f) => {
        const w = waiters.shift();
        if (w) w.resolve(f);
        else received.push(f);
      });
      socket.on('data', (p: Buffer) => {
        try {
          decoder.push(p);
        } catch {
          socket.destroy();
        }
      });
      socket.on('error', () => undefined);
      const closed = new Promise<void>((r) =>
        socket.on('close', () => {
          ended = true;
          for (const w of waiters.splice(0)) w.reject(new Error('connection closed'));
          r();
        }),
      );
      resolve({
        socket,
        closed,
        received,
        send: (parts) => {
          socket.write(Buffer.isBuffer(parts) ? parts : Buffer.concat(parts));
        },
        next: (timeoutMs = 5_000) =>
          new Promise<Frame>((res, rej) => {
            const f = received.shift();
            if (f) return res(f);
            if (ended) return rej(new Error('connection closed'));
            const timer = setTimeout(() => rej(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs);
            waiters.push({
              resolve: (x) => {
                clearTimeout(timer);
                res(x);
              },
              reject: (e) => {
                clearTimeout(timer);
                rej(e);
              },
            });
          }),
        close: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** A raw peer through the handshake with `secret` (undefined: a TLS-only cluster). */
export async function authenticatedPeer(
  address: string,
  id: string,
  secret: Buffer | undefined,
  opts: { tls?: tls.ConnectionOptions | undefined } = {},
): Promise<RawPeer> {
  const r = await rawPeer(address, opts);
  const hs = new ClientHandshake(secret, id, address);
  r.send(frameParts(FrameType.HELLO, 0, hs.hello()));
  const welcome = await r.next();
  r.send(frameParts(FrameType.PROOF, 0, hs.onWelcome(welcome).proof));
  const ready = await r.next();
  if (ready.type !== FrameType.READY) throw new Error(`expected READY, got frame type ${ready.type}`);
  return r;
}
