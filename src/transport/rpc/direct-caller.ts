import {
  create,
  type DescMessage,
  type DescMethodUnary,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import type {
  ContextValues,
  HandlerContext,
  Interceptor,
  UnaryRequest,
  UnaryResponse,
} from "@connectrpc/connect";

/** What one direct call carries besides its input. */
export interface DirectCall {
  readonly header: Headers;
  readonly contextValues: ContextValues;
  /** Aborted when the caller goes away (the HTTP response closed before it was sent). */
  readonly signal: AbortSignal;
  /** Receives the headers the method sets (a login's `device-id` cookie); dropped when absent. */
  readonly responseHeader?: Headers;
}

type UnaryHandler = (message: never, context: HandlerContext) => unknown;
type Next = (request: UnaryRequest) => Promise<UnaryResponse>;

/**
 * Calls a method's implementation in process, through the same interceptors as a remote
 * call, with no transport and no serialization: the REST layer, forward auth and
 * introspection use it so that they never re-implement a use case. Built only from
 * connect-es's public API (Interceptor, HandlerContext). The context is a plain object
 * (createHandlerContext would link AbortControllers and copy headers on every call).
 */
export class DirectCaller {
  private readonly impls = new Map<string, UnaryHandler>();

  constructor(private readonly interceptors: readonly Interceptor[]) {}

  /** Registers a service's implementation (the same object the router serves). */
  register<S extends DescService>(service: S, impl: object): void {
    for (const method of service.methods) {
      const handler = (impl as Record<string, unknown>)[method.localName];
      if (method.methodKind === "unary" && typeof handler === "function") {
        this.impls.set(method.parent.typeName + method.name, handler.bind(impl) as UnaryHandler);
      }
    }
  }

  /** Runs one unary method; rejects with the error a remote client would get. */
  async call<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    input: MessageInitShape<I>,
    call: DirectCall,
  ): Promise<MessageShape<O>> {
    const impl = this.impls.get(method.parent.typeName + method.name);
    if (impl === undefined) {
      throw new Error(`no implementation registered for ${method.parent.typeName}/${method.name}`);
    }
    const url = `/${method.parent.typeName}/${method.name}`;
    const invoke: Next = async (request) => {
      const context: HandlerContext = {
        service: method.parent,
        method,
        protocolName: "rest",
        requestMethod: "POST",
        url,
        signal: request.signal,
        timeoutMs: () => undefined,
        requestHeader: request.header,
        responseHeader: call.responseHeader ?? new Headers(),
        responseTrailer: new Headers(),
        values: request.contextValues,
      };
      const output = await impl(request.message as never, context);
      return {
        stream: false,
        service: method.parent,
        method,
        header: context.responseHeader,
        trailer: context.responseTrailer,
        message: create(method.output, output as MessageInitShape<O>),
      };
    };
    const chain = this.interceptors.reduceRight<Next>(
      (next, interceptor) => interceptor(next as never) as Next,
      invoke,
    );
    const response = await chain({
      stream: false,
      service: method.parent,
      method,
      requestMethod: "POST",
      url,
      header: call.header,
      contextValues: call.contextValues,
      signal: call.signal,
      message: create(method.input, input),
    } as UnaryRequest);
    return response.message as MessageShape<O>;
  }
}
