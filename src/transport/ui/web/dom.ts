/** The element with `id`, which the page must have. */
export function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) {
    throw new Error(`the page has no #${id}`);
  }
  return found as T;
}

/** Shows or hides an element (the `hidden` attribute, so screen readers skip it too). */
export function show(target: HTMLElement, visible: boolean): void {
  target.hidden = !visible;
}

/**
 * Shows `message` in a form's alert and binds it to `field` (aria-invalid and
 * aria-describedby), so a screen reader reads the error with the field; moves focus there.
 * An empty message clears both.
 */
export function showError(alert: HTMLElement, message: string, field?: HTMLInputElement): void {
  alert.textContent = message;
  for (const input of alert.closest("form")?.querySelectorAll("input") ?? []) {
    input.removeAttribute("aria-invalid");
  }
  if (message !== "" && field !== undefined) {
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", alert.id);
    field.focus();
  }
}

/** Announces a confirmation in the page's polite live region. */
export function announce(message: string): void {
  element("status").textContent = message;
}

/**
 * Runs a form's action on submit with its submit button disabled meanwhile, so a double
 * click sends one request.
 */
export function onSubmit(form: HTMLFormElement, action: (data: FormData) => Promise<void>): void {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (button?.disabled === true) {
      return;
    }
    if (button !== null) {
      button.disabled = true;
    }
    action(new FormData(form)).finally(() => {
      if (button !== null) {
        button.disabled = false;
      }
    });
  });
}

/** A form field's text. */
export function field(data: FormData, name: string): string {
  return String(data.get(name) ?? "");
}

/** A new element with text and optional class. */
export function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = "",
  className = "",
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  created.textContent = text;
  if (className !== "") {
    created.className = className;
  }
  return created;
}
