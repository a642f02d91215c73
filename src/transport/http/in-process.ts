import type {
  DescMessage,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import type { ConnectRouter, ContextValues } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalClientRequest,
  type UniversalClientResponse,
  type UniversalHandler,
} from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-connect";

/** What one in-process call carries besides its input. */
export interface InProcessCall {
  readonly header: Headers;
  readonly contextValues: ContextValues;
  readonly signal: AbortSignal;
}

/**
 * Calls the router's handlers directly, without a network hop, through the same
 * interceptors as a remote call. The REST layer uses it so that it never re-implements a
 * use case.
 */
export class InProcessCaller {
  private readonly handlers = new Map<string, UniversalHandler>();

  constructor(router: ConnectRouter) {
    for (const handler of router.handlers) {
      this.handlers.set(handler.requestPath, handler);
    }
  }

  /** Runs one unary method; rejects with the ConnectError a remote client would get. */
  async call<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    input: MessageInitShape<I>,
    call: InProcessCall,
  ): Promise<MessageShape<O>> {
    const handler = this.handlers.get(`/${method.parent.typeName}/${method.name}`);
    if (handler === undefined) {
      throw new Error(`no handler registered for ${method.parent.typeName}/${method.name}`);
    }
    const transport = createTransport({
      httpClient: (request) => invoke(handler, request, call),
      baseUrl: "http://in-process",
      useBinaryFormat: true,
      interceptors: [],
      acceptCompression: [],
      sendCompression: null,
      compressMinBytes: Number.MAX_SAFE_INTEGER,
      readMaxBytes: Number.MAX_SAFE_INTEGER,
      writeMaxBytes: Number.MAX_SAFE_INTEGER,
    });
    const response = await transport.unary(method, call.signal, undefined, call.header, input);
    return response.message;
  }
}

async function invoke(
  handler: UniversalHandler,
  request: UniversalClientRequest,
  call: InProcessCall,
): Promise<UniversalClientResponse> {
  const response = await handler({
    body: request.body ?? createAsyncIterable([]),
    httpVersion: "1.1",
    method: request.method,
    url: request.url,
    header: request.header,
    signal: request.signal ?? call.signal,
    contextValues: call.contextValues,
  });
  return {
    status: response.status,
    header: new Headers(response.header),
    trailer: new Headers(response.trailer),
    body: response.body ?? createAsyncIterable([]),
  };
}
