/**
 * The thread behind WorkerChunker: one ChunkStream, requests handled in arrival order.
 * Chunk bytes go back by transfer, never by copy: every chunk's memory is either the pushed
 * ArrayBuffer (which this thread owns) or a buffer the stream allocated and let go of.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkStream } from './chunker.ts';
import type { ChunkerParams } from './params.ts';
import { HASH_BYTES } from '../hashing/index.ts';
import { isStdchkError, errorMessage } from '../errors/index.ts';
import type { ChunkRequest, ChunkReply } from './worker-chunker.ts';

const port = parentPort;
if (!port) throw new Error('chunk-worker.ts must run as a worker thread');

const stream = new ChunkStream((workerData as { params: ChunkerParams }).params);

function handle(req: ChunkRequest): { reply: ChunkReply; transfer: ArrayBuffer[] } {
  const chunks = req.op === 'push' ? stream.push(Buffer.from(req.buf, req.off, req.len)) : stream.finish();
  // Per chunk: length, index into buffers (-1: zero chunk), byte offset in that buffer.
  const meta = new Float64Array(chunks.length * 3);
  const hashes = new ArrayBuffer(chunks.length * HASH_BYTES);
  const hashView = new Uint8Array(hashes);
  const buffers: ArrayBuffer[] = [];
  const index = new Map<ArrayBufferLike, number>();
  chunks.forEach((c, i) => {
    meta[3 * i] = c.length;
    if (c.zero || !c.data) {
      meta[3 * i + 1] = -1;
      return;
    }
    hashView.set(c.hash, i * HASH_BYTES);
    let b = index.get(c.data.buffer);
    if (b === undefined) {
      b = buffers.length;
      index.set(c.data.buffer, b);
      buffers.push(c.data.buffer as ArrayBuffer);
    }
    meta[3 * i + 1] = b;
    meta[3 * i + 2] = c.data.byteOffset;
  });
  return { reply: { id: req.id, meta, hashes, buffers }, transfer: [meta.buffer, hashes, ...buffers] };
}

port.on('message', (req: ChunkRequest) => {
  let out: { reply: ChunkReply; transfer: ArrayBuffer[] };
  try {
    out = handle(req);
  } catch (e) {
    const code = isStdchkError(e) ? e.code : 'INTERNAL';
    port.postMessage({ id: req.id, error: { code, message: errorMessage(e) } } satisfies ChunkReply);
    return;
  }
  port.postMessage(out.reply, out.transfer);
});

port.postMessage({ ready: true } satisfies ChunkReply);
