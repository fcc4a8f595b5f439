import type net from 'node:net';
import { StdchkError, errorMessage } from '../errors/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import {
  FLAG_MORE,
  FrameDecoder,
  FrameType,
  MAX_DATA_BYTES,
  MAX_HANDSHAKE_META_BYTES,
  MAX_META_BYTES,
  MAX_READ_HASHES,
  ProtocolError,
  decodeError,
  decodeReadReply,
  decodeStoreAck,
  encodeReadMeta,
  encodeStoreMeta,
  frameParts,
  frameTypeName,
} from './frames.ts';
import type { ChainHop, Frame, FrameChunk, FrameLimits, ReplicaResult } from './frames.ts';
import { ClientHandshake } from './handshake.ts';
import { connectSocket, connectUnix, drained, writeParts } from './socket.ts';

/**
 * A benefactor's data port: the id it must answer with, its address, and
 * its Unix socket if it has one (tried first: it works when the benefactor
 * is on this host and this process may open it; else TCP).
 */
export type DataTarget = ChainHop & { socketPath?: string | undefined };

export interface DataClientOptions {
  secret?: Buffer | undefined;
  tls?: TlsMaterial | undefined;
  /** Connect + TLS + handshake (default 10 s). */
  connectTimeoutMs?: number;
}

const HANDSHAKE_LIMITS: FrameLimits = {
  maxMetaBytes: MAX_HANDSHAKE_META_BYTES,
  maxDataBytes: 0,
  types: new Set([FrameType.WELCOME, FrameType.READY, FrameType.ERROR]),
};
const REPLY_LIMITS: FrameLimits = {
  maxMetaBytes: MAX_META_BYTES,
  maxDataBytes: MAX_DATA_BYTES,
  types: new Set([FrameType.STORE_ACK, FrameType.READ_REPLY, FrameType.ERROR]),
};

interface Pending {
  /** Takes a reply; true when it was the last one for this request. */
  onFrame(frame: Frame): boolean;
  reject(e: StdchkError): void;
  timer: NodeJS.Timeout;
}

/**
 * One authenticated connection to a benefactor's data port. Requests are
 * pipelined: many in flight, each reply matched by its id. A protocol
 * error, a closed socket or a request that timed out fails the connection
 * (every pending request rejects) and it is not reused.
 */
export class DataConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: StdchkError | undefined;
  private readonly decoder: FrameDecoder;

  private constructor(
    private readonly socket: net.Socket,
    readonly target: DataTarget,
  ) {
    this.decoder = new FrameDecoder(REPLY_LIMITS, (f) => this.onFrame(f));
    socket.on('data', (piece: Buffer) => {
      try {
        this.decoder.push(piece);
      } catch (e) {
        this.fail(new StdchkError('UNAVAILABLE', `${this.where}: ${errorMessage(e)}`, { cause: e }));
      }
    });
    socket.on('error', (e) => this.fail(new StdchkError('UNAVAILABLE', `${this.where}: ${errorMessage(e)}`)));
    socket.on('close', () =>
      this.fail(new StdchkError('UNAVAILABLE', `${this.where} closed the connection`)),
    );
  }

  get where(): string {
    return `benefactor ${this.target.id} (${this.target.dataAddress})`;
  }

  get failed(): StdchkError | undefined {
    return this.failure;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Connects (the Unix socket if the target has one this process can use,
   * else TCP, with TLS when configured), runs the handshake
   * (docs/data-path.md) and resolves once the server said READY.
   */
  static async open(target: DataTarget, opts: DataClientOptions): Promise<DataConnection> {
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    if (target.socketPath && usableSocket(target)) {
      try {
        const socket = await connectUnix(target.socketPath, timeoutMs);
        const where = `benefactor ${target.id} (${target.socketPath})`;
        try {
          await handshake(socket, target, opts.secret, where, timeoutMs);
        } catch (e) {
          socket.destroy();
          throw e;
        }
        return new DataConnection(socket, target);
      } catch {
        // Not this host's benefactor, not ours to open, or not there any more: TCP.
        unusableSockets.set(socketKey(target), Date.now());
      }
    }
    const started = Date.now();
    const socket = await connectSocket(target.dataAddress, { tls: opts.tls, timeoutMs });
    const where = `benefactor ${target.id} (${target.dataAddress})`;
    try {
      await handshake(socket, target, opts.secret, where, Math.max(1000, timeoutMs - (Date.now() - started)));
    } catch (e) {
      socket.destroy();
      throw e;
    }
    return new DataConnection(socket, target);
  }

  private fail(e: StdchkError): void {
    if (!this.failure) {
      this.failure = e;
      this.decoder.stop();
      this.socket.destroy();
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.failure);
    }
    this.pending.clear();
  }

  private onFrame(frame: Frame): void {
    if (frame.id === 0 && frame.type === FrameType.ERROR) {
      const e = decodeError(frame);
      this.fail(new StdchkError(e.code, `${this.where}: ${e.message}`));
      return;
    }
    const p = this.pending.get(frame.id);
    if (!p) return; // a request that timed out (the connection is failing anyway)
    let done: boolean;
    try {
      if (frame.type === FrameType.ERROR) {
        const e = decodeError(frame);
        throw new StdchkError(e.code, `${this.where}: ${e.message}`);
      }
      done = p.onFrame(frame);
    } catch (e) {
      this.pending.delete(frame.id);
      clearTimeout(p.timer);
      p.reject(e instanceof StdchkError ? e : new StdchkError('INTERNAL', errorMessage(e)));
      return;
    }
    if (done) {
      this.pending.delete(frame.id);
      clearTimeout(p.timer);
    }
  }

  /** Sends one request; `onFrame` sees each reply until it returns true. */
  private async request(
    type: number,
    meta: Buffer,
    data: readonly Buffer[],
    timeoutMs: number,
    onFrame: (frame: Frame) => boolean,
    reject: (e: StdchkError) => void,
  ): Promise<void> {
    if (this.failure) throw this.failure;
    // Back-pressure: a socket over its high-water mark takes nothing more until it drains.
    await drained(this.socket);
    if (this.failure) throw this.failure;
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const timer = setTimeout(() => {
      this.fail(
        new StdchkError(
          'TIMEOUT',
          `${this.where} did not answer a ${frameTypeName(type)} in ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    this.pending.set(id, { onFrame, reject, timer });
    writeParts(this.socket, frameParts(type, id, meta, data));
  }

  /**
   * Stores chunks on this benefactor and, through it, on `chain` (chain
   * replication): resolves with each replica's outcome in chain order,
   * this benefactor first; replicas after a failed link are absent. Rejects
   * when this benefactor itself cannot be reached or refuses the request.
   */
  store(
    refs: Buffer,
    data: readonly Buffer[],
    chain: readonly DataTarget[],
    timeoutMs: number,
  ): Promise<ReplicaResult[]> {
    return new Promise((resolve, reject) => {
      const meta = encodeStoreMeta(timeoutMs, chain, refs);
      this.request(
        FrameType.STORE,
        meta,
        data,
        // A little longer than the benefactor's own limit, so that its partial answer arrives first.
        timeoutMs + 5_000,
        (frame) => {
          if (frame.type !== FrameType.STORE_ACK) {
            throw new StdchkError(
              'INTERNAL',
              `${this.where} answered a STORE with ${frameTypeName(frame.type)}`,
            );
          }
          resolve(decodeStoreAck(frame));
          return true;
        },
        reject,
      ).catch(reject);
    });
  }

  /**
   * Reads chunks (unverified views into the reply frames: the caller checks
   * them). Hashes the benefactor does not hold are left out.
   */
  read(hashes: readonly Buffer[], timeoutMs: number): Promise<FrameChunk[]> {
    if (hashes.length > MAX_READ_HASHES) {
      return Promise.reject(
        new StdchkError('INVALID_ARGUMENT', `at most ${MAX_READ_HASHES} hashes per read`),
      );
    }
    return new Promise((resolve, reject) => {
      const out: FrameChunk[] = [];
      this.request(
        FrameType.READ,
        encodeReadMeta(hashes),
        [],
        timeoutMs,
        (frame) => {
          if (frame.type !== FrameType.READ_REPLY) {
            throw new StdchkError(
              'INTERNAL',
              `${this.where} answered a READ with ${frameTypeName(frame.type)}`,
            );
          }
          const { chunks } = decodeReadReply(frame);
          for (const c of chunks) out.push(c);
          if (frame.flags & FLAG_MORE) return false;
          resolve(out);
          return true;
        },
        reject,
      ).catch(reject);
    });
  }

  close(): void {
    this.fail(new StdchkError('UNAVAILABLE', `${this.where}: connection closed`));
  }
}

/** Unix sockets that failed (path + id -> when): not tried again for a minute. */
const unusableSockets = new Map<string, number>();
const SOCKET_RETRY_MS = 60_000;
const socketKey = (t: DataTarget) => `${t.id}@${t.socketPath}`;

function usableSocket(t: DataTarget): boolean {
  const failed = unusableSockets.get(socketKey(t));
  if (failed === undefined) return true;
  if (Date.now() - failed < SOCKET_RETRY_MS) return false;
  unusableSockets.delete(socketKey(t));
  return true;
}

/** Runs the client's side of the handshake on a connected socket. */
async function handshake(
  socket: net.Socket,
  target: DataTarget,
  secret: Buffer | undefined,
  where: string,
  timeoutMs: number,
): Promise<void> {
  const hs = new ClientHandshake(secret, target.id, where);
  await new Promise<void>((resolve, reject) => {
    let step: 'welcome' | 'ready' = 'welcome';
    const finish = (e?: unknown) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (e)
        reject(e instanceof StdchkError ? e : new StdchkError('UNAVAILABLE', `${where}: ${errorMessage(e)}`));
      else resolve();
    };
    const decoder = new FrameDecoder(HANDSHAKE_LIMITS, (frame) => {
      if (frame.type === FrameType.ERROR) {
        const e = decodeError(frame);
        throw new StdchkError(e.code, `${where} refused the connection: ${e.message}`);
      }
      if (step === 'welcome' && frame.type === FrameType.WELCOME) {
        const { proof } = hs.onWelcome(frame);
        writeParts(socket, frameParts(FrameType.PROOF, 0, proof));
        step = 'ready';
        return;
      }
      if (step === 'ready' && frame.type === FrameType.READY) {
        decoder.stop();
        finish();
        return;
      }
      throw new ProtocolError(
        'INVALID_ARGUMENT',
        `${where}: unexpected ${frameTypeName(frame.type)} in the handshake`,
      );
    });
    const onData = (piece: Buffer) => {
      try {
        decoder.push(piece);
      } catch (e) {
        decoder.stop();
        finish(e);
      }
    };
    const onError = (e: Error) => finish(new StdchkError('UNAVAILABLE', `${where}: ${e.message}`));
    const onClose = () =>
      finish(new StdchkError('UNAVAILABLE', `${where} closed the connection during the handshake`));
    const timer = setTimeout(
      () => finish(new StdchkError('TIMEOUT', `${where}: no handshake in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    writeParts(socket, frameParts(FrameType.HELLO, 0, hs.hello()));
  });
  // Frames after READY in the same piece cannot exist: the server sends nothing before a request.
}

/**
 * Connections to benefactors' data ports, one per benefactor, reused across
 * files and shared by every request (pipelined). A failed connection is
 * dropped and the next request opens a new one.
 */
export class DataClientPool {
  private readonly conns = new Map<string, Promise<DataConnection>>();
  private closed = false;

  constructor(private readonly opts: DataClientOptions = {}) {}

  async get(target: DataTarget): Promise<DataConnection> {
    if (this.closed) throw new StdchkError('UNAVAILABLE', 'data client closed');
    // The same benefactor reached another way (its socket, or not) is another connection.
    const key = `${target.id}@${target.dataAddress}@${target.socketPath ?? ''}`;
    const existing = this.conns.get(key);
    if (existing) {
      const c = await existing.catch(() => undefined);
      if (c && !c.failed) return c;
      if (this.conns.get(key) === existing) this.conns.delete(key);
    }
    let p = this.conns.get(key);
    if (!p) {
      this.sweep();
      p = DataConnection.open(target, this.opts);
      this.conns.set(key, p);
      p.catch(() => {
        if (this.conns.get(key) === p) this.conns.delete(key);
      });
    }
    return p;
  }

  /** Forgets connections that failed since (a benefactor restarted on another port leaves one behind). */
  private sweep(): void {
    for (const [key, p] of this.conns) {
      void p.then(
        (c) => {
          if (c.failed && this.conns.get(key) === p) this.conns.delete(key);
        },
        () => undefined,
      );
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.conns.values())
      void p.then(
        (c) => c.close(),
        () => undefined,
      );
    this.conns.clear();
  }
}
