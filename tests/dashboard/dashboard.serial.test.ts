/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against
 * the running stack, as served by the gateway at /dashboard/: sign in with a user token,
 * add an http-json connection through the form built from the provider's schema, click
 * "Sync now" and watch the bar reach 100% through Realtime, then pause processing from
 * the admin view and see the badge. Serial: pausing stops every worker of the stack.
 *
 * Screenshots land in .tributary/<profile>/artifacts/ (docs/screenshots has copies).
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ROOT } from "../../local-stack/profile.ts";
import { pagedApi } from "../support/paged-api.ts";
import { apiUrl, createUser, db } from "../support/stack.ts";

const e2e = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
const ARTIFACTS = join(ROOT, ".tributary", new URL(apiUrl).port === "55321" ? "test" : "dev", "artifacts");

async function launch(): Promise<Browser> {
  return await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--disable-background-networking", "--no-sandbox", "--disable-dev-shm-usage"],
  });
}

async function signIn(page: Page, token: string) {
  await page.goto(`${apiUrl}/dashboard/`);
  // The URL and anon key come from the stack's config.json; only the token is typed.
  assert.equal(await page.getByLabel("Supabase URL").inputValue(), apiUrl);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Nothing scrolls sideways; on failure, names the elements that stick out. */
async function assertFitsWidth(page: Page, view: string) {
  const overflow = await page.evaluate(() => {
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest(".table-wrap"))
      .map((e) =>
        `${e.tagName.toLowerCase()}.${e.className}: ${Math.round(e.getBoundingClientRect().right)} px "${
          e.textContent?.slice(0, 40)
        }"`
      );
    return { by: document.documentElement.scrollWidth - window.innerWidth, wide };
  });
  assert.ok(
    overflow.by <= 0,
    `${view}: no sideways scrolling at ${page.viewportSize()?.width} px (overflow ${overflow.by} px): ${
      overflow.wide.join("; ")
    }`,
  );
}

e2e(
  "dashboard: sign in, add a connection, Sync now to 100% over Realtime, pause from the admin view",
  async () => {
    const sql = db();
    const admin = await createUser(sql, { appMetadata: { role: "admin" } });
    const upstream = pagedApi({ pages: 12, perPage: 10, delayMs: 150 });
    const browser = await launch();
    await mkdir(ARTIFACTS, { recursive: true });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const frames: string[] = [];
      page.on("websocket", (ws) => {
        if (ws.url().includes("/realtime/v1/websocket")) {
          ws.on("framereceived", (f) => frames.push(String(f.payload)));
        }
      });
      await signIn(page, admin.token);
      await page.getByRole("heading", { name: "Connections" }).waitFor();

      // The form is built from http-json's schema: its fields have labels.
      await page.getByLabel("Provider").selectOption("http-json");
      await page.getByLabel("Label", { exact: true }).fill("Browser orders");
      await page.getByLabel(/^Url/).fill(upstream.account.url);
      await page.getByLabel(/^Records path/).fill("items");
      await page.getByLabel(/^Id field/).fill("key");
      await page.getByLabel(/^Next path/).fill("meta.next");
      await page.getByLabel(/^Total path/).fill("meta.total");
      await page.getByRole("button", { name: "Add connection" }).click();
      const card = page.locator("article.connection", { hasText: "Browser orders" });
      await card.waitFor();
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-connections.png"), fullPage: true });

      // Record every value the bar takes, as the page sees it.
      await page.evaluate(() => {
        const seen: number[] = [];
        (globalThis as unknown as { seen: number[] }).seen = seen;
        new MutationObserver(() => {
          for (const bar of document.querySelectorAll('[role="progressbar"]')) {
            seen.push(Number(bar.getAttribute("aria-valuenow")));
          }
        }).observe(document.body, {
          subtree: true,
          childList: true,
          attributes: true,
          attributeFilter: ["aria-valuenow"],
        });
      });
      // By keyboard: focus the button and press Enter.
      await page.getByRole("button", { name: "Sync Browser orders now" }).focus();
      await page.keyboard.press("Enter");
      const bar = card.getByRole("progressbar", { name: "Browser orders sync progress" });
      await bar.waitFor();
      await page.waitForFunction(() =>
        Number(document.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow")) > 0
      );
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-sync-running.png"), fullPage: true });
      await card.locator('[data-status="succeeded"]').waitFor({ timeout: 20_000 });
      assert.equal(await bar.getAttribute("aria-valuenow"), "100");
      const seen = await page.evaluate(() => (globalThis as unknown as { seen: number[] }).seen);
      assert.ok(seen.some((p) => p > 0 && p < 100), `the bar moved through the middle: ${seen}`);
      assert.ok(
        frames.some((f) => f.includes('"progress"') && f.includes('"running"')),
        "progress arrived over the Realtime socket",
      );
      assert.equal(await page.getByText("Live updates are unavailable").count(), 0, "not polling");
      // The history shows the run with its rows (auto-refreshed on completion).
      await page.locator("tbody tr", { hasText: "120 records" }).first().waitFor();
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-sync-done.png"), fullPage: true });

      // Admin view: pause with a reason, see the badge; resume.
      await page.getByRole("button", { name: "Admin" }).click();
      await page.getByRole("heading", { name: "Queue health" }).waitFor();
      await page.locator('tr[data-provider="http-json"]').waitFor();
      await page.getByLabel("Reason for pausing").fill("browser test");
      await page.getByRole("button", { name: "Pause" }).click();
      await page.getByRole("status").filter({ hasText: "Paused: browser test" }).waitFor();
      const [{ paused }] = await sql`select paused from sync.settings`;
      assert.equal(paused, true);
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-admin-paused.png"), fullPage: true });
      await page.getByRole("button", { name: "Resume" }).click();
      await page.getByRole("status").filter({ hasText: "Running" }).waitFor();

      // Phone width: nothing overflows sideways.
      await page.setViewportSize({ width: 375, height: 800 });
      await page.getByRole("button", { name: "My syncs" }).click();
      await card.waitFor();
      await page.getByRole("button", { name: "Add connection" }).waitFor();
      await assertFitsWidth(page, "My syncs");
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
      await page.getByRole("button", { name: "Admin" }).click();
      await page.getByRole("heading", { name: "Recent failures" }).waitFor();
      await assertFitsWidth(page, "Admin");
    } finally {
      await sql`select sync.resume()`;
      await browser.close();
      upstream.close();
      await sql.end();
    }
  },
);

e2e(
  "dashboard: a user who is not an admin has no admin view; a refused token goes back to sign-in",
  async () => {
    const sql = db();
    const user = await createUser(sql);
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await signIn(page, user.token);
      await page.getByRole("heading", { name: "Connections" }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Admin" }).count(), 0);

      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("Access token").fill(user.token.slice(0, -3) + "xyz");
      await page.getByRole("button", { name: "Sign in" }).click();
      // The gateway refuses it first (verify_jwt), as hosted Supabase does.
      await page.getByRole("alert").filter({ hasText: "Invalid JWT. Sign in again." }).waitFor();
      assert.equal(await page.getByLabel("Access token").inputValue(), "", "the refused token is forgotten");
    } finally {
      await browser.close();
      await sql.end();
    }
  },
);
