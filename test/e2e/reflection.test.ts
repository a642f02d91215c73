import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeycard, type TestKeycard } from "../helpers/keycard.js";

/**
 * Server reflection as grpcurl or Postman use it: grpc-js over real HTTP/2 with the
 * upstream reflection.proto loaded at run time, no keycard code involved; then a client
 * built only from what reflection returned.
 */
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const versions = ["v1", "v1alpha"] as const;
type Version = (typeof versions)[number];

/** A ServerReflectionRequest as proto-loader encodes it (keepCase). */
type Question =
  | { list_services: string }
  | { file_containing_symbol: string }
  | { file_by_filename: string };

/** A ServerReflectionResponse as proto-loader decodes it (keepCase, oneofs). */
interface Reply {
  readonly message_response:
    | "list_services_response"
    | "file_descriptor_response"
    | "error_response"
    | "all_extension_numbers_response";
  readonly list_services_response?: { service: { name: string }[] };
  readonly file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  readonly error_response?: { error_code: number; error_message: string };
}

function reflectionClient(version: Version, address: string): grpc.Client {
  const definition = grpc.loadPackageDefinition(
    protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
      keepCase: true,
      oneofs: true,
      includeDirs: [`${repoRoot}proto/third_party`],
    }),
  );
  const reflection = (definition.grpc as grpc.GrpcObject).reflection as grpc.GrpcObject;
  const Client = (reflection[version] as grpc.GrpcObject)
    .ServerReflection as grpc.ServiceClientConstructor;
  return new Client(address, grpc.credentials.createInsecure());
}

/** Sends `questions` on one ServerReflectionInfo stream; resolves with every reply. */
function ask(client: grpc.Client, questions: Question[]): Promise<Reply[]> {
  const stub = client as unknown as {
    ServerReflectionInfo(): grpc.ClientDuplexStream<Question, Reply>;
  };
  return new Promise((resolve, reject) => {
    const call = stub.ServerReflectionInfo();
    const replies: Reply[] = [];
    call.on("data", (reply: Reply) => replies.push(reply));
    call.on("error", reject);
    call.on("end", () => resolve(replies));
    for (const question of questions) {
      call.write(question);
    }
    call.end();
  });
}

/** The FileDescriptorProtos of a file_descriptor_response. */
function files(reply: Reply | undefined): FileDescriptorProto[] {
  expect(reply?.message_response).toBe("file_descriptor_response");
  return (reply?.file_descriptor_response?.file_descriptor_proto ?? []).map((bytes) =>
    fromBinary(FileDescriptorProtoSchema, bytes),
  );
}

describe("gRPC server reflection (v1 and v1alpha)", () => {
  let keycard: TestKeycard;
  let address: string;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory" });
    address = `127.0.0.1:${keycard.port}`;
  });
  afterAll(async () => {
    for (const client of clients) {
      client.close();
    }
    await keycard?.close();
  });

  describe.each(versions)("grpc.reflection.%s", (version) => {
    let client: grpc.Client;
    beforeAll(() => {
      client = reflectionClient(version, address);
      clients.push(client);
    });

    it("lists keycard's services, health and reflection, without credentials", async () => {
      const [reply] = await ask(client, [{ list_services: "" }]);
      expect(reply?.message_response).toBe("list_services_response");
      const names = reply?.list_services_response?.service.map((service) => service.name);
      expect(names).toEqual(
        expect.arrayContaining([
          "keycard.v1.AuthService",
          "keycard.v1.AdminService",
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
        ]),
      );
    });

    it("answers file_containing_symbol with the file first and its dependencies", async () => {
      const [reply] = await ask(client, [{ file_containing_symbol: "keycard.v1.AuthService" }]);
      const [first, ...dependencies] = files(reply);
      expect(first?.name).toBe("keycard/v1/auth_service.proto");
      const auth = first?.service.find((service) => service.name === "AuthService");
      expect(auth?.method.map((method) => method.name)).toContain("Validate");
      const names = new Set([first?.name, ...dependencies.map((file) => file.name)]);
      for (const dependency of first?.dependency ?? []) {
        expect(names.has(dependency)).toBe(true);
      }
      expect(names).toContain("google/protobuf/timestamp.proto");
    });

    it("answers a method symbol and file_by_filename the same way", async () => {
      const [byMethod, byName] = await ask(client, [
        { file_containing_symbol: "keycard.v1.AuthService.Validate" },
        { file_by_filename: "keycard/v1/admin_service.proto" },
      ]);
      expect(files(byMethod)[0]?.name).toBe("keycard/v1/auth_service.proto");
      expect(files(byName)[0]?.service.map((service) => service.name)).toEqual(["AdminService"]);
    });

    it("describes the error reasons and the field rules, which no service declares", async () => {
      const [reasons, rules] = await ask(client, [
        { file_containing_symbol: "keycard.v1.ErrorReason" },
        { file_by_filename: "keycard/v1/admin_service.proto" },
      ]);
      const [reasonFile] = files(reasons);
      expect(reasonFile?.name).toBe("keycard/v1/error_reason.proto");
      const values = reasonFile?.enumType[0]?.value.map((value) => value.name);
      expect(values).toContain("INVALID_CREDENTIALS");
      expect(files(rules).map((file) => file.name)).toEqual(
        expect.arrayContaining(["keycard/v1/rules.proto", "buf/validate/validate.proto"]),
      );
    });

    it("answers NOT_FOUND for an unknown symbol or file, and keeps the stream open", async () => {
      const replies = await ask(client, [
        { file_containing_symbol: "no.such.Service" },
        { file_by_filename: "no/such.proto" },
        { list_services: "" },
      ]);
      expect(replies.map((reply) => reply.message_response)).toEqual([
        "error_response",
        "error_response",
        "list_services_response",
      ]);
      expect(replies[0]?.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
      expect(replies[1]?.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
    });
  });

  it("yields descriptors a client can be built from and call AuthService/Validate with", async () => {
    const client = reflectionClient("v1", address);
    clients.push(client);
    const [reply] = await ask(client, [{ file_containing_symbol: "keycard.v1.AuthService" }]);
    const set = create(FileDescriptorSetSchema, { file: files(reply) });
    const definition = grpc.loadPackageDefinition(
      protoLoader.loadFileDescriptorSetFromBuffer(
        Buffer.from(toBinary(FileDescriptorSetSchema, set)),
        { keepCase: true, defaults: true },
      ),
    );
    const keycardV1 = (definition.keycard as grpc.GrpcObject).v1 as grpc.GrpcObject;
    const AuthClient = keycardV1.AuthService as grpc.ServiceClientConstructor;
    const auth = new AuthClient(
      address,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      Validate(
        request: { token: string },
        callback: (error: grpc.ServiceError | null, response?: { active: boolean }) => void,
      ): grpc.ClientUnaryCall;
    };
    clients.push(auth);
    const response = await new Promise<{ active: boolean } | undefined>((resolve, reject) => {
      auth.Validate({ token: "garbage-token" }, (error, answer) =>
        error === null ? resolve(answer) : reject(error),
      );
    });
    expect(response?.active).toBe(false);
  });
});
