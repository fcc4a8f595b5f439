import { StdchkError } from '../errors/index.ts';

// The chunk transports by name: light enough for the CLI to load at start-up (chunks.ts loads gRPC).

export type ChunkTransportKind = 'framed' | 'grpc';
export const CHUNK_TRANSPORTS: readonly ChunkTransportKind[] = ['framed', 'grpc'];
export const CHUNK_TRANSPORT_ENV = 'STDCHK_CHUNK_TRANSPORT';
/** The engine used when nothing says otherwise. */
export const DEFAULT_CHUNK_TRANSPORT: ChunkTransportKind = 'framed';

/** The engine named by `value` (a flag), else STDCHK_CHUNK_TRANSPORT, else the default; throws INVALID_ARGUMENT. */
export function resolveChunkTransport(
  value?: string | undefined,
  what = '--chunk-transport',
): ChunkTransportKind {
  const env = process.env[CHUNK_TRANSPORT_ENV];
  const v = value ?? (env === '' ? undefined : env);
  if (v === undefined) return DEFAULT_CHUNK_TRANSPORT;
  if ((CHUNK_TRANSPORTS as readonly string[]).includes(v)) return v as ChunkTransportKind;
  const source = value !== undefined ? what : CHUNK_TRANSPORT_ENV;
  throw new StdchkError(
    'INVALID_ARGUMENT',
    `${source} must be ${CHUNK_TRANSPORTS.join(' or ')}, not ${JSON.stringify(v.slice(0, 40))}`,
  );
}
