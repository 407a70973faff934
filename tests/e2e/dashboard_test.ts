/**
 * The dashboard in a real browser (Playwright driving Debian's headless Chromium): it shows a
 * connected MQTT client, kicks it (the client gets MQTT 5 DISCONNECT 0x98), publishes a message
 * that a subscriber receives, and leaves screenshots in test-artifacts/ (desktop and phone
 * sizes), and shows the bridges panel (one bridge to a real mosquitto, one to a closed port).
 * Everything is on loopback with free ports; every wait is bounded.
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`); set EDGEMQ_SKIP_BROWSER_TESTS=1 to skip.
 */
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { startBroker } from "../../mod.ts";
import { closeClient, connectClient, subscribe } from "../helpers/mqtt_client.ts";
import { freePort, waitFor } from "../helpers/wait.ts";
import { startMosquitto } from "../bridge/helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url);
const STEP_MS = 10_000;

function chromiumMissing(): boolean {
  try {
    Deno.statSync(CHROMIUM);
    return false;
  } catch {
    return true;
  }
}

const skip = Deno.env.get("EDGEMQ_SKIP_BROWSER_TESTS") === "1";
if (!skip && chromiumMissing()) {
  throw new Error(
    `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set ` +
      "EDGEMQ_SKIP_BROWSER_TESTS=1",
  );
}

async function launch(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    // A fresh profile per launch is Playwright's default (a temporary user-data-dir).
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const path = new URL(name, ARTIFACTS).pathname;
  await page.screenshot({ path, fullPage: true, timeout: STEP_MS });
  return path;
}

Deno.test({
  name: "dashboard: sees a connected client, kicks it (DISCONNECT 0x98), publishes to a subscriber",
  ignore: skip,
  // Playwright's own timers and pipes outlive single steps; the browser is closed in finally.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const running = await startBroker({
      listeners: [{ host: "127.0.0.1", port: 0 }],
      sysInterval: 0,
      http: { port: 0 },
    });
    const clients = [];
    let browser: Browser | undefined;
    try {
      const victim = await connectClient(running.port, {
        clientId: "dash-victim",
        protocolVersion: 5,
        username: "field-unit",
      });
      clients.push(victim);
      const sub = await connectClient(running.port, { clientId: "dash-sub" });
      clients.push(sub);
      await subscribe(sub, "dash/cmd", { qos: 1 });
      await subscribe(sub, "dash/status/#", { qos: 0 });

      browser = await launch();
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_MS);
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));

      // Overview: the connection count arrives by polling.
      await page.goto(`${running.http!.url}/`, { timeout: STEP_MS });
      await page.locator("#s-connected").filter({ hasText: "2" }).waitFor();
      assert.match(await page.title(), /edgemq/);

      // Clients: the test client is listed, connected.
      await page.click('nav button[data-tab="clients"]');
      const row = page.locator('tr[data-client-id="dash-victim"]');
      await row.waitFor();
      assert.match(await row.innerText(), /connected/);
      assert.match(await row.innerText(), /MQTT 5\.0/);
      assert.match(await row.innerText(), /field-unit/);
      // Search narrows the table.
      await page.fill("#client-search", "victim");
      assert.equal(await page.locator("#clients-table tbody tr").count(), 1);

      // Kick: the client gets DISCONNECT 0x98 Administrative action and leaves the table.
      await row.getByRole("button", { name: "Kick" }).click();
      await waitFor(() => victim.closed, STEP_MS, "the kicked client to be disconnected");
      assert.equal(victim.disconnects[0]?.reasonCode, 0x98);
      await row.waitFor({ state: "detached" });
      await page.fill("#client-search", "");

      // Publish: the subscriber receives it.
      await page.click('nav button[data-tab="publish"]');
      await page.fill("#pub-topic", "dash/cmd");
      await page.fill("#pub-payload", "hello from the dashboard");
      await page.selectOption("#pub-qos", "1");
      await page.click("#pub-submit");
      await page.locator("#pub-result").filter({ hasText: "delivered to 1 session" }).waitFor();
      const [m] = await sub.inbox.waitForCount(1, STEP_MS, "dash/cmd");
      assert.equal(m.payload, "hello from the dashboard");
      assert.equal(m.qos, 1);

      // Retained browser: publish retained from the form, see it, delete it.
      await page.fill("#pub-topic", "dash/status/door");
      await page.fill("#pub-payload", '{"open":false}');
      await page.check("#pub-retain");
      await page.click("#pub-submit");
      await page.locator("#pub-result").filter({ hasText: "dash/status/door" }).waitFor();
      await page.click('nav button[data-tab="retained"]');
      const retained = page.locator('#ret-table tr[data-topic="dash/status/door"]');
      await retained.waitFor();
      assert.match(await retained.innerText(), /"open":false/);

      // Topic tree shows it too.
      await page.click('nav button[data-tab="topics"]');
      await page.click('#tree details[data-path="dash/status"] > summary');
      const door = page.locator('#tree details[data-path="dash/status/door"]');
      await door.waitFor();
      assert.match(await door.innerText(), /retained/);
      await screenshot(page, "dashboard-topics.png");

      // Screenshots: overview at desktop size (after a few polls, so the chart has points)...
      await page.click('nav button[data-tab="overview"]');
      // Some traffic, so that the rates and the chart have something to show.
      for (let i = 0; i < 12; i++) {
        for (let j = 0; j < 10 + i * 3; j++) sub.client.publish("dash/status/load", String(j));
        await page.waitForTimeout(400);
      }
      const desktop = await screenshot(page, "dashboard.png");
      // ...and the clients table and publish form at phone size.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      await screenshot(page, "dashboard-phone.png");
      await page.click('nav button[data-tab="clients"]');
      await page.locator('tr[data-client-id="dash-sub"]').waitFor();
      await screenshot(page, "dashboard-phone-clients.png");
      await page.click('nav button[data-tab="retained"]');
      await retained.waitFor();
      await screenshot(page, "dashboard-phone-retained.png");

      await retained.getByRole("button", { name: "Delete" }).click();
      await retained.waitFor({ state: "detached" });
      assert.equal(running.broker.retained.get("dash/status/door"), undefined);

      // No overflow sideways on a phone.
      const overflow: number = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at phone width`);
      assert.deepEqual(pageErrors, []);
      assert.ok(Deno.statSync(desktop).size > 10_000, "the screenshot has content");
    } finally {
      await browser?.close().catch(() => {});
      for (const c of clients) await closeClient(c).catch(() => {});
      await running.close();
    }
  },
});

Deno.test({
  name: "dashboard: with users configured, it asks for credentials and then works",
  ignore: skip,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const running = await startBroker({
      listeners: [{ host: "127.0.0.1", port: 0 }],
      sysInterval: 0,
      http: { port: 0, users: [{ username: "admin", password: "correct horse" }] },
    });
    let browser: Browser | undefined;
    try {
      browser = await launch();
      const page = await browser.newPage();
      page.setDefaultTimeout(STEP_MS);
      await page.goto(`${running.http!.url}/#clients`, { timeout: STEP_MS });
      // The API answered 401 with a Bearer challenge: the page's own sign-in form, no browser prompt.
      await page.locator("#login[open]").waitFor();
      await page.fill("#login-user", "admin");
      await page.fill("#login-pass", "wrong");
      await page.click('#login-form button[type="submit"]');
      await page.locator("#login-err").filter({ hasText: "refused" }).waitFor();
      await page.fill("#login-pass", "correct horse");
      await page.click('#login-form button[type="submit"]');
      await page.locator("#login").waitFor({ state: "hidden" });
      await page.locator("#live.on").waitFor();
      await page.locator("#client-count").filter({ hasText: "0 clients" }).waitFor();
    } finally {
      await browser?.close().catch(() => {});
      await running.close();
    }
  },
});

Deno.test({
  name: "dashboard: the bridges panel shows state, queue, forwarded, dropped and the last error",
  ignore: skip,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const up = await startMosquitto();
    const running = await startBroker({
      listeners: [{ host: "127.0.0.1", port: 0 }],
      sysInterval: 0,
      http: { port: 0 },
      bridges: [
        {
          name: "cloud",
          address: `127.0.0.1:${up.port}`,
          topics: [{ pattern: "up/#", direction: "out", qos: 1 }],
        },
        {
          name: "backup-site",
          address: `127.0.0.1:${freePort()}`, // nothing listens there
          topics: [{ pattern: "up/#", direction: "out", qos: 1 }],
          reconnect: { baseMs: 200, capMs: 1000 },
        },
      ],
    });
    const clients = [];
    let browser: Browser | undefined;
    try {
      const pub = await connectClient(running.port, { clientId: "dash-bridge-pub" });
      clients.push(pub);
      await waitFor(
        () => running.bridgeStatus()[0].connected && running.bridgeStatus()[1].lastError !== null,
        STEP_MS,
        "cloud connected and backup-site failed",
        () => JSON.stringify(running.bridgeStatus()),
      );
      for (let i = 0; i < 5; i++) pub.client.publish("up/temp", String(20 + i), { qos: 1 });
      pub.client.publish("up/temp", "q0", { qos: 0 });
      await waitFor(
        () => running.bridgeStatus()[0].forwarded === 6 && running.bridgeStatus()[1].queued === 5,
        STEP_MS,
        "6 forwarded to cloud, 5 queued for backup-site",
        () => JSON.stringify(running.bridgeStatus()),
      );

      browser = await launch();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.setDefaultTimeout(STEP_MS);
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(`${running.http!.url}/`, { timeout: STEP_MS });
      await page.locator("#bridges-panel").waitFor();
      const cloud = page.locator('#bridges-table tr[data-bridge="cloud"]');
      const backup = page.locator('#bridges-table tr[data-bridge="backup-site"]');
      await cloud.locator("td[data-label=Forwarded]").filter({ hasText: /^6$/ }).waitFor();
      assert.match(await cloud.locator("td[data-label=State]").innerText(), /connected/);
      assert.match(await cloud.innerText(), new RegExp(`127\\.0\\.0\\.1:${up.port}`));
      assert.match(
        await backup.locator("td[data-label=State]").innerText(),
        /connecting|disconnected/,
      );
      assert.match(await backup.locator("td[data-label=Queued]").innerText(), /^5 · \d+ B$/);
      // The QoS 0 message could not wait for the closed port: dropped, with its reason.
      assert.match(
        await backup.locator("td[data-label=Dropped]").innerText(),
        /1\s*qos0 offline 1/,
      );
      const err = await backup.locator("td[data-label='Last error']").innerText();
      assert.match(err, /refused|ECONNREFUSED/i);
      assert.match(err, /ago/);
      assert.match(await page.locator("#bridge-count").innerText(), /1 of 2 connected/);
      await screenshot(page, "dashboard-bridges.png");

      // Phone width: one card per bridge, nothing scrolls sideways.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      await screenshot(page, "dashboard-phone-bridges.png");
      const overflow: number = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at phone width`);

      // The upstream goes away: the panel follows within a poll or two.
      await up.crash();
      await cloud.locator("td[data-label=State]").filter({ hasText: /connecting|disconnected/ })
        .waitFor();
      await page.locator("#bridge-count").filter({ hasText: "0 of 2 connected" }).waitFor();
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser?.close().catch(() => {});
      for (const c of clients) await closeClient(c).catch(() => {});
      await running.close();
      await up.close();
    }
  },
});
