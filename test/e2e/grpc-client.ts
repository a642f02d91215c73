import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { type ErrorInfo, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/**
 * A gRPC client that shares nothing with keycard's generated code: grpc-js with the
 * .proto files loaded at run time by proto-loader, as an outside team would call us.
 */

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Field names stay snake_case (keepCase), enums arrive as their names, defaults are filled. */
const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [
    `${repoRoot}proto`,
    `${repoRoot}proto/third_party`,
    `${repoRoot}node_modules/google-proto-files`,
  ],
};

const definition = grpc.loadPackageDefinition(
  protoLoader.loadSync(
    ["keycard/v1/auth_service.proto", "keycard/v1/admin_service.proto"],
    loaderOptions,
  ),
);

/** The keycard.v1 package as grpc-js sees it. */
const keycardV1 = (definition.keycard as grpc.GrpcObject).v1 as grpc.GrpcObject;

type UnaryMethod = (
  request: object,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

/** A google.protobuf.Timestamp as proto-loader decodes it with `longs: String`. */
export interface WireTimestamp {
  readonly seconds: string;
  readonly nanos: number;
}

/** A keycard.v1.Session as proto-loader decodes it. */
export interface WireSession {
  readonly id: string;
  readonly created_at: WireTimestamp | null;
  readonly expires_at: WireTimestamp | null;
  readonly last_used_at: WireTimestamp | null;
  readonly ip_address: string;
  readonly user_agent: string;
  readonly current: boolean;
  readonly auth_methods: string[];
  readonly authentication_methods: string[];
  readonly device_id: string;
  readonly label: string;
  readonly location: string;
}

/** A keycard.v1.User as proto-loader decodes it. */
export interface WireUser {
  readonly id: string;
  readonly email: string;
  readonly display_name: string;
  readonly roles: string[];
  readonly disabled: boolean;
  readonly created_at: WireTimestamp | null;
}

/** LoginResponse and RefreshResponse share these fields. */
export interface WireIssued {
  readonly session_token: string;
  readonly session_id: string;
  readonly expires_at: WireTimestamp | null;
  readonly expires_in: number;
  readonly message: string;
}

/** keycard.v1.LoginResponse. */
export interface WireLogin extends WireIssued {
  readonly user: string;
  /** A google.protobuf.Int32Value, present only when the login used a recovery code. */
  readonly recovery_codes_remaining?: { readonly value: number } | null;
}

/** keycard.v1.ValidateResponse. */
export interface WireValidate {
  readonly active: boolean;
  readonly reason: string;
  readonly subject: string;
  readonly session_id: string;
  readonly expires_at: WireTimestamp | null;
  readonly expires_in: number;
  readonly roles: string[];
  readonly email: string;
  readonly display_name: string;
}

/** The response type of every method we call, by method name. */
export interface WireResponses {
  Login: WireLogin;
  Refresh: WireIssued;
  Logout: { readonly message: string };
  ListSessions: { readonly sessions: WireSession[] };
  RevokeSession: { readonly revoked_count: number; readonly message: string };
  RenameSession: { readonly session: WireSession | null };
  Validate: WireValidate;
  GetMe: { readonly user: WireUser | null; readonly session: WireSession | null };
  CreateUser: { readonly user: WireUser | null };
  DisableUser: { readonly user: WireUser | null; readonly revoked_sessions: number };
  IssueJwt: { readonly token: string; readonly expires_in: number };
  RotateJwtKey: { readonly key_id: string; readonly algorithm: string };
  ChangePassword: { readonly revoked_sessions: number; readonly message: string };
  ResetPassword: { readonly revoked_sessions: number; readonly message: string };
  CreatePasswordReset: { readonly token: string; readonly expires_at: WireTimestamp | null };
  EnrollOwnTotp: { readonly secret: string; readonly otpauth_uri: string };
  ConfirmOwnTotp: { readonly user: WireUser | null; readonly revoked_sessions: number };
  RemoveOwnTotp: { readonly user: WireUser | null; readonly revoked_sessions: number };
  RegenerateRecoveryCodes: { readonly codes: string[] };
  GetRecoveryCodes: { readonly remaining: number };
  ResetRecoveryCodes: { readonly deleted: number };
  StartPasskeyRegistration: WirePasskeyCeremony;
  FinishPasskeyRegistration: { readonly passkey: WirePasskey | null };
  ListOwnPasskeys: { readonly passkeys: WirePasskey[] };
  RemoveOwnPasskey: { readonly revoked_sessions: number };
  StartPasskeyLogin: WirePasskeyCeremony;
  ListPasskeys: { readonly passkeys: WirePasskey[] };
  DeletePasskey: { readonly revoked_sessions: number };
}

/** StartPasskeyRegistrationResponse and StartPasskeyLoginResponse. */
export interface WirePasskeyCeremony {
  readonly challenge_id: string;
  readonly options_json: string;
}

/** A keycard.v1.Passkey as proto-loader decodes it. */
export interface WirePasskey {
  readonly id: string;
  readonly name: string;
  readonly created_at: WireTimestamp | null;
  readonly last_used_at: WireTimestamp | null;
  readonly transports: string[];
  readonly backed_up: boolean;
  readonly device_type: string;
}

/** Both keycard services over one plaintext HTTP/2 connection each. */
export interface GrpcClients {
  /** Calls one unary method; rejects with the grpc-js ServiceError on a non-OK status. */
  call<M extends keyof WireResponses>(
    method: M,
    request: object,
    metadata?: grpc.Metadata,
  ): Promise<WireResponses[M]>;
  /** Closes both channels; do this before closing the server. */
  close(): void;
}

const adminMethods = new Set<keyof WireResponses>([
  "CreateUser",
  "DisableUser",
  "RotateJwtKey",
  "CreatePasswordReset",
  "GetRecoveryCodes",
  "ResetRecoveryCodes",
  "ListPasskeys",
  "DeletePasskey",
]);

/** Opens grpc-js clients for AuthService and AdminService to 127.0.0.1:port, insecure. */
export function createGrpcClients(port: number): GrpcClients {
  const address = `127.0.0.1:${port}`;
  const credentials = grpc.credentials.createInsecure();
  const Auth = keycardV1.AuthService as grpc.ServiceClientConstructor;
  const Admin = keycardV1.AdminService as grpc.ServiceClientConstructor;
  const auth = new Auth(address, credentials);
  const admin = new Admin(address, credentials);
  return {
    call: (method, request, metadata = new grpc.Metadata()) => {
      const client = adminMethods.has(method) ? admin : auth;
      const unary = client[method] as UnaryMethod | undefined;
      if (unary === undefined) {
        throw new Error(`proto-loader defined no method ${method}`);
      }
      return new Promise((resolve, reject) => {
        unary.call(client, request, metadata, (error, response) => {
          if (error !== null) {
            reject(error);
          } else {
            resolve(response as WireResponses[typeof method]);
          }
        });
      });
    },
    close: () => {
      auth.close();
      admin.close();
    },
  };
}

/** Metadata carrying `authorization: Bearer <token>`. */
export function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

/** A google.rpc.Status decoded from the `grpc-status-details-bin` trailer. */
export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  readonly errorInfo: ErrorInfo[];
}

const errorInfoTypeUrl = "type.googleapis.com/google.rpc.ErrorInfo";

/**
 * Decodes the `grpc-status-details-bin` trailer of a failed call. google.rpc.Status has no
 * generated schema here, so its three fields (1 code, 2 message, 3 repeated Any) are read
 * by hand with BinaryReader; each Any is decoded with the well-known AnySchema and, when it
 * holds a google.rpc.ErrorInfo, unpacked with the generated ErrorInfoSchema.
 */
export function rpcStatusOf(error: unknown): RpcStatus {
  if (!(error instanceof Error) || !("metadata" in error)) {
    throw new Error(`not a grpc-js ServiceError: ${String(error)}`);
  }
  const [bytes] = (error as grpc.ServiceError).metadata.get("grpc-status-details-bin");
  if (!(bytes instanceof Buffer)) {
    throw new Error("the error has no grpc-status-details-bin trailer");
  }
  const reader = new BinaryReader(bytes);
  let code = 0;
  let message = "";
  const errorInfo: ErrorInfo[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.Varint) {
      code = reader.int32();
    } else if (field === 2 && wireType === WireType.LengthDelimited) {
      message = reader.string();
    } else if (field === 3 && wireType === WireType.LengthDelimited) {
      const any = fromBinary(AnySchema, reader.bytes());
      if (any.typeUrl === errorInfoTypeUrl) {
        errorInfo.push(fromBinary(ErrorInfoSchema, any.value));
      }
    } else {
      reader.skip(wireType);
    }
  }
  return { code, message, errorInfo };
}

/** The ErrorInfo reason in a failed call's status details trailer. */
export function reasonOf(error: unknown): string | undefined {
  return rpcStatusOf(error).errorInfo[0]?.reason;
}

/** Resolves with the rejection of a call that must fail, so tests can inspect it. */
export async function failureOf(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error("the call succeeded but was expected to fail");
}
