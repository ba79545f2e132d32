/**
 * Fills `${VAR}` placeholders in string values (Barfinex config files say `"apiToken": "${PROVIDER_API_TOKEN}"`).
 * A placeholder naming an unset variable is reported with its JSON path, never left as literal text.
 */
export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  onMissing: (variable: string, path: PropertyKey[]) => void,
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) {
        onMissing(name, path);
        return "";
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, onMissing, [...path, i]));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, onMissing, [...path, k])]),
    );
  }
  return value;
}
