import { expect } from "vitest";
import { postJson, type TestKeycard } from "./keycard.js";
import { bearer } from "./rest.js";
import { type CeremonyOverrides, SoftAuthenticator } from "./soft-authenticator.js";

type Body = Record<string, unknown>;
type Reply = { status: number; body: Body };

/** A ceremony keycard started: the challenge's id and the options for the browser. */
export interface Ceremony {
  readonly challengeId: string;
  readonly options: Record<string, unknown>;
  readonly optionsJson: string;
}

/**
 * The passkey calls of keycard's REST API, as a browser page makes them, with a software
 * authenticator standing in for the browser's. Every request carries `headers` (a test's
 * client address, say) on top of its own.
 */
export class PasskeyRest {
  constructor(
    private readonly keycard: TestKeycard,
    private readonly headers: () => Record<string, string> = () => ({}),
  ) {}

  /** A software authenticator used from keycard's own origin (http://localhost:<port>). */
  authenticator(options: { userVerification?: boolean; counts?: boolean } = {}): SoftAuthenticator {
    return new SoftAuthenticator({ origin: `http://localhost:${this.keycard.port}`, ...options });
  }

  post(path: string, body: Body, headers: Record<string, string> = {}): Promise<Reply> {
    return postJson(`${this.keycard.baseUrl}${path}`, body, { ...this.headers(), ...headers });
  }

  /** POST /auth/passkeys/registration-options on a session. */
  async startRegistration(token: string): Promise<Reply & { ceremony?: Ceremony }> {
    const reply = await this.post("/auth/passkeys/registration-options", {}, bearer(token));
    return reply.status === 200 ? { ...reply, ceremony: ceremonyOf(reply.body) } : reply;
  }

  /** POST /auth/passkeys with the authenticator's answer to `ceremony`. */
  finishRegistration(
    token: string,
    ceremony: Ceremony,
    response: object,
    name = "Laptop",
  ): Promise<Reply> {
    return this.post(
      "/auth/passkeys",
      { challenge_id: ceremony.challengeId, name, response_json: JSON.stringify(response) },
      bearer(token),
    );
  }

  /** A whole registration on a fresh session; answers the new passkey's id. */
  async register(
    token: string,
    authenticator: SoftAuthenticator,
    name = "Laptop",
  ): Promise<string> {
    const started = await this.startRegistration(token);
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const ceremony = started.ceremony as Ceremony;
    const finished = await this.finishRegistration(
      token,
      ceremony,
      authenticator.register(ceremony.options),
      name,
    );
    expect(finished.status, JSON.stringify(finished.body)).toBe(200);
    return String((finished.body.passkey as Body).id);
  }

  /** POST /auth/passkeys/login-options. */
  async startLogin(): Promise<Ceremony> {
    const reply = await this.post("/auth/passkeys/login-options", {});
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    return ceremonyOf(reply.body);
  }

  /** A fresh login challenge answered by `authenticator`: Login's (or Reauthenticate's) `passkey`. */
  async assertion(
    authenticator: SoftAuthenticator,
    overrides: CeremonyOverrides = {},
  ): Promise<{ challenge_id: string; response_json: string }> {
    const ceremony = await this.startLogin();
    return {
      challenge_id: ceremony.challengeId,
      response_json: JSON.stringify(authenticator.assert(ceremony.options, overrides)),
    };
  }

  /** POST /auth/login with a passkey alone (or with `extra` fields such as email and password). */
  async login(
    authenticator: SoftAuthenticator,
    overrides: CeremonyOverrides = {},
    extra: Body = {},
  ): Promise<Reply> {
    return this.post("/auth/login", {
      ...extra,
      passkey: await this.assertion(authenticator, overrides),
    });
  }

  /** GET /auth/me's session for `token`. */
  async sessionOf(token: string): Promise<Body> {
    const reply = await fetch(`${this.keycard.baseUrl}/auth/me`, { headers: bearer(token) });
    const body = (await reply.json()) as Body;
    return body.session as Body;
  }
}

/** The ceremony of a registration-options or login-options answer. */
export function ceremonyOf(body: Body): Ceremony {
  const optionsJson = String(body.options_json);
  return {
    challengeId: String(body.challenge_id),
    options: JSON.parse(optionsJson) as Record<string, unknown>,
    optionsJson,
  };
}
