/**
 * Records a security-relevant event (`login.succeeded`, `session.revoked`, ...) with its
 * context. Fields never carry secrets: ids, IPs, user agents, credential kinds, reasons.
 */
export type AuditLog = (event: string, fields: Record<string, string | number>) => void;
