// Debian's chromium driven by playwright-core (no browser download), with a fresh profile; every response
// any page receives is recorded so that tests can check that no secret reaches the browser.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const screenshotDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../screenshots');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser({ viewport = { width: 1280, height: 800 } } = {}) {
    if (!fs.existsSync(executablePath)) {
        throw new Error(`${executablePath} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
    }
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-e2e-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        viewport,
        args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
        ],
    });
    context.setDefaultTimeout(20000);
    const responses = [];
    const pending = [];
    const record = (response) => {
        const entry = { url: response.url(), status: response.status(), headers: response.headers(), body: '' };
        responses.push(entry);
        pending.push(
            response.body().then(
                (b) => {
                    entry.body = b.toString('utf8');
                },
                () => undefined, // redirects and aborted requests have no body
            ),
        );
    };
    context.on('response', record);
    const consoleErrors = [];
    const watch = (page) => {
        page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
        page.on('console', (m) => {
            if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
        });
    };
    context.on('page', watch);
    const page = context.pages()[0] ?? (await context.newPage());
    watch(page);
    fs.mkdirSync(screenshotDir, { recursive: true });
    return {
        context,
        page,
        responses,
        consoleErrors,
        // Every recorded response with its body read.
        async allResponses() {
            await Promise.all(pending);
            return responses;
        },
        async screenshot(name, target = page, options = {}) {
            await target.waitForTimeout(120); // let transitions and focus rings settle
            await target.screenshot({ path: path.join(screenshotDir, `${name}.png`), ...options });
        },
        async close() {
            await context.close();
            fs.rmSync(profile, { recursive: true, force: true });
        },
    };
}

// Asserts that no recorded response (body or headers) contains any of the secrets.
export function findSecrets(responses, secrets) {
    const leaks = [];
    for (const r of responses) {
        const headers = JSON.stringify(r.headers);
        for (const s of secrets) {
            if (!s) continue;
            if (r.body.includes(s) || headers.includes(s)) leaks.push(`${r.url} (${r.status}) contains ${s.slice(0, 6)}…`);
        }
    }
    return leaks;
}
