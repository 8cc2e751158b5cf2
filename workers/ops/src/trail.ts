/** The one AuditLog object: the trail is a single chain. */
export function auditTrail(env: Pick<Env, "AUDIT_LOG">) {
  return env.AUDIT_LOG.getByName("trail");
}
