// Sign-in: the first-start set-up link, signing out, a wrong password, and `switchboard user password`.
import assert from 'node:assert/strict';
import { after, before, describe, test as nodeTest } from 'node:test';
import { findSecrets, launchBrowser } from './support/browser.mjs';
import { startSwitchboard } from './support/switchboard.mjs';

const adminEmail = 'admin@switchboard.local';

describe('sign-in', () => {
    // Each step saves a screenshot of the page when it fails, for the CI log's artefacts.
    const test = (name, fn) =>
        nodeTest(name, async () => {
            try {
                await fn();
            } catch (e) {
                await browser?.screenshot(`FAILED-${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`).catch(() => undefined);
                throw e;
            }
        });
    let sb;
    let browser;
    let page;
    const firstPassword = 'first-password-4f7a9c';
    const cliPassword = 'from-the-cli-8d2e61b0';

    before(async () => {
        sb = await startSwitchboard();
        browser = await launchBrowser();
        page = browser.page;
    });

    after(async () => {
        await browser?.close();
        await sb?.stop();
    });

    test('the first-start link lets the admin choose a password and signs them in', async () => {
        assert.ok(sb.setupLink, `first start printed no set-up link:\n${sb.output()}`);
        assert.ok(sb.setupLink.startsWith(`${sb.url}/setup?token=`), sb.setupLink);
        await page.goto(sb.setupLink);
        await page.getByRole('heading', { name: 'Set up Switchboard' }).waitFor();
        await browser.screenshot('setup');

        // Too short and mismatched passwords are refused in the page, with a message.
        await page.getByLabel('Password', { exact: true }).fill('short');
        await page.getByLabel('Repeat the password').fill('short');
        await page.getByRole('button', { name: 'Save and sign in' }).click();
        await page.getByRole('alert').filter({ hasText: 'at least 10 characters' }).waitFor();
        await page.getByLabel('Password', { exact: true }).fill(firstPassword);
        await page.getByLabel('Repeat the password').fill(`${firstPassword}x`);
        await page.getByRole('button', { name: 'Save and sign in' }).click();
        await page.getByRole('alert').filter({ hasText: 'not the same' }).waitFor();

        await page.getByLabel('Repeat the password').fill(firstPassword);
        await page.getByRole('button', { name: 'Save and sign in' }).click();
        await page.getByRole('heading', { name: 'Scenarios', level: 1 }).waitFor();
        assert.equal(new URL(page.url()).pathname, '/scenarios');
        await page.getByRole('heading', { name: 'No scenarios yet' }).waitFor();
        await browser.screenshot('scenarios-empty');

        // The sidebar has every section, and the session cookie is HttpOnly + SameSite=Lax.
        const nav = page.getByRole('navigation', { name: 'Main' });
        for (const name of ['Scenarios', 'Connections', 'Dynamic connections', 'Team', 'Audit log']) {
            await nav.getByRole('link', { name, exact: true }).waitFor();
        }
        const cookie = (await browser.context.cookies()).find((c) => c.name === 'sb_session');
        assert.ok(cookie, 'no sb_session cookie');
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, 'Lax');
    });

    test('the set-up link works only once', async () => {
        const r = await fetch(`${sb.url}/api/v2/auth/setup`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ token: new URL(sb.setupLink).searchParams.get('token'), password: 'another-password-123' }),
        });
        assert.ok(r.status >= 400 && r.status < 500, `reused link answered ${r.status}`);
    });

    test('a reload keeps the session; Sign out ends it', async () => {
        await page.goto(`${sb.url}/connections`);
        await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await page.getByText('You have signed out.').waitFor();
        // The old cookie no longer opens the API.
        const status = await page.evaluate(async () => (await fetch('/api/v2/auth/session')).status);
        assert.equal(status, 401);
    });

    test('a wrong password is refused with a message', async () => {
        await page.goto(`${sb.url}/`);
        await page.getByLabel('Email').fill(adminEmail);
        await page.getByLabel('Password').fill('not-the-password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('alert').filter({ hasText: 'The email or password is not correct.' }).waitFor();
        await browser.screenshot('sign-in-error');
    });

    test('switchboard user password sets a password the page accepts', async () => {
        await sb.setPassword(adminEmail, cliPassword);
        await page.goto(`${sb.url}/`);
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await browser.screenshot('sign-in');
        await page.getByLabel('Email').fill(adminEmail);
        await page.getByLabel('Password').fill(firstPassword);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('alert').filter({ hasText: 'not correct' }).waitFor();
        await page.getByLabel('Password').fill(cliPassword);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Scenarios', level: 1 }).waitFor();
        // Keyboard: on a fresh page, Tab reaches the skip link first, and it leads to the content.
        await page.reload();
        await page.getByRole('heading', { name: 'Scenarios', level: 1 }).waitFor();
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
        await browser.screenshot('skip-link');
        await page.keyboard.press('Enter');
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Create a new scenario');
    });

    test('no password or token reached the browser', async () => {
        const leaks = findSecrets(await browser.allResponses(), [firstPassword, cliPassword, sb.apiToken]);
        assert.deepEqual(leaks, []);
        assert.deepEqual(browser.consoleErrors.filter((e) => !/status of 401/.test(e)), []);
    });
});
