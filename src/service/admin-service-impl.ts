import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { userToProto } from "./mappers.js";
import type { UserService } from "./user-service.js";

/** AdminService over Connect; the auth interceptor has already checked the admin token. */
export class AdminServiceImpl implements ServiceImpl<typeof AdminService> {
  constructor(private readonly users: UserService) {}

  async createUser(req: { email: string; displayName: string; password: string; roles: string[] }) {
    return { user: userToProto(await this.users.create(req)) };
  }

  async disableUser(req: { userId: string }) {
    const { user, revokedSessions } = await this.users.disable(req.userId);
    return { user: userToProto(user), revokedSessions };
  }
}
