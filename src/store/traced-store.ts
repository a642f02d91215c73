import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { KeycardError } from "../domain/errors.js";
import type { PasswordHasher, Store } from "../domain/ports.js";

/** The ports of the store whose calls are traced (ping and close are the server's, not a call's). */
const ports = [
  "users",
  "sessions",
  "apiKeys",
  "loginAttempts",
  "sessionEpoch",
  "signingKeys",
  "passwordResets",
  "recoveryCodes",
  "sightings",
  "passkeys",
  "passkeyChallenges",
] as const;

/** What each span of one traced object is made with. */
interface SpanKit {
  readonly tracer: Tracer;
  /** The span names' prefix: `keycard.store.sessions` makes `keycard.store.sessions.lookup`. */
  readonly prefix: string;
  readonly kind: SpanKind;
  /** The attributes of the span of `operation` (the method's name). */
  readonly attributesOf: (operation: string) => Attributes;
}

function finish(span: Span): void {
  span.setAttribute("keycard.outcome", "ok");
  span.end();
}

/** Ends a failed call's span with the error's reason or class; never its message. */
function fail(span: Span, error: unknown): void {
  const outcome =
    error instanceof KeycardError
      ? error.reason
      : error instanceof Error
        ? error.constructor.name
        : "ERROR";
  span.setAttributes({ "keycard.outcome": outcome, "error.type": outcome });
  span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  span.end();
}

/**
 * Runs `call` in a child span of the current request's span; with no request span being
 * recorded (background work, an unsampled trace) it just runs `call`.
 */
function traced(kit: SpanKit, operation: string, call: () => unknown): unknown {
  const parent = context.active();
  if (!trace.getSpan(parent)?.isRecording()) {
    return call();
  }
  const span = kit.tracer.startSpan(
    `${kit.prefix}.${operation}`,
    { kind: kit.kind, attributes: kit.attributesOf(operation) },
    parent,
  );
  try {
    const result = call();
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          finish(span);
          return value;
        },
        (error: unknown) => {
          fail(span, error);
          throw error;
        },
      );
    }
    finish(span);
    return result;
  } catch (error) {
    fail(span, error);
    throw error;
  }
}

/** `target` with each of its methods run in a span named after it. */
function tracedMethods<T extends object>(target: T, kit: SpanKit): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key);
      if (typeof value !== "function" || typeof key !== "string") {
        return value;
      }
      let method = wrapped.get(key);
      if (method === undefined) {
        method = (...args: unknown[]) =>
          traced(kit, key, () => (value as (...given: unknown[]) => unknown).apply(object, args));
        wrapped.set(key, method);
      }
      return method;
    },
  });
}

/**
 * The store with every port call in a CLIENT span (`keycard.store.sessions.lookup`), child
 * of the request's span, with `db.system` (`redis`; absent for the in-memory store) and
 * the outcome. Arguments and answers are never recorded: they hold token hashes, records
 * and codes' hashes. Applied only when tracing is on.
 */
export function tracedStore<S extends Store>(store: S, tracer: Tracer, system?: string): S {
  const systemAttribute: Attributes = system === undefined ? {} : { "db.system": system };
  const tracedPorts = Object.fromEntries(
    ports.map((port) => [
      port,
      tracedMethods(store[port], {
        tracer,
        prefix: `keycard.store.${port}`,
        kind: SpanKind.CLIENT,
        attributesOf: (operation) => ({
          ...systemAttribute,
          "db.operation.name": `${port}.${operation}`,
        }),
      }),
    ]),
  );
  return { ...store, ...tracedPorts };
}

/** The password hasher with each hash and verify in an INTERNAL span (`keycard.password.verify`). */
export function tracedHasher(hasher: PasswordHasher, tracer: Tracer): PasswordHasher {
  return tracedMethods(hasher, {
    tracer,
    prefix: "keycard.password",
    kind: SpanKind.INTERNAL,
    attributesOf: () => ({}),
  });
}
