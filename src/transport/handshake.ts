import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { StdchkError, invalid } from '../errors/index.ts';
import { FrameType, ID_PATTERN, MetaReader, MetaWriter } from './frames.ts';
import type { Frame } from './frames.ts';

/**
 * The data stream's handshake (docs/data-path.md, docs/security.md): before
 * any request, both ends prove they hold the cluster secret, over nonces
 * from both sides, so nothing recorded from another connection is worth
 * anything on this one (replay is impossible by construction, with no
 * memory of past nonces):
 *
 *   C -> S  HELLO    flags (bit 0: I have the secret), client nonce Nc (32 bytes),
 *                    the benefactor id the client expects (may be empty)
 *   S -> C  WELCOME  flags (bit 0: the secret is required), server nonce Ns (32 bytes),
 *                    the server's id, its proof Ps (32 bytes; zeros without a secret)
 *   C -> S  PROOF    the client's proof Pc (32 bytes; empty without a secret)
 *   S -> C  READY    (or ERROR UNAUTHENTICATED, and the connection is closed)
 *
 *   Ps = HMAC-SHA256(secret, "stdchk-data-v1/server" NUL Nc Ns id)
 *   Pc = HMAC-SHA256(secret, "stdchk-data-v1/client" NUL Nc Ns id)
 *
 * The labels differ, so a proof cannot be reflected back as the other
 * side's. A client with a secret refuses a server that does not prove it; a
 * server with a secret refuses a client that does not. With mutual TLS the
 * handshake runs inside the TLS session, after both certificates were
 * verified. Frames of any other type before READY close the connection.
 */

export const PROTOCOL_LABEL = 'stdchk-data-v1';
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
const FLAG_SECRET = 1;

function proof(secret: Buffer, side: 'server' | 'client', cn: Buffer, sn: Buffer, id: string): Buffer {
  return createHmac('sha256', secret)
    .update(`${PROTOCOL_LABEL}/${side}\0`)
    .update(cn)
    .update(sn)
    .update(id, 'latin1')
    .digest();
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const unauthenticated = (message: string) => new StdchkError('UNAUTHENTICATED', message);

export interface Hello {
  hasSecret: boolean;
  nonce: Buffer;
  expectId: string;
}

export function encodeHello(h: Hello): Buffer {
  return new MetaWriter(40 + h.expectId.length)
    .u8(h.hasSecret ? FLAG_SECRET : 0)
    .bytes(h.nonce)
    .str8(h.expectId)
    .done();
}

export function decodeHello(frame: Frame): Hello {
  const r = new MetaReader(frame.meta, 'HELLO');
  const flags = r.u8('flags');
  if (flags & ~FLAG_SECRET) throw invalid(`HELLO: unknown flags 0x${flags.toString(16)}`);
  const nonce = r.bytes(NONCE_BYTES, 'nonce');
  const len = r.u8('id length');
  const expectId = len === 0 ? '' : r.ascii(len, 'expected id', ID_PATTERN);
  r.end();
  return { hasSecret: (flags & FLAG_SECRET) !== 0, nonce, expectId };
}

export interface Welcome {
  secretRequired: boolean;
  nonce: Buffer;
  id: string;
  proof: Buffer;
}

export function encodeWelcome(w: Welcome): Buffer {
  return new MetaWriter(72 + w.id.length)
    .u8(w.secretRequired ? FLAG_SECRET : 0)
    .bytes(w.nonce)
    .str8(w.id)
    .bytes(w.proof)
    .done();
}

export function decodeWelcome(frame: Frame): Welcome {
  const r = new MetaReader(frame.meta, 'WELCOME');
  const flags = r.u8('flags');
  if (flags & ~FLAG_SECRET) throw invalid(`WELCOME: unknown flags 0x${flags.toString(16)}`);
  const nonce = r.bytes(NONCE_BYTES, 'nonce');
  const id = r.ascii(r.u8('id length'), 'id', ID_PATTERN);
  const p = r.bytes(PROOF_BYTES, 'proof');
  r.end();
  return { secretRequired: (flags & FLAG_SECRET) !== 0, nonce, id, proof: p };
}

/** The server's side: HELLO in, WELCOME out, PROOF in, READY out. */
export class ServerHandshake {
  private hello: Hello | undefined;
  private readonly nonce = randomBytes(NONCE_BYTES);

  constructor(
    private readonly id: string,
    private readonly secret: Buffer | undefined,
  ) {}

  /** Frame types accepted next. */
  get expecting(): number {
    return this.hello ? FrameType.PROOF : FrameType.HELLO;
  }

  /** Answers a HELLO with the WELCOME metadata; throws UNAUTHENTICATED or NOT_FOUND. */
  onHello(frame: Frame): Buffer {
    const hello = decodeHello(frame);
    if (frame.data.length) throw invalid('HELLO: unexpected data');
    if (hello.expectId && hello.expectId !== this.id) {
      throw new StdchkError('NOT_FOUND', `this is benefactor ${this.id}, not ${hello.expectId}`);
    }
    if (this.secret && !hello.hasSecret) {
      throw unauthenticated('missing cluster credentials (is --secret-file set?)');
    }
    this.hello = hello;
    return encodeWelcome({
      secretRequired: !!this.secret,
      nonce: this.nonce,
      id: this.id,
      proof: this.secret
        ? proof(this.secret, 'server', hello.nonce, this.nonce, this.id)
        : Buffer.alloc(PROOF_BYTES),
    });
  }

  /** Checks the client's PROOF; throws UNAUTHENTICATED. */
  onProof(frame: Frame): void {
    if (!this.hello) throw invalid('PROOF before HELLO');
    if (frame.data.length) throw invalid('PROOF: unexpected data');
    if (!this.secret) {
      if (frame.meta.length !== 0 && frame.meta.length !== PROOF_BYTES) throw invalid('PROOF: malformed');
      return;
    }
    if (frame.meta.length !== PROOF_BYTES) throw unauthenticated('malformed cluster credentials');
    const want = proof(this.secret, 'client', this.hello.nonce, this.nonce, this.id);
    if (!same(frame.meta, want)) throw unauthenticated('wrong cluster secret');
  }
}

/** The client's side: HELLO out, WELCOME in, PROOF out (then READY in). */
export class ClientHandshake {
  readonly nonce = randomBytes(NONCE_BYTES);

  constructor(
    private readonly secret: Buffer | undefined,
    /** The benefactor the client means to reach ('' for any). */
    private readonly expectId: string,
    private readonly where: string,
  ) {}

  hello(): Buffer {
    return encodeHello({ hasSecret: !!this.secret, nonce: this.nonce, expectId: this.expectId });
  }

  /** Checks the server (its id, its proof); returns the PROOF metadata. Throws UNAUTHENTICATED or NOT_FOUND. */
  onWelcome(frame: Frame): { proof: Buffer; id: string } {
    const w = decodeWelcome(frame);
    if (this.expectId && w.id !== this.expectId) {
      throw new StdchkError('NOT_FOUND', `${this.where} is benefactor ${w.id}, not ${this.expectId}`);
    }
    if (!this.secret) {
      if (w.secretRequired)
        throw unauthenticated(`${this.where} requires the cluster secret (is --secret-file set?)`);
      return { proof: Buffer.alloc(0), id: w.id };
    }
    const want = proof(this.secret, 'server', this.nonce, w.nonce, w.id);
    if (!w.secretRequired || !same(w.proof, want)) {
      throw unauthenticated(`${this.where} did not prove the cluster secret (a node of another cluster?)`);
    }
    return { proof: proof(this.secret, 'client', this.nonce, w.nonce, w.id), id: w.id };
  }
}
