import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ErrorReason, ErrorReasonSchema } from "../../gen/keycard/v1/error_reason_pb.js";
import {
  type ErrorReason as DomainReason,
  errorCatalogue,
  KeycardError,
} from "../../src/domain/errors.js";
import { errorReasonOf, reasonName, toConnectError } from "../../src/transport/handlers/errors.js";

/** Every reason of the domain's catalogue. */
const domainReasons = Object.keys(errorCatalogue) as DomainReason[];

describe("the proto's ErrorReason and the domain's error catalogue", () => {
  it("name the same reasons: the enum's value names, UNSPECIFIED aside, are the catalogue's keys", () => {
    const protoNames = ErrorReasonSchema.values
      .map((value) => value.name)
      .filter((name) => name !== "ERROR_REASON_UNSPECIFIED");

    expect(new Set(protoNames)).toEqual(new Set(domainReasons));
    expect(protoNames).toHaveLength(domainReasons.length);
  });

  it("sends each domain reason as exactly its own name in ErrorInfo.reason", () => {
    for (const reason of domainReasons) {
      expect(reasonName(errorReasonOf(reason))).toBe(reason);
      const mapped = toConnectError(new KeycardError(reason, "message"));
      expect(mapped).toBeInstanceOf(ConnectError);
      expect((mapped as ConnectError).findDetails(ErrorInfoSchema)).toEqual([
        expect.objectContaining({ reason, domain: "keycard.dev" }),
      ]);
    }
  });

  it("keeps the reason strings clients already match on", () => {
    expect(reasonName(ErrorReason.INVALID_CREDENTIALS)).toBe("INVALID_CREDENTIALS");
    expect(reasonName(ErrorReason.TOTP_REQUIRED)).toBe("TOTP_REQUIRED");
    expect(reasonName(ErrorReason.RATE_LIMITED)).toBe("RATE_LIMITED");
  });
});
