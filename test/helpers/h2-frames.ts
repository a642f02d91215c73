/**
 * Raw HTTP/2 frames, for attacks no well-behaved client library would make: thousands of
 * streams on one connection, streams cancelled as soon as they are opened (rapid reset).
 * Header blocks use HPACK literals without indexing, so every block stands alone.
 */

/** The client connection preface followed by an empty SETTINGS frame. */
export const clientPreface = Buffer.concat([
  Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"),
  frame(0x4, 0, 0, Buffer.alloc(0)),
]);

const endStream = 0x1;
const endHeaders = 0x4;
const cancel = 0x8;

/** One frame: 24-bit length, type, flags, 31-bit stream id, payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK string literal (no Huffman), for values shorter than 127 bytes. */
function literal(text: string): Buffer {
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text, "latin1")]);
}

/** The header block of `POST <path>` with a content type (static table names, literal values). */
function postHeaders(path: string, contentType: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    Buffer.from([0x04]), // :path, literal without indexing
    literal(path),
    Buffer.from([0x01]), // :authority
    literal("localhost"),
    Buffer.from([0x0f, 0x10]), // content-type (static index 31)
    literal(contentType),
  ]);
}

/** HEADERS opening a POST stream; `body` adds a DATA frame that ends the stream. */
export function postStream(
  streamId: number,
  path: string,
  contentType: string,
  body?: Buffer,
): Buffer {
  const headers = frame(0x1, endHeaders, streamId, postHeaders(path, contentType));
  return body === undefined
    ? headers
    : Buffer.concat([headers, frame(0x0, endStream, streamId, body)]);
}

/** RST_STREAM with CANCEL, as a client that gives up on a stream sends it. */
export function resetStream(streamId: number): Buffer {
  const code = Buffer.alloc(4);
  code.writeUInt32BE(cancel);
  return frame(0x3, 0, streamId, code);
}
