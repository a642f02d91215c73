import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KeycardError } from "../../src/domain/errors.js";
import { matchRoute, type RestMatch, restRoutes } from "../../src/transport/http/rest-routes.js";
import { services } from "../../src/transport/routes.js";

const routes = restRoutes(services);

/** The error a function throws; fails the test if it returns instead. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

/** The match for a path, failing the test on a 405 or a miss. */
function matched(httpMethod: string, path: string): RestMatch {
  const result = matchRoute(routes, httpMethod, path);
  if (result === undefined || !("route" in result)) {
    throw new Error(`no ${httpMethod} route for ${path}: ${JSON.stringify(result)}`);
  }
  return result;
}

/** Every `verb: "path"` of a google.api.http annotation in the proto sources. */
function annotatedPaths(): string[] {
  const files = ["proto/keycard/v1/auth_service.proto", "proto/keycard/v1/admin_service.proto"];
  return files.flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/\b(get|put|post|delete|patch):\s*"([^"]+)"/g)].map(
      ([, verb = "", path = ""]) => `${verb.toUpperCase()} ${path}`,
    ),
  );
}

describe("restRoutes", () => {
  it("compiles exactly one route per annotated path of the services", () => {
    const compiled = routes.map((route) => `${route.httpMethod} ${route.template}`);
    const annotated = annotatedPaths();
    expect(annotated.length).toBeGreaterThan(0);
    expect([...compiled].sort()).toEqual([...annotated].sort());
  });

  it("binds each path to its RPC", () => {
    const table = routes.map((route) => [route.httpMethod, route.template, route.method.name]);
    expect(table).toEqual(
      expect.arrayContaining([
        ["POST", "/auth/login", "Login"],
        ["POST", "/auth/refresh", "Refresh"],
        ["POST", "/auth/logout", "Logout"],
        ["GET", "/auth/sessions", "ListSessions"],
        ["DELETE", "/auth/sessions/{session_id}", "RevokeSession"],
        ["PATCH", "/auth/sessions/{session_id}", "RenameSession"],
        ["DELETE", "/auth/sessions", "RevokeSession"],
        ["POST", "/auth/validate", "Validate"],
        ["POST", "/auth/reauthenticate", "Reauthenticate"],
        ["GET", "/auth/me", "GetMe"],
        ["POST", "/auth/token", "IssueToken"],
        ["POST", "/auth/jwt", "IssueJwt"],
        ["POST", "/auth/password", "ChangePassword"],
        ["POST", "/auth/password/reset", "ResetPassword"],
        ["POST", "/auth/totp", "EnrollOwnTotp"],
        ["POST", "/auth/totp/confirm", "ConfirmOwnTotp"],
        ["DELETE", "/auth/totp", "RemoveOwnTotp"],
        ["POST", "/auth/recovery-codes", "RegenerateRecoveryCodes"],
        ["POST", "/auth/passkeys/registration-options", "StartPasskeyRegistration"],
        ["POST", "/auth/passkeys", "FinishPasskeyRegistration"],
        ["GET", "/auth/passkeys", "ListOwnPasskeys"],
        ["DELETE", "/auth/passkeys/{passkey_id}", "RemoveOwnPasskey"],
        ["POST", "/auth/passkeys/login-options", "StartPasskeyLogin"],
        ["POST", "/admin/users", "CreateUser"],
        ["POST", "/admin/users/{user_id}/disable", "DisableUser"],
        ["GET", "/admin/users", "ListUsers"],
        ["POST", "/admin/users/{user_id}/password", "SetPassword"],
        ["POST", "/admin/users/{user_id}/roles", "SetRoles"],
        ["POST", "/admin/users/{user_id}/api-keys", "CreateApiKey"],
        ["GET", "/admin/users/{user_id}/api-keys", "ListApiKeys"],
        ["DELETE", "/admin/api-keys/{api_key_id}", "RevokeApiKey"],
        ["POST", "/admin/users/{user_id}/totp", "EnrollTotp"],
        ["POST", "/admin/users/{user_id}/totp/confirm", "ConfirmTotp"],
        ["DELETE", "/admin/users/{user_id}/totp", "ResetTotp"],
        ["GET", "/admin/users/{user_id}/sessions", "ListUserSessions"],
        ["DELETE", "/admin/users/{user_id}/sessions", "RevokeUserSessions"],
        ["POST", "/admin/sessions/end-all", "EndAllSessions"],
        ["POST", "/admin/jwt-keys/rotate", "RotateJwtKey"],
        ["POST", "/admin/users/{user_id}/password-reset", "CreatePasswordReset"],
        ["GET", "/admin/users/{user_id}/recovery-codes", "GetRecoveryCodes"],
        ["DELETE", "/admin/users/{user_id}/recovery-codes", "ResetRecoveryCodes"],
        ["GET", "/admin/users/{user_id}/passkeys", "ListPasskeys"],
        ["DELETE", "/admin/users/{user_id}/passkeys/{passkey_id}", "DeletePasskey"],
      ]),
    );
    expect(table).toHaveLength(43);
  });

  it("maps the whole body onto the request only for routes annotated with body *", () => {
    const withBody = routes
      .filter((route) => route.bodyIsMessage)
      .map((route) => `${route.httpMethod} ${route.template}`);
    expect(withBody.sort()).toEqual([
      "PATCH /auth/sessions/{session_id}",
      "POST /admin/jwt-keys/rotate",
      "POST /admin/sessions/end-all",
      "POST /admin/users",
      "POST /admin/users/{user_id}/api-keys",
      "POST /admin/users/{user_id}/disable",
      "POST /admin/users/{user_id}/password",
      "POST /admin/users/{user_id}/password-reset",
      "POST /admin/users/{user_id}/roles",
      "POST /admin/users/{user_id}/totp",
      "POST /admin/users/{user_id}/totp/confirm",
      "POST /auth/jwt",
      "POST /auth/login",
      "POST /auth/logout",
      "POST /auth/passkeys",
      "POST /auth/passkeys/login-options",
      "POST /auth/passkeys/registration-options",
      "POST /auth/password",
      "POST /auth/password/reset",
      "POST /auth/reauthenticate",
      "POST /auth/recovery-codes",
      "POST /auth/refresh",
      "POST /auth/token",
      "POST /auth/totp",
      "POST /auth/totp/confirm",
      "POST /auth/validate",
    ]);
  });
});

describe("matchRoute", () => {
  it("matches a path without variables", () => {
    const match = matched("POST", "/auth/login");
    expect(match.route.method.name).toBe("Login");
    expect(match.pathValues).toEqual({});
  });

  it("tells apart two bindings of one RPC", () => {
    expect(matched("DELETE", "/auth/sessions").pathValues).toEqual({});
    expect(matched("DELETE", "/auth/sessions/s-123").pathValues).toEqual({ session_id: "s-123" });
    expect(matched("PATCH", "/auth/sessions/s-123").route.method.name).toBe("RenameSession");
    expect(matched("GET", "/auth/sessions").route.method.name).toBe("ListSessions");
  });

  it("reads a path variable in the middle of a path", () => {
    const match = matched("POST", "/admin/users/u_42/disable");
    expect(match.route.method.name).toBe("DisableUser");
    expect(match.pathValues).toEqual({ user_id: "u_42" });
  });

  it("tells apart the routes that share a path prefix or a path", () => {
    expect(matched("GET", "/admin/users").route.method.name).toBe("ListUsers");
    expect(matched("POST", "/admin/users").route.method.name).toBe("CreateUser");
    expect(matched("POST", "/admin/users/u_42/totp").route.method.name).toBe("EnrollTotp");
    expect(matched("DELETE", "/admin/users/u_42/totp").route.method.name).toBe("ResetTotp");
    const confirm = matched("POST", "/admin/users/u_42/totp/confirm");
    expect(confirm.route.method.name).toBe("ConfirmTotp");
    expect(confirm.pathValues).toEqual({ user_id: "u_42" });
    expect(matched("GET", "/admin/users/u_42/api-keys").route.method.name).toBe("ListApiKeys");
    expect(matched("POST", "/admin/users/u_42/api-keys").route.method.name).toBe("CreateApiKey");
    const revoke = matched("DELETE", "/admin/api-keys/k_7");
    expect(revoke.route.method.name).toBe("RevokeApiKey");
    expect(revoke.pathValues).toEqual({ api_key_id: "k_7" });
  });

  it("percent-decodes path variables", () => {
    expect(matched("POST", "/admin/users/a%2Fb%20c%C3%A9/disable").pathValues).toEqual({
      user_id: "a/b cé",
    });
  });

  it("lists the allowed methods for a known path asked with another method", () => {
    expect(matchRoute(routes, "GET", "/auth/login")).toEqual({ allowed: ["POST"] });
    const onSessions = matchRoute(routes, "PUT", "/auth/sessions");
    expect(onSessions).toHaveProperty("allowed");
    expect([...((onSessions as { allowed: string[] }).allowed ?? [])].sort()).toEqual([
      "DELETE",
      "GET",
    ]);
    const onUsers = matchRoute(routes, "PUT", "/admin/users");
    expect(onUsers).toHaveProperty("allowed");
    expect([...((onUsers as { allowed: string[] }).allowed ?? [])].sort()).toEqual(["GET", "POST"]);
  });

  it.each([
    "/auth/nope",
    "/auth/login/",
    "/auth/sessions/a/b",
    "/admin/users//disable",
    "/auth",
    "/",
    "",
  ])("answers undefined for the unknown path %j", (path) => {
    expect(matchRoute(routes, "GET", path)).toBeUndefined();
    expect(matchRoute(routes, "POST", path)).toBeUndefined();
  });

  it("refuses a path variable with bad percent-encoding as an invalid argument naming the field", () => {
    const error = thrownBy(() => matchRoute(routes, "DELETE", "/auth/sessions/%E0%A4%A"));
    expect(error).toBeInstanceOf(KeycardError);
    expect(error).toMatchObject({ reason: "INVALID_ARGUMENT", field: "session_id" });
    expect((error as KeycardError).kind).toBe("invalid-argument");
  });

  it("refuses a lone percent sign in a path variable", () => {
    const error = thrownBy(() => matchRoute(routes, "POST", "/admin/users/100%/disable"));
    expect(error).toMatchObject({ reason: "INVALID_ARGUMENT", field: "user_id" });
  });
});
