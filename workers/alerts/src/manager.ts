/** The one AlertManager object: a system's alerts are few, and one evaluator sees them all. */
export const alertManager = (env: Env) => env.ALERT_MANAGER.getByName("alerts");
