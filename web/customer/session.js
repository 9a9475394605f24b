// The signed-in customer: the API client with their key, their account as
// GET /v1/account last showed it, the workflows they may order, and the photo
// being priced. The key lives in sessionStorage only: this tab, until it
// closes or the customer signs out.
import { ApiError, Client } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";

const kKeyStorage = "tollgate-api-key";

export const session = {
  client: null,
  account: null,
  workflows: [],
  file: null,
  photoUrl: null,
  quote: null,
};

export function storedKey() {
  return sessionStorage.getItem(kKeyStorage) || "";
}

// Checks the key against the gateway (GET /v1/account), then keeps it.
export async function signIn(key) {
  const client = new Client(key);
  const account = await client.get("/v1/account");
  const offered = await client.get("/v1/workflows");
  sessionStorage.setItem(kKeyStorage, key);
  Object.assign(session, { client, account, workflows: offered.workflows });
  showBalance();
}

export function signOut() {
  sessionStorage.removeItem(kKeyStorage);
  if (session.photoUrl) URL.revokeObjectURL(session.photoUrl);
  Object.assign(session, { client: null, account: null, workflows: [], file: null,
    photoUrl: null, quote: null });
}

export async function refreshAccount() {
  session.account = await session.client.get("/v1/account");
  showBalance();
  return session.account;
}

export function showBalance() {
  $("balance").textContent = session.account ? t("balance", { n: session.account.available }) : "";
}

// What to tell the customer about a failed call: the gateway's own message.
export function describe(error) {
  if (error instanceof ApiError) {
    return t("errorFrom", { message: error.message, code: error.code });
  }
  return t("networkError", { why: error.message });
}
