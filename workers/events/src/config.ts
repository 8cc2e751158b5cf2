import { integerVar } from "../../shared/src/config";

export function eventsConfig(env: Env) {
  return {
    retentionDays: integerVar("EVENT_RETENTION_DAYS", env.EVENT_RETENTION_DAYS, 30, 1),
  };
}
