import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { StdchkError, cleanTlsReason, errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import {
  FLAG_MORE,
  FrameDecoder,
  FrameType,
  MAX_DATA_BYTES,
  MAX_FRAME_CHUNKS,
  MAX_HANDSHAKE_META_BYTES,
  MAX_META_BYTES,
  ProtocolError,
  decodeRead,
  decodeStore,
  encodeErrorMeta,
  encodeReadReplyMeta,
  encodeStoreAck,
  frameParts,
  frameTypeName,
} from '../transport/frames.ts';
import type { Frame, FrameLimits, ReplicaResult, StoreRequest } from '../transport/frames.ts';
import { ServerHandshake } from '../transport/handshake.ts';
import { drained, joinAddress, splitAddress, writeParts } from '../transport/socket.ts';
import type { DataClientPool } from '../transport/data-client.ts';
import type { ChunkStore } from './chunk-store.ts';
import type { StoreStamps } from './stamps.ts';

/**
 * The benefactor's data port (docs/data-path.md): chunk bytes on a framed
 * stream beside gRPC. After the handshake (the cluster secret from both
 * sides, inside mutual TLS when the cluster has it) a client sends STORE and
 * READ requests, several in flight. A STORE is stored here (every chunk's
 * hash verified, one group-committed fsync, stamped like StoreChunks) and,
 * at the same time, forwarded unchanged to the next benefactor of its chain;
 * the ack lists each replica's outcome and stamp. Bad input gets an ERROR
 * frame (or, for a frame that breaks the format, an ERROR and the
 * connection closed), logged with the peer; the benefactor keeps serving.
 */
export interface DataServerOptions {
  store: ChunkStore;
  stamps: StoreStamps;
  id: string;
  secret?: Buffer | undefined;
  tls?: TlsMaterial | undefined;
  logger: Logger;
  /** HOST:PORT; port 0 picks a free one. */
  listen: string;
  /**
   * Also serve on this Unix socket, for clients on this host: no TLS on it
   * (nothing leaves the host; it is reachable only by this user and root,
   * as the store's folder is), the secret handshake as on TCP.
   */
  socketPath?: string | undefined;
  /** Connections to the next benefactors of chains. */
  peers: DataClientPool;
  /** Time a new connection has to finish the handshake (default 10 s). */
  handshakeTimeoutMs?: number;
}

export interface DataServer {
  /** The bound HOST:PORT. */
  address: string;
  /** The Unix socket served, if any. */
  socketPath: string | undefined;
  /** Open connections (tests). */
  readonly connections: number;
  close(): Promise<void>;
}

const HANDSHAKE_TYPES = {
  [FrameType.HELLO]: new Set<number>([FrameType.HELLO]),
  [FrameType.PROOF]: new Set<number>([FrameType.PROOF]),
};
const REQUEST_LIMITS: FrameLimits = {
  maxMetaBytes: MAX_META_BYTES,
  maxDataBytes: MAX_DATA_BYTES,
  types: new Set([FrameType.STORE, FrameType.READ]),
};
/** Requests being served at once per connection before it stops reading. */
const MAX_IN_FLIGHT = 16;
/** Bytes of requests being served at once per connection before it stops reading. */
const MAX_IN_FLIGHT_BYTES = 128 * 1024 * 1024;
/** READ_REPLY frames are cut at about this size. */
export const READ_REPLY_BYTES = 4 * 1024 * 1024;
/** Chunks asked of the store at once while reading. */
const READ_AHEAD = 64;
/** Each hop of a chain gives the next this much less time than it has. */
export const HOP_MARGIN_MS = 5_000;
const MIN_HOP_TIMEOUT_MS = 1_000;
/** Refused connections logged per window; the rest are counted. */
const REFUSALS_LOGGED_PER_WINDOW = 50;
const REFUSAL_WINDOW_MS = 10_000;

function peerOf(socket: net.Socket): string {
  const s = socket as TLSSocket & { _parent?: net.Socket | null };
  const host = s.remoteAddress ?? s._parent?.remoteAddress;
  const port = s.remotePort ?? s._parent?.remotePort;
  if (host) return joinAddress(host, port ?? 0);
  return socket.localAddress === undefined && !(socket instanceof tls.TLSSocket) ? 'unix socket' : 'unknown';
}

/** Listens on `listen` (HOST:PORT or a socket path); rejects with UNAVAILABLE. */
function listenOn(
  server: net.Server,
  listen: { host: string; port: number } | { path: string },
  what: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (e: Error) =>
      reject(new StdchkError('UNAVAILABLE', `cannot listen on ${what}: ${e.message}`));
    server.once('error', onError);
    server.listen(listen, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Removes a socket file a killed benefactor left behind (never anything else). */
function removeStaleSocket(file: string): void {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `${file} exists and is not a socket; not serving the data port there`,
    );
  }
  unlinkSync(file);
}

/** Rate-limited warnings for refusals, so a flood of bad connections cannot flood the log. */
class RefusalLog {
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;

  constructor(private readonly logger: Logger) {}

  warn(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.windowStart > REFUSAL_WINDOW_MS) {
      if (this.suppressed > 0) {
        this.logger.warn(
          { suppressed: this.suppressed },
          `refused ${this.suppressed} more data requests or connections (not logged one by one)`,
        );
      }
      this.windowStart = now;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged >= REFUSALS_LOGGED_PER_WINDOW) {
      this.suppressed++;
      return;
    }
    this.logged++;
    this.logger.warn(fields, msg);
  }
}

/** One client connection: the handshake, then requests. */
class ServerConnection {
  private readonly decoder: FrameDecoder;
  private readonly handshake: ServerHandshake;
  private ready = false;
  private closed = false;
  /** Told why and ended: nothing more is read or sent, only the peer's close is awaited. */
  private refused = false;
  private inFlight = 0;
  private inFlightBytes = 0;
  private readonly peer: string;
  private readonly handshakeTimer: NodeJS.Timeout;

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: DataServerOptions,
    private readonly refusals: RefusalLog,
    private readonly onClose: () => void,
  ) {
    this.peer = peerOf(socket);
    this.handshake = new ServerHandshake(opts.id, opts.secret);
    this.decoder = new FrameDecoder(this.handshakeLimits(), (f) => this.onFrame(f));
    socket.setNoDelay(true);
    socket.on('data', (piece: Buffer) => {
      try {
        this.decoder.push(piece);
      } catch (e) {
        this.refuseConnection(e);
      }
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    this.handshakeTimer = setTimeout(
      () => this.refuseConnection(new StdchkError('UNAUTHENTICATED', 'no handshake within the time allowed')),
      opts.handshakeTimeoutMs ?? 10_000,
    );
  }

  private handshakeLimits(): FrameLimits {
    return {
      maxMetaBytes: MAX_HANDSHAKE_META_BYTES,
      maxDataBytes: 0,
      types: HANDSHAKE_TYPES[this.handshake.expecting as 1 | 3],
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    this.decoder.stop();
    this.socket.destroy();
    this.onClose();
  }

  /** Tells the peer why (an ERROR frame with id 0), logs it, and closes the connection. */
  private refuseConnection(e: unknown): void {
    if (this.closed || this.refused) return;
    this.refused = true;
    const err = e instanceof StdchkError ? e : new StdchkError('INTERNAL', errorMessage(e));
    this.refusals.warn(
      { peer: this.peer, reason: err.message, code: err.code },
      this.ready ? 'closed a data connection that broke the frame format' : 'refused a data connection',
    );
    this.decoder.stop();
    clearTimeout(this.handshakeTimer);
    if (!this.socket.destroyed) {
      this.socket.end(Buffer.concat(frameParts(FrameType.ERROR, 0, encodeErrorMeta(err.code, err.message))));
      // What the peer still sends is read and dropped (closing with unread data would reset the
      // connection, and the peer could lose the ERROR); a peer that does not close is not waited for.
      this.socket.resume();
      setTimeout(() => this.close(), 2_000).unref();
    }
  }

  private send(parts: Buffer[]): boolean {
    // Replies to requests still running when the connection was refused are dropped.
    if (this.closed || this.refused || this.socket.destroyed || this.socket.writableEnded) return false;
    return writeParts(this.socket, parts);
  }

  private sendError(id: number, e: unknown, type: number): void {
    const err = e instanceof StdchkError ? e : new StdchkError('INTERNAL', errorMessage(e));
    if (err.code === 'INTERNAL') {
      this.opts.logger.error(
        { peer: this.peer, err: e, request: frameTypeName(type) },
        'data request failed',
      );
    } else {
      this.refusals.warn(
        { peer: this.peer, request: frameTypeName(type), id, reason: err.message, code: err.code },
        'data request refused',
      );
    }
    this.send(frameParts(FrameType.ERROR, id, encodeErrorMeta(err.code, err.message)));
  }

  private onFrame(frame: Frame): void {
    if (!this.ready) {
      this.onHandshake(frame);
      return;
    }
    if (frame.id === 0) throw new ProtocolError('INVALID_ARGUMENT', 'request id 0 is reserved');
    const bytes = frame.meta.length + frame.data.length;
    this.inFlight++;
    this.inFlightBytes += bytes;
    if (this.inFlight >= MAX_IN_FLIGHT || this.inFlightBytes >= MAX_IN_FLIGHT_BYTES) this.socket.pause();
    const run = frame.type === FrameType.STORE ? this.store(frame) : this.read(frame);
    void run
      .catch((e: unknown) => this.sendError(frame.id, e, frame.type))
      .finally(() => {
        this.inFlight--;
        this.inFlightBytes -= bytes;
        if (
          this.inFlight < MAX_IN_FLIGHT &&
          this.inFlightBytes < MAX_IN_FLIGHT_BYTES &&
          !this.closed &&
          !this.refused
        ) {
          this.socket.resume();
        }
      });
  }

  private onHandshake(frame: Frame): void {
    if (frame.type === FrameType.HELLO) {
      const welcome = this.handshake.onHello(frame);
      this.decoder.limits = this.handshakeLimits();
      this.send(frameParts(FrameType.WELCOME, 0, welcome));
      return;
    }
    this.handshake.onProof(frame);
    clearTimeout(this.handshakeTimer);
    this.ready = true;
    this.decoder.limits = REQUEST_LIMITS;
    this.send(frameParts(FrameType.READY, 0, Buffer.alloc(0)));
  }

  private async store(frame: Frame): Promise<void> {
    const req = decodeStore(frame);
    const { stamps, store } = this.opts;
    // Stamped in the same tick as the store's own "held already?" check (as StoreChunks):
    // a delete applied later sees the stamp, one applied earlier made this a fresh write.
    const stamp = stamps.stamp(req.chunks.map((c) => c.hash));
    const local = store.putBatch(req.chunks);
    local.catch(() => undefined); // awaited below
    // Forwarded at once, in parallel with storing here: the next benefactor verifies too.
    const downstream = req.chain.length > 0 ? this.forward(req, frame.data) : Promise.resolve([]);
    let self: ReplicaResult;
    try {
      const r = await local;
      self = { id: this.opts.id, ok: true, stamp, stored: r.stored, existing: r.existing };
    } catch (e) {
      const err = e instanceof StdchkError ? e : new StdchkError('INTERNAL', errorMessage(e));
      // A request that is wrong in itself (a chunk not matching its hash) gets an ERROR.
      if (err.code === 'INVALID_ARGUMENT' || err.code === 'TOO_LARGE') {
        await downstream;
        throw err;
      }
      if (err.code === 'INTERNAL')
        this.opts.logger.error({ err: e, peer: this.peer }, 'storing chunks failed');
      self = { id: this.opts.id, ok: false, code: err.code, message: err.message };
    }
    const rest = await downstream;
    this.send(frameParts(FrameType.STORE_ACK, frame.id, encodeStoreAck([self, ...rest])));
  }

  /** Sends the request on to the next benefactor of its chain; resolves with its outcomes (never rejects). */
  private async forward(req: StoreRequest, data: Buffer): Promise<ReplicaResult[]> {
    const [next, ...rest] = req.chain as [StoreRequest['chain'][number], ...StoreRequest['chain']];
    const timeoutMs = Math.max(MIN_HOP_TIMEOUT_MS, req.timeoutMs - HOP_MARGIN_MS);
    try {
      const conn = await this.opts.peers.get(next);
      const results = await conn.store(req.refs, [data], rest, timeoutMs);
      return results;
    } catch (e) {
      const err = e instanceof StdchkError ? e : new StdchkError('UNAVAILABLE', errorMessage(e));
      this.opts.logger.warn(
        { next: next.id, address: next.dataAddress, reason: err.message },
        'forwarding chunks along the chain failed',
      );
      return [{ id: next.id, ok: false, code: err.code, message: err.message }];
    }
  }

  private async read(frame: Frame): Promise<void> {
    const hashes = decodeRead(frame);
    let entries: { hash: Buffer; data: Buffer | undefined }[] = [];
    let parts: Buffer[] = [];
    let bytes = 0;
    const flush = async (more: boolean) => {
      const ok = this.send(
        frameParts(FrameType.READ_REPLY, frame.id, encodeReadReplyMeta(entries), parts, more ? FLAG_MORE : 0),
      );
      entries = [];
      parts = [];
      bytes = 0;
      if (!ok && !this.closed && !this.refused) await drained(this.socket);
    };
    for (let i = 0; i < hashes.length && !this.closed && !this.refused; i += READ_AHEAD) {
      const slice = hashes.slice(i, i + READ_AHEAD);
      const datas = await this.opts.store.getMany(slice);
      for (const [j, hash] of slice.entries()) {
        const data = datas[j];
        entries.push({ hash, data });
        if (data) {
          parts.push(data);
          bytes += data.length;
        }
        const last = i + j === hashes.length - 1;
        if (!last && (bytes >= READ_REPLY_BYTES || entries.length >= MAX_FRAME_CHUNKS)) await flush(true);
      }
    }
    if (!this.closed && !this.refused) await flush(false);
  }
}

/** Starts the data port; resolves once it listens. */
export async function startDataServer(opts: DataServerOptions): Promise<DataServer> {
  const refusals = new RefusalLog(opts.logger);
  const open = new Set<ServerConnection>();
  const accept = (socket: net.Socket) => {
    const c = new ServerConnection(socket, opts, refusals, () => open.delete(c));
    open.add(c);
  };
  let server: net.Server;
  if (opts.tls) {
    server = tls.createServer(
      {
        ca: opts.tls.ca,
        cert: opts.tls.cert,
        key: opts.tls.key,
        requestCert: true,
        rejectUnauthorized: true,
      },
      accept,
    );
    // A connection without a certificate from the cluster CA never reaches the handshake.
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      const auth = (socket as TLSSocket & { authorizationError?: Error | string }).authorizationError;
      refusals.warn(
        {
          peer: peerOf(socket),
          reason: auth ? `client certificate refused: ${String(auth)}` : cleanTlsReason(err.message),
          code: err.code ?? null,
        },
        'refused TLS connection to the data port',
      );
    });
  } else {
    server = net.createServer(accept);
  }
  server.on('error', (e) => opts.logger.error({ err: e }, 'data port error'));
  const { host, port } = splitAddress(opts.listen);
  await listenOn(server, { host, port }, opts.listen);
  const bound = server.address() as net.AddressInfo;
  const address = joinAddress(host, bound.port);
  let local: net.Server | undefined;
  if (opts.socketPath) {
    const file = opts.socketPath;
    try {
      removeStaleSocket(file);
      local = net.createServer(accept);
      local.on('error', (e) => opts.logger.error({ err: e }, 'data socket error'));
      await listenOn(local, { path: file }, file);
      chmodSync(file, 0o600);
    } catch (e) {
      local?.close();
      server.close();
      throw e;
    }
  }
  const stop = (srv: net.Server) => new Promise<void>((resolve) => srv.close(() => resolve()));
  return {
    address,
    socketPath: opts.socketPath,
    get connections() {
      return open.size;
    },
    close: async () => {
      const closing = [stop(server), ...(local ? [stop(local)] : [])];
      for (const c of [...open]) c.close();
      await Promise.all(closing);
    },
  };
}
