import { join } from "node:path";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { cliSuite, password, uniqueEmail } from "../helpers/cli-suite.js";

/** `keycard jwt ...` against a real server: a JWT for the saved session, and key rotation. */
const { cli, cliJson, addUser, testEnv, home } = cliSuite();

describe("keycard jwt", () => {
  it("prints a JWT for the saved session that verifies against the JWKS, and rotates the key", async () => {
    const email = uniqueEmail("jwt");
    const user = await addUser(email);
    const tokenFile = join(home(), "jwt", "session");
    const env = { KEYCARD_TOKEN_FILE: tokenFile };
    const login = await cli(["login", "--email", email, "--password-stdin"], {
      input: password,
      env,
    });
    expect(login.code).toBe(0);

    const issued = await cli(["jwt", "issue", "--ttl", "90s"], { env });
    expect(issued).toMatchObject({ code: 0, stderr: "" });
    const jwt = issued.stdout.trim();
    const keys = createRemoteJWKSet(new URL(`${testEnv().KEYCARD_URL}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(jwt, keys);
    expect(payload).toMatchObject({ sub: user.id, email });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(90);

    const rotated = await cliJson(["jwt", "rotate-key", "--immediate"]);
    expect(rotated).toMatchObject({ algorithm: "EdDSA", key_id: expect.any(String) });
    const human = await cli(["jwt", "rotate-key"]);
    expect(human.stdout).toMatch(/^New EdDSA key \S+ signs from .+ \(in 10 minutes\)\n$/);
    const next = JSON.parse((await cli(["jwt", "issue", "--json"], { env })).stdout) as {
      token: string;
    };
    expect(next).toMatchObject({ expires_in: 300 });
    expect(decodeProtectedHeader(String(next.token)).kid).toBe(rotated.key_id);
  });

  it("exits 2 for a lifetime it cannot read and 1 when the server refuses", async () => {
    const badTtl = await cli(["jwt", "issue", "--ttl", "soon"], {
      env: { KEYCARD_TOKEN_FILE: join(home(), "none") },
    });
    expect(badTtl).toMatchObject({ code: 2 });
    expect(badTtl.stderr).toContain('--ttl "soon" is not a duration');
    const noAdmin = await cli(["jwt", "rotate-key"], { env: { KEYCARD_ADMIN_TOKEN: "" } });
    expect(noAdmin.code).toBe(2);
  });
});
