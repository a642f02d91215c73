import type { ConnectRouter } from "@connectrpc/connect";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { file_keycard_v1_bootstrap } from "../../gen/keycard/v1/bootstrap_pb.js";
import { file_keycard_v1_error_reason } from "../../gen/keycard/v1/error_reason_pb.js";
import type { AdminServiceImpl } from "./handlers/admin-service-impl.js";
import type { AuthServiceImpl } from "./handlers/auth-service-impl.js";
import type { ExtAuthzImpl } from "./handlers/ext-authz-impl.js";
import type { HealthServiceImpl } from "./handlers/health-service-impl.js";
import { reflectionServices, ServerReflectionImpl } from "./handlers/reflection-impl.js";

/** The service implementations the server exposes. */
export interface ServiceImpls {
  readonly auth: AuthServiceImpl;
  readonly admin: AdminServiceImpl;
  readonly health: HealthServiceImpl;
  readonly extAuthz: ExtAuthzImpl;
}

/** The services keycard serves, registered on a router. */
export function routes(impls: ServiceImpls): (router: ConnectRouter) => void {
  return (router) => {
    router.service(AuthService, impls.auth);
    router.service(AdminService, impls.admin);
    router.service(Health, impls.health);
    router.service(Authorization, impls.extAuthz);
    // Reflection describes every service registered above, itself, the error reasons
    // and the bootstrap file's format.
    const reflection = new ServerReflectionImpl(
      [AuthService, AdminService, Health, Authorization],
      [file_keycard_v1_error_reason, file_keycard_v1_bootstrap],
    );
    const [v1, v1alpha] = reflectionServices;
    router.service(v1, reflection.v1);
    router.service(v1alpha, reflection.v1alpha);
  };
}

/** Every service, for the transcoding layer to read annotations from. */
export const services = [AuthService, AdminService] as const;
