/**
 * The support console: plain TypeScript on the DOM (no framework: a few views, and the bundle
 * stays a few KB), talking only to the API of its own origin. It signs in as `config.json` beside
 * the page says: locally with a token for a chosen subject from the local key (npm start), or
 * deployed with the stage's OpenID Connect issuer (authorization code with PKCE, console/oidc.ts).
 * The token is kept in this module's memory, never in a URL or in storage another script could
 * read; reloading the page signs in again.
 */
import {
  beginSignIn,
  type ConsoleConfig,
  completeSignIn,
  isCallback,
  type OidcSettings,
  parseConsoleConfig,
  withoutCallback,
} from "./oidc.js";

type Json = Record<string, unknown>;

interface Session {
  token: string;
  sub: string;
  scopes: Set<string>;
}

let session: Session | undefined;
let config: ConsoleConfig = { mode: "local" };

const main = () => byId("main");

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`no #${id}`);
  return el;
}

/** Builds an element: `h("button", { type: "button" }, "Refund")`. */
function h(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: (Node | string | undefined)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== undefined) el.append(c);
  return el;
}

function banner(message: string | undefined): void {
  const b = byId("banner");
  b.hidden = message === undefined;
  b.textContent = message ?? "";
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function api(method: string, path: string, body?: unknown, key?: string): Promise<Json> {
  if (session === undefined) throw new ApiError(401, "unauthorized", "Sign in first.");
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${session.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(key === undefined ? {} : { "idempotency-key": key }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed: unknown = await res.json().catch(() => ({}));
  const json: Json = typeof parsed === "object" && parsed !== null ? (parsed as Json) : {};
  if (res.status === 401) {
    // The token expired (or was refused): forget it and ask for a sign-in again.
    signOut("Your session has ended: sign in again.");
    throw new ApiError(401, "unauthorized", "Your session has ended: sign in again.");
  }
  if (!res.ok) {
    throw new ApiError(
      res.status,
      String(json.code ?? "error"),
      `${res.status} ${String(json.code ?? "")}: ${String(json.detail ?? res.statusText)}`,
    );
  }
  return json;
}

const may = (scope: string) => session?.scopes.has(scope) === true;

// ---- money: minor units in, the currency's own format out (JPY has none, EUR two)

function fractionDigits(currency: string): number {
  return (
    new Intl.NumberFormat("en", {
      style: "currency",
      currency: currency.toUpperCase(),
    }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

export function formatMoney(minor: number, currency: string): string {
  const digits = fractionDigits(currency);
  return new Intl.NumberFormat("en", {
    style: "currency",
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minor / 10 ** digits);
}

/** "10.00" in the currency's major unit to minor units, without floating point; undefined if not valid. */
export function toMinor(major: string, currency: string): number | undefined {
  const digits = fractionDigits(currency);
  const m = /^(\d{1,9})(?:\.(\d+))?$/.exec(major.trim());
  if (m === null) return undefined;
  const fraction = m[2] ?? "";
  if (fraction.length > digits) return undefined;
  return Number(m[1]) * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
}

// ---- views

/** The sign-in view of the configured mode. */
function signInView(): void {
  if (config.mode === "oidc") oidcSignInView(config);
  else localSignInView();
}

function signOut(message?: string): void {
  session = undefined;
  signInView();
  banner(message);
}

/** Where the issuer sends the browser back: the console's own page. */
const redirectUri = () => new URL("/console/", location.href).toString();

function oidcSignInView(settings: OidcSettings): void {
  byId("nav").replaceChildren();
  const button = h("button", { type: "button", class: "primary" }, "Sign in");
  button.addEventListener("click", () => {
    void guarded(async () => {
      location.assign(await beginSignIn(settings, redirectUri(), sessionStorage));
    });
  });
  main().replaceChildren(
    h("h2", {}, "Sign in"),
    h("p", { class: "muted" }, `Sign in with ${new URL(settings.authorizationEndpoint).host}.`),
    button,
  );
}

/** Back from the issuer: the code leaves the address bar first, then is exchanged once. */
async function finishOidcSignIn(settings: OidcSettings): Promise<void> {
  const address = location.href;
  history.replaceState(null, "", withoutCallback(address));
  try {
    const signedIn = await completeSignIn(
      settings,
      redirectUri(),
      address,
      sessionStorage,
      (u, i) => fetch(u, i),
    );
    session = { token: signedIn.accessToken, sub: signedIn.sub, scopes: new Set(signedIn.scopes) };
  } catch (error) {
    signOut(error instanceof Error ? error.message : String(error));
    return;
  }
  navigation();
  await paymentsView();
}

function localSignInView(): void {
  byId("nav").replaceChildren();
  const subject = h("input", { name: "subject", required: "", autocomplete: "username" });
  const scopes = h("input", { name: "scopes", value: "payments:admin payments:refund" });
  const form = h(
    "form",
    { "aria-label": "Sign in" },
    h("label", {}, "Subject", subject),
    h("label", {}, "Scopes", scopes),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void signIn((subject as HTMLInputElement).value, (scopes as HTMLInputElement).value);
  });
  main().replaceChildren(
    h("h2", {}, "Sign in"),
    h(
      "p",
      { class: "muted" },
      "Local sign-in: a token for this subject and scopes, from the local key.",
    ),
    form,
  );
}

async function signIn(sub: string, scopes: string): Promise<void> {
  const res = await fetch("/console/local-token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub, scopes }),
  });
  const json = (await res.json()) as Json;
  if (!res.ok) {
    banner(String(json.detail ?? "Sign-in refused."));
    return;
  }
  session = { token: String(json.token), sub, scopes: new Set(scopes.split(/\s+/)) };
  banner(undefined);
  navigation();
  await paymentsView();
}

function navigation(): void {
  const payments = h("button", { type: "button" }, "Payments");
  payments.addEventListener("click", () => void paymentsView());
  const letters = h("button", { type: "button" }, "Dead letters");
  letters.addEventListener("click", () => void deadLettersView());
  const out = h("button", { type: "button" }, "Sign out");
  out.addEventListener("click", () => signOut());
  byId("nav").replaceChildren(
    payments,
    letters,
    h("span", { class: "muted" }, `signed in as ${session?.sub ?? ""}`),
    out,
  );
}

async function guarded(work: () => Promise<void>): Promise<void> {
  try {
    banner(undefined);
    await work();
  } catch (error) {
    banner(error instanceof Error ? error.message : String(error));
  }
}

function paymentRows(items: Json[]): HTMLElement {
  const body = h("tbody");
  for (const p of items) {
    const open = h("button", { type: "button" }, String(p.id));
    open.addEventListener("click", () => void guarded(() => paymentView(String(p.id))));
    body.append(
      h(
        "tr",
        {},
        h("td", {}, open),
        h("td", {}, String(p.orderId)),
        h("td", {}, String(p.customerId)),
        h("td", { class: "status" }, String(p.status)),
        h("td", {}, formatMoney(Number(p.amount), String(p.currency))),
        h("td", {}, String(p.updatedAt)),
      ),
    );
  }
  return h(
    "table",
    { "aria-label": "Payments" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["Payment", "Order", "Customer", "Status", "Amount", "Updated"].map((t) =>
          h("th", {}, t),
        ),
      ),
    ),
    body,
  );
}

const STATUSES = [
  "initiated",
  "requires_action",
  "processing",
  "authorized",
  "captured",
  "failed",
  "canceled",
  "partially_refunded",
  "refunded",
];

async function paymentsView(): Promise<void> {
  const query = h("input", {
    type: "search",
    name: "q",
    placeholder: "pay_…, pi_…, order or customer id",
  });
  const search = h(
    "form",
    { role: "search" },
    h("label", {}, "Search payments", query),
    h("button", { type: "submit", class: "primary" }, "Search"),
  );
  search.addEventListener("submit", (e) => {
    e.preventDefault();
    void guarded(() => find((query as HTMLInputElement).value.trim()));
  });
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "any"),
    ...STATUSES.map((s) => h("option", { value: s }, s)),
  );
  const hours = h("input", { type: "number", name: "hours", value: "24", min: "1" });
  const filters = h(
    "form",
    { "aria-label": "Recent payments" },
    h("label", {}, "Status", status),
    h("label", {}, "Within the last hours", hours),
    h("button", { type: "submit" }, "Show recent"),
  );
  const results = h("section", { "aria-label": "Results" });
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    void guarded(async () => {
      const from = new Date(
        Date.now() - Number((hours as HTMLInputElement).value) * 3_600_000,
      ).toISOString();
      const s = (status as HTMLSelectElement).value;
      const page = await api(
        "GET",
        `/api/payments?from=${encodeURIComponent(from)}${s === "" ? "" : `&status=${s}`}&limit=50`,
      );
      results.replaceChildren(paymentRows(page.items as Json[]));
    });
  });
  main().replaceChildren(
    h("h2", {}, "Payments"),
    search,
    may("payments:admin") ? filters : "",
    results,
  );
}

async function find(q: string): Promise<void> {
  if (q === "") return;
  if (/^pay_[0-9a-z]{26}$/.test(q)) return await paymentView(q);
  const lookups = q.startsWith("pi_") ? ["stripePaymentIntentId"] : ["orderId", "customerId"];
  for (const name of lookups) {
    if (name === "orderId" && !/^[A-Za-z0-9_.:-]{1,64}$/.test(q)) continue;
    const page = await api("GET", `/api/payments?${name}=${encodeURIComponent(q)}`);
    const items = page.items as Json[];
    if (items.length === 1 && name !== "customerId") return await paymentView(String(items[0]?.id));
    if (items.length > 0) {
      main().replaceChildren(h("h2", {}, `Payments of ${q}`), paymentRows(items));
      return;
    }
  }
  banner(`Nothing found for ${q}.`);
}

async function paymentView(id: string): Promise<void> {
  const p = await api("GET", `/api/payments/${encodeURIComponent(id)}`);
  const currency = String(p.currency);
  const money = (n: unknown) => formatMoney(Number(n ?? 0), currency);
  const captured = Number(p.amountCaptured ?? 0);
  const refunded = Number(p.amountRefunded ?? 0);
  const amounts = h(
    "dl",
    { class: "amounts", "aria-label": "Amounts" },
    h("dt", {}, "Status"),
    h("dd", { class: "status", "data-field": "status" }, String(p.status)),
    h("dt", {}, "Authorized"),
    h("dd", {}, money(p.amount)),
    h("dt", {}, "Captured"),
    h("dd", { "data-field": "captured" }, money(captured)),
    h("dt", {}, "Refunded"),
    h("dd", { "data-field": "refunded" }, money(refunded)),
    h("dt", {}, "Remaining"),
    h("dd", { "data-field": "remaining" }, money(captured - refunded)),
    h("dt", {}, "Order / customer"),
    h("dd", {}, `${String(p.orderId)} / ${String(p.customerId)}`),
  );
  const dispute = p.dispute as Json | undefined;
  if (dispute !== undefined) {
    amounts.append(
      h("dt", {}, "Dispute"),
      h(
        "dd",
        { "data-field": "dispute" },
        `${String(dispute.status)} · ${String(dispute.reason)} · ${money(dispute.amount)}`,
      ),
    );
  }
  // The service says whether the dispute stops refunds (its rule, not the console's).
  const disputeBlocks = dispute !== undefined && dispute.blocksRefunds !== false;
  const actions = h("div", { role: "group", "aria-label": "Actions" });
  const reload = h("button", { type: "button" }, "Reload");
  reload.addEventListener("click", () => void guarded(() => paymentView(id)));
  actions.append(reload);
  if (may("payments:refund")) {
    const recheck = h("button", { type: "button" }, "Re-check with Stripe");
    recheck.addEventListener(
      "click",
      () =>
        void guarded(async () => {
          await api("POST", `/api/payments/${id}/reconcile`);
          await paymentView(id);
        }),
    );
    actions.append(recheck);
    if ((p.status === "captured" || p.status === "partially_refunded") && !disputeBlocks) {
      const refund = h("button", { type: "button", class: "primary" }, "Refund");
      refund.addEventListener("click", () => refundDialog(id, currency, captured - refunded));
      actions.append(refund);
    }
    if (p.status === "authorized") {
      for (const [label, path] of [
        ["Capture", "capture"],
        ["Cancel", "cancel"],
      ] as const) {
        const b = h("button", { type: "button" }, label);
        const key = crypto.randomUUID();
        b.addEventListener(
          "click",
          () =>
            void guarded(async () => {
              await api("POST", `/api/payments/${id}/${path}`, {}, key);
              await paymentView(id);
            }),
        );
        actions.append(b);
      }
    }
  }
  const timeline = h("ol", { "aria-label": "Timeline" });
  for (const e of (p.history as Json[] | undefined) ?? []) {
    timeline.append(
      h(
        "li",
        {},
        `${String(e.at)} · ${String(e.status)}${e.dispute === undefined ? "" : ` · dispute ${String(e.dispute)}`} · by ${String(e.actor ?? e.source)}`,
      ),
    );
  }
  const sections: HTMLElement[] = [h("h3", {}, "Timeline"), timeline];
  if (Array.isArray(p.refunds)) {
    const rows = (p.refunds as Json[]).map((r) =>
      h(
        "tr",
        {},
        h("td", {}, String(r.id)),
        h("td", {}, money(r.amount)),
        h("td", {}, String(r.status)),
        h("td", {}, String(r.reason ?? "")),
      ),
    );
    sections.push(
      h("h3", {}, "Refunds"),
      h("table", { "aria-label": "Refunds" }, h("tbody", {}, ...rows)),
    );
  }
  if (Array.isArray(p.events)) {
    const list = h("ul", { "aria-label": "Events" });
    for (const e of p.events as Json[]) {
      list.append(
        h(
          "li",
          {},
          `${String(e.type)} · ${e.delivery === "parked" ? "parked, the sweeper retries" : e.delivery === "published" ? "published" : "handed to the stream"}`,
        ),
      );
    }
    sections.push(h("h3", {}, "Events"), list);
  }
  if (may("payments:admin")) {
    const audit = await api("GET", `/api/payments/${id}/audit?limit=50`);
    const list = h("ol", { "aria-label": "Audit entries" });
    for (const a of audit.items as Json[]) {
      list.append(
        h(
          "li",
          {},
          `${String(a.at)} · ${String(a.action)} by ${String(a.actor)} · ${String(a.outcome)}${a.reason === undefined ? "" : ` · ${String(a.reason)}`}`,
        ),
      );
    }
    sections.push(
      h(
        "section",
        { "aria-labelledby": "audit-heading" },
        h("h3", { id: "audit-heading" }, "Audit"),
        list,
      ),
    );
  }
  const dashboard =
    typeof p.stripeDashboardUrl === "string"
      ? h(
          "a",
          { href: p.stripeDashboardUrl, target: "_blank", rel: "noopener noreferrer" },
          "Open in the Stripe Dashboard",
        )
      : undefined;
  main().replaceChildren(
    h("h2", {}, `Payment ${id}`),
    amounts,
    dashboard ?? "",
    actions,
    ...sections,
  );
}

/**
 * One idempotency key per attempt: made when the dialog opens and reused by every click and
 * retry of that attempt, so a double click or a retry after a lost answer refunds once.
 */
function refundDialog(id: string, currency: string, remaining: number): void {
  const key = crypto.randomUUID();
  const amount = h("input", { name: "amount", inputmode: "decimal", required: "" });
  const reason = h(
    "select",
    { name: "reason" },
    ...["requested_by_customer", "duplicate", "fraudulent"].map((r) =>
      h("option", { value: r }, r),
    ),
  );
  const confirm = h("button", { type: "submit", class: "primary" }, "Confirm refund");
  const cancel = h("button", { type: "button" }, "Close");
  const error = h("p", { role: "alert" });
  const form = h(
    "form",
    { method: "dialog" },
    h(
      "label",
      {},
      `Amount (${currency.toUpperCase()}, at most ${formatMoney(remaining, currency)})`,
      amount,
    ),
    h("label", {}, "Reason", reason),
    confirm,
    cancel,
    error,
  );
  // The accessible names the tests and screen readers use: "Amount" and "Reason".
  amount.setAttribute("aria-label", "Amount");
  reason.setAttribute("aria-label", "Reason");
  const dialog = h(
    "dialog",
    { "aria-label": "Refund" },
    h("h3", {}, "Refund"),
    form,
  ) as HTMLDialogElement;
  let busy = false;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (busy) return;
    const minor = toMinor((amount as HTMLInputElement).value, currency);
    if (minor === undefined || minor < 1) {
      error.textContent = "Give an amount such as 10.00.";
      return;
    }
    busy = true;
    void (async () => {
      try {
        await api(
          "POST",
          `/api/payments/${id}/refund`,
          { amount: minor, reason: (reason as HTMLSelectElement).value },
          key,
        );
        dialog.close();
        dialog.remove();
        await guarded(() => paymentView(id));
      } catch (err) {
        error.textContent = err instanceof Error ? err.message : String(err);
      } finally {
        busy = false;
      }
    })();
  });
  cancel.addEventListener("click", () => {
    dialog.close();
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
}

async function deadLettersView(): Promise<void> {
  await guarded(async () => {
    const page = await api("GET", "/api/dead-letters?status=open&limit=50");
    const rows = (page.items as Json[]).map((l) => {
      const cells = h("td", {});
      if (may("payments:refund")) {
        const redrive = h("button", { type: "button" }, "Redrive");
        redrive.addEventListener(
          "click",
          () =>
            void guarded(async () => {
              const result = await api("POST", `/api/dead-letters/${String(l.id)}/redrive`);
              banner(undefined);
              await deadLettersView();
              main().prepend(
                h("p", { role: "status" }, `Redrive of ${String(l.id)}: ${String(result.outcome)}`),
              );
            }),
        );
        const why = h("input", { name: "discard-reason", "aria-label": "Discard reason" });
        const discard = h("button", { type: "button" }, "Discard");
        discard.addEventListener(
          "click",
          () =>
            void guarded(async () => {
              await api("POST", `/api/dead-letters/${String(l.id)}/discard`, {
                reason: (why as HTMLInputElement).value,
              });
              await deadLettersView();
            }),
        );
        cells.append(redrive, why, discard);
      }
      return h(
        "tr",
        { "data-letter": String(l.id) },
        h("td", {}, h("code", {}, String(l.value).slice(0, 120))),
        h("td", {}, String(l.reason)),
        h("td", {}, String(l.attempts)),
        cells,
      );
    });
    main().replaceChildren(
      h("h2", {}, "Dead letters"),
      h(
        "table",
        { "aria-label": "Dead letters" },
        h(
          "thead",
          {},
          h("tr", {}, ...["Record", "Reason", "Attempts", ""].map((t) => h("th", {}, t))),
        ),
        h("tbody", {}, ...rows),
      ),
    );
  });
}

async function start(): Promise<void> {
  try {
    const res = await fetch("/console/config.json", { cache: "no-store" });
    config = parseConsoleConfig(await res.json());
  } catch (error) {
    banner(
      `The console's configuration cannot be read: ${error instanceof Error ? error.message : String(error)}`,
    );
    return;
  }
  if (config.mode === "oidc" && isCallback(location.href)) await finishOidcSignIn(config);
  else signInView();
}

void start();
