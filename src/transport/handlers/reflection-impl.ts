import type {
  DescEnum,
  DescExtension,
  DescFile,
  DescMessage,
  DescService,
} from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The services whose reflection keycard serves: both protocol versions. */
export const reflectionServices = [ServerReflectionV1, ServerReflectionV1alpha] as const;

/**
 * A ServerReflectionRequest of either protocol version: v1 and v1alpha are the same
 * messages under two package names.
 */
interface Question {
  readonly host: string;
  readonly messageRequest:
    | {
        readonly case:
          | "fileByFilename"
          | "fileContainingSymbol"
          | "allExtensionNumbersOfType"
          | "listServices";
        readonly value: string;
      }
    | {
        readonly case: "fileContainingExtension";
        readonly value: { readonly containingType: string; readonly extensionNumber: number };
      }
    | { readonly case: undefined; readonly value?: undefined };
}

/** The `message_response` oneof of a ServerReflectionResponse, of either version. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | {
      case: "allExtensionNumbersResponse";
      value: { baseTypeName: string; extensionNumber: number[] };
    }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** A ServerReflectionResponse as an init object, valid for either version. */
interface Reply {
  validHost: string;
  originalRequest: { host: string; messageRequest: Question["messageRequest"] };
  messageResponse: Answer;
}

function notFound(message: string): Answer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } };
}

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) over the descriptors compiled
 * into keycard, so grpcurl, Postman and other tools can list and call its services
 * without the proto files. Every answer carries the file asked for first, then its
 * transitive dependencies.
 */
export class ServerReflectionImpl {
  /** Fully-qualified names of the services listed. */
  private readonly serviceNames: readonly string[];
  /** Every file the services need, by file name. */
  private readonly files = new Map<string, DescFile>();
  /** The file declaring each fully-qualified symbol (types, services, methods, extensions). */
  private readonly symbols = new Map<string, DescFile>();
  /** Extensions by extended message type name. */
  private readonly extensions = new Map<string, DescExtension[]>();
  /** Serialized FileDescriptorProtos, computed on first use. */
  private readonly encoded = new Map<string, Uint8Array>();

  readonly v1: ServiceImpl<typeof ServerReflectionV1>;
  readonly v1alpha: ServiceImpl<typeof ServerReflectionV1alpha>;

  /**
   * `services`: what keycard serves besides reflection itself, which is always listed;
   * `files`: proto files no service imports that clients still need (ErrorReason).
   */
  constructor(services: readonly DescService[], files: readonly DescFile[] = []) {
    const all = [...services, ...reflectionServices];
    this.serviceNames = [...new Set(all.map((service) => service.typeName))];
    for (const file of [...all.map((service) => service.file), ...files]) {
      this.addFile(file);
    }
    const stream = (requests: AsyncIterable<Question>) => this.answerAll(requests);
    this.v1 = { serverReflectionInfo: stream };
    this.v1alpha = { serverReflectionInfo: stream };
  }

  private async *answerAll(requests: AsyncIterable<Question>): AsyncGenerator<Reply> {
    for await (const request of requests) {
      yield {
        validHost: request.host,
        originalRequest: { host: request.host, messageRequest: request.messageRequest },
        messageResponse: this.answer(request),
      };
    }
  }

  /** The answer to one question. */
  answer(request: Question): Answer {
    const { messageRequest } = request;
    switch (messageRequest.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: this.serviceNames.map((name) => ({ name })) },
        };
      case "fileByFilename": {
        const file = this.files.get(messageRequest.value);
        return file === undefined
          ? notFound(`File not found: ${messageRequest.value}`)
          : this.withDependencies(file);
      }
      case "fileContainingSymbol": {
        const file = this.symbols.get(stripDot(messageRequest.value));
        return file === undefined
          ? notFound(`Symbol not found: ${messageRequest.value}`)
          : this.withDependencies(file);
      }
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = messageRequest.value;
        const extension = this.extensions
          .get(stripDot(containingType))
          ?.find((candidate) => candidate.number === extensionNumber);
        return extension === undefined
          ? notFound(`Extension not found: ${containingType}(${extensionNumber})`)
          : this.withDependencies(extension.file);
      }
      case "allExtensionNumbersOfType": {
        const typeName = stripDot(messageRequest.value);
        if (!this.symbols.has(typeName)) {
          return notFound(`Type not found: ${messageRequest.value}`);
        }
        return {
          case: "allExtensionNumbersResponse",
          value: {
            baseTypeName: typeName,
            extensionNumber: (this.extensions.get(typeName) ?? []).map((ext) => ext.number),
          },
        };
      }
      default:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "Empty reflection request" },
        };
    }
  }

  /** `file` and its transitive dependencies, each serialized once. */
  private withDependencies(file: DescFile): Answer {
    const ordered: DescFile[] = [];
    const seen = new Set<string>();
    const visit = (current: DescFile): void => {
      if (seen.has(current.proto.name)) {
        return;
      }
      seen.add(current.proto.name);
      ordered.push(current);
      for (const dependency of current.dependencies) {
        visit(dependency);
      }
    };
    visit(file);
    return {
      case: "fileDescriptorResponse",
      value: { fileDescriptorProto: ordered.map((each) => this.encode(each)) },
    };
  }

  private encode(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }

  /** Indexes `file`, its symbols and, recursively, its dependencies. */
  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) {
      return;
    }
    this.files.set(file.proto.name, file);
    for (const message of file.messages) {
      this.addMessage(message);
    }
    for (const enumeration of file.enums) {
      this.addEnum(enumeration);
    }
    for (const extension of file.extensions) {
      this.addExtension(extension);
    }
    for (const service of file.services) {
      this.symbols.set(service.typeName, file);
      for (const method of service.methods) {
        this.symbols.set(`${service.typeName}.${method.name}`, file);
      }
    }
    for (const dependency of file.dependencies) {
      this.addFile(dependency);
    }
  }

  private addMessage(message: DescMessage): void {
    this.symbols.set(message.typeName, message.file);
    for (const field of message.fields) {
      this.symbols.set(`${message.typeName}.${field.name}`, message.file);
    }
    for (const nested of message.nestedMessages) {
      this.addMessage(nested);
    }
    for (const nested of message.nestedEnums) {
      this.addEnum(nested);
    }
    for (const nested of message.nestedExtensions) {
      this.addExtension(nested);
    }
  }

  private addEnum(enumeration: DescEnum): void {
    this.symbols.set(enumeration.typeName, enumeration.file);
  }

  private addExtension(extension: DescExtension): void {
    this.symbols.set(extension.typeName, extension.file);
    const extendee = extension.extendee.typeName;
    this.extensions.set(extendee, [...(this.extensions.get(extendee) ?? []), extension]);
  }
}

/** Tools sometimes send fully-qualified names with a leading dot. */
function stripDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}
