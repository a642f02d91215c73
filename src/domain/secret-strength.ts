/** The fewest characters a configured secret may have. */
const minLength = 24;
/** The least entropy a configured secret must show, estimated from its own characters. */
const minBits = 96;

/**
 * An estimate of a secret's entropy in bits: its length times the Shannon entropy of its
 * characters. It cannot tell a random string from a clever pattern, but it refuses the
 * secrets people actually type when told "at least 24 characters": `aaaa...`, `abab...`,
 * a word repeated.
 */
export function estimatedBits(secret: string): number {
  const counts = new Map<string, number>();
  for (const char of secret) {
    counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  const length = [...secret].length;
  let perChar = 0;
  for (const count of counts.values()) {
    const share = count / length;
    perChar -= share * Math.log2(share);
  }
  return perChar * length;
}

/**
 * Why `secret` is too weak to guard keycard (the admin token, INTROSPECTION_SECRET), or
 * undefined when it is strong enough.
 */
export function weakSecretProblem(name: string, secret: string): string | undefined {
  if ([...secret].length < minLength) {
    return `${name} must be at least ${minLength} characters (try: openssl rand -base64 32)`;
  }
  if (estimatedBits(secret) < minBits) {
    return `${name} is too predictable (about ${Math.floor(estimatedBits(secret))} bits; at least ${minBits} are needed): use a random value (try: openssl rand -base64 32)`;
  }
  return undefined;
}
