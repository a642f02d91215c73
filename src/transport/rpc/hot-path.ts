import {
  create,
  type DescMessage,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import type { ClientInfo } from "../../domain/session.js";
import type { RequestOrigin } from "../client-info.js";
import type { HeaderLookup } from "../credentials.js";
import { asConnectError } from "../handlers/errors.js";
import type { CallLog } from "../interceptors/logging.js";
import { type KeycardMetrics, recordRpc } from "../metrics.js";
import { checkRules } from "../proto-rules.js";
import { replyFacts } from "../tracing/call-facts.js";
import type { CallSpans } from "../tracing/call-spans.js";

/** A hot unary method (Validate, ext_authz Check) and the handler every path runs for it. */
export interface HotMethod<
  I extends DescMessage = DescMessage,
  O extends DescMessage = DescMessage,
> {
  readonly method: DescMethodUnary<I, O>;
  readonly run: (
    message: MessageShape<I>,
    headers: HeaderLookup,
    client: () => ClientInfo,
  ) => Promise<MessageInitShape<O>>;
}

/** A hot method, typed by its descriptor. */
export function hotMethod<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  run: HotMethod<I, O>["run"],
): HotMethod {
  return { method, run } as unknown as HotMethod;
}

/** The `service/Method` name a call is logged and counted under. */
export function rpcNameOf(method: DescMethodUnary): string {
  return `${method.parent.typeName}/${method.name}`;
}

/**
 * The one fast path of the methods every request of every service using keycard makes:
 * the lean RPC path (Connect, gRPC, gRPC-Web), REST `POST /auth/validate`, forward auth,
 * introspection and ext_authz all run the same handler through here, with the same
 * metrics and log line as any RPC, and none of connect-node's per-call machinery.
 */
export class HotPath {
  private readonly methods = new Map<DescMethodUnary, HotMethod>();

  constructor(
    private readonly deps: {
      readonly metrics: KeycardMetrics;
      readonly calls: CallLog;
      /** The client a request comes from, as TRUSTED_PROXIES resolves it. */
      readonly clientOf: (origin: RequestOrigin) => ClientInfo;
      /** The request spans, when tracing is on. */
      readonly spans?: CallSpans | undefined;
    },
    methods: readonly HotMethod[],
  ) {
    for (const hot of methods) {
      this.methods.set(hot.method, hot);
    }
  }

  /** The hot methods, for the lean path's route table. */
  get all(): readonly HotMethod[] {
    return [...this.methods.values()];
  }

  /** Whether `method` is served here. */
  has(method: DescMethodUnary): boolean {
    return this.methods.has(method);
  }

  /**
   * Runs a hot method for one request (`origin`); rejects with the ConnectError a client
   * gets. `started` (performance.now()) is when the request arrived, for the histogram.
   */
  async call<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    message: MessageShape<I>,
    origin: RequestOrigin,
    headers: HeaderLookup,
    requestId: string,
    started = performance.now(),
  ): Promise<MessageShape<O>> {
    const hot = this.methods.get(method as DescMethodUnary);
    if (hot === undefined) {
      throw new Error(`${rpcNameOf(method as DescMethodUnary)} is not a hot method`);
    }
    try {
      checkRules(method.input, message);
      const client = (): ClientInfo => this.deps.clientOf(origin);
      const init = await hot.run(message as MessageShape<DescMessage>, headers, client);
      const reply = create(method.output, init as MessageInitShape<O>);
      this.record(method as DescMethodUnary, requestId, started, undefined, reply);
      return reply;
    } catch (error) {
      const failure = asConnectError(error);
      this.record(method as DescMethodUnary, requestId, started, failure);
      throw failure;
    }
  }

  /**
   * Counts, logs and (when tracing) reports one finished call, as the metrics and logging
   * interceptors do; `reply` is its answer when it succeeded.
   */
  record(
    method: DescMethodUnary,
    requestId: string,
    started: number,
    error?: ConnectError,
    reply?: unknown,
  ): void {
    const rpc = rpcNameOf(method);
    recordRpc(this.deps.metrics, rpc, started, error);
    this.deps.calls.record({ rpc, requestId, started, lean: true }, error);
    this.deps.spans?.finished(rpc, requestId, error, replyFacts(reply));
  }
}
