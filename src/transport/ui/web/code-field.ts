import { element } from "./dom.js";

/** Which second factor a code field takes. */
type CodeKind = "totp" | "recovery";

const kinds = {
  totp: {
    label: "Authentication code",
    hint: "The 6-digit code your authenticator app shows.",
    toggle: "Use a recovery code instead",
    inputMode: "numeric",
    autocomplete: "one-time-code",
  },
  recovery: {
    label: "Recovery code",
    hint: "One of the recovery codes you saved, like abcd-efgh-jkmn. Each works once.",
    toggle: "Use your authenticator app instead",
    inputMode: "text",
    autocomplete: "off",
  },
} as const;

/**
 * A second-factor field that takes either a TOTP code or a recovery code, switched by a
 * button beside it. `prefix` names its elements: `<prefix>-code`, `-code-label`,
 * `-code-hint` and `-code-toggle`.
 */
export class CodeField {
  private kind: CodeKind = "totp";
  readonly input: HTMLInputElement;

  constructor(private readonly prefix: string) {
    this.input = element<HTMLInputElement>(`${prefix}-code`);
    element(`${prefix}-code-toggle`).addEventListener("click", () => {
      this.use(this.kind === "totp" ? "recovery" : "totp");
      this.input.focus();
    });
    this.use("totp");
  }

  /** The Login or Reauthenticate fields this code fills: `totpCode` or `recoveryCode`. */
  credential(): { totpCode: string } | { recoveryCode: string } {
    const code = this.input.value.trim();
    return this.kind === "totp" ? { totpCode: code } : { recoveryCode: code };
  }

  private use(kind: CodeKind): void {
    this.kind = kind;
    const shown = kinds[kind];
    element(`${this.prefix}-code-label`).textContent = shown.label;
    element(`${this.prefix}-code-hint`).textContent = shown.hint;
    element(`${this.prefix}-code-toggle`).textContent = shown.toggle;
    this.input.inputMode = shown.inputMode;
    this.input.autocomplete = shown.autocomplete;
    this.input.value = "";
  }
}
