/** One rule on a field of an account: the test, and what a valid value is, for messages. */
export interface FieldRule {
  readonly test: (value: string) => boolean;
  /** Completes "<field> must be ...". */
  readonly expected: string;
}

const rolePattern = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The rules an account's fields follow, wherever they come from (the API, the bootstrap
 * file), so that both accept and refuse exactly the same values.
 */
export const userRules = {
  email: {
    test: (email: string) => email.length <= 254 && /^[^@\s]+@[^@\s]+$/.test(email),
    expected: "an address like name@example.com",
  },
  displayName: {
    test: (name: string) => name.length > 0 && name.length <= 200,
    expected: "1 to 200 characters",
  },
  password: {
    test: (password: string) => {
      const bytes = Buffer.byteLength(password);
      return bytes >= 8 && bytes <= 1024;
    },
    expected: "8 to 1024 bytes",
  },
  role: {
    test: (role: string) => rolePattern.test(role),
    expected: "1 to 64 letters, digits, '.', '_', ':' or '-'",
  },
} as const satisfies Record<string, FieldRule>;

/** How many roles one account may hold. */
export const maxRoles = 100;
