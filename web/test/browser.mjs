// What the browser tests share: Debian's Chromium driven by playwright-core
// (never a downloaded browser), and the checks that fail a test.
import { chromium } from "playwright-core";

export function check(ok, what) {
  if (!ok) throw new Error("check failed: " + what);
}

export function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    // The closed network: no background fetches, no first-run or sync traffic.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// A page in a fresh context (its own sessionStorage and localStorage) that
// records script errors and every URL it requested.
export async function openPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.errors = [];
  page.requested = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  page.on("request", (r) => page.requested.push(r.url()));
  return page;
}
