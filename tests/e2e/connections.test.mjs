// The Connections page and the scenario builder's "Create a connection" flow, in a real browser against a
// real server, a loopback API that requires an API key, and oidc-provider as the OAuth provider.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, before, describe, test as nodeTest } from 'node:test';
import { findSecrets, launchBrowser } from './support/browser.mjs';
import { completeConsent, startOidcProvider } from './support/oidc.mjs';
import { freePort } from './support/processes.mjs';
import { startSwitchboard } from './support/switchboard.mjs';
import { startUpstream } from './support/upstream.mjs';

const adminEmail = 'admin@switchboard.local';
const password = `e2e-${crypto.randomBytes(6).toString('hex')}`;
const key1 = `key-one-${crypto.randomBytes(12).toString('hex')}`;
const key2 = `key-two-${crypto.randomBytes(12).toString('hex')}`;
const wrongKey = `key-wrong-${crypto.randomBytes(12).toString('hex')}`;
const clientSecret = `client-secret-${crypto.randomBytes(12).toString('hex')}`;
const slackSecret = `slack-secret-${crypto.randomBytes(12).toString('hex')}`;
const scenarioName = 'Upstream items';

describe('connections in the browser', () => {
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
    let upstream;
    let idp;
    let browser;
    let page;
    let scenarioId;

    const connectionByName = async (name) => {
        const r = await sb.api('GET', `/api/v2/connections?teamId=${teamId}`);
        return r.body.connections.find((c) => c.name === name);
    };
    let teamId;
    const card = (name) => page.getByRole('listitem').filter({ has: page.getByRole('heading', { name, exact: true }) });
    const dialog = (name) => page.getByRole('dialog', { name });
    const openConnections = async () => {
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections', exact: true }).click();
        await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    };
    const openScenario = async () => {
        await page.goto(`${sb.url}/scenarios/${scenarioId}`);
        await page.getByRole('region', { name: 'Modules' }).waitFor();
    };
    const runOnce = async () => {
        await page.getByRole('button', { name: 'Run once' }).click();
        const summary = page.getByRole('region', { name: 'Result of Run once' });
        await summary.waitFor();
        return summary;
    };

    before(async () => {
        const port = await freePort();
        upstream = await startUpstream();
        upstream.state.validKeys.add(key1);
        idp = await startOidcProvider({
            clients: [
                {
                    client_id: 'switchboard-e2e',
                    client_secret: clientSecret,
                    redirect_uris: [`http://127.0.0.1:${port}/oauth/cb/http`],
                    token_endpoint_auth_method: 'client_secret_post',
                    grant_types: ['authorization_code', 'refresh_token'],
                },
            ],
        });
        sb = await startSwitchboard({ port });
        teamId = (await sb.api('GET', '/api/v2/teams')).body.teams[0].id;
        await sb.setPassword(adminEmail, password);
        browser = await launchBrowser();
        page = browser.page;
    });

    after(async () => {
        await browser?.close();
        await sb?.stop();
        await idp?.stop();
        await upstream?.stop();
    });

    test('sign in', async () => {
        await page.goto(`${sb.url}/connections`);
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await page.getByLabel('Email').fill(adminEmail);
        await page.getByLabel('Password').fill(password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        // Signing in on a page path stays there.
        await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
        await page.getByRole('heading', { name: 'No connections yet' }).waitFor();
        await browser.screenshot('connections-empty');
    });

    test('an API-key connection created from a module in the scenario builder, and the module finished', async () => {
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Scenarios' }).click();
        await page.getByRole('button', { name: 'Create a new scenario' }).click();
        await page.getByRole('button', { name: 'Add a module' }).waitFor();
        await browser.screenshot('builder-empty');

        await page.getByRole('button', { name: 'Add a module' }).click();
        const add = dialog('Add a module');
        await add.getByLabel('Search apps').fill('http');
        await browser.screenshot('builder-add-module-search');
        await add.getByRole('button', { name: /^HTTP/ }).click();
        const modules = dialog('HTTP');
        await modules.getByRole('button', { name: /Make an API Key Auth request/ }).waitFor();
        await browser.screenshot('builder-add-module-http');
        await modules.getByRole('button', { name: /Make an API Key Auth request/ }).click();

        const moduleDialog = dialog('1. HTTP – Make an API Key Auth request');
        await moduleDialog.waitFor();
        await browser.screenshot('builder-module-form');
        // OK without a connection: the field says what is missing.
        await moduleDialog.getByRole('button', { name: 'OK' }).click();
        await moduleDialog.getByText('Choose a connection, or create one.').waitFor();

        await moduleDialog.getByRole('button', { name: 'Create a connection' }).click();
        const create = dialog('Create a connection');
        await create.getByLabel('Connection name').fill('Upstream key');
        await create.getByLabel('API key', { exact: true }).fill(key1);
        assert.equal(await create.getByLabel('Header or parameter name').inputValue(), 'X-API-Key');
        await create.getByLabel('Show advanced settings').check();
        await create.getByLabel('Verify URL').fill(`${upstream.url}/me`);
        await browser.screenshot('create-connection-apikey');
        await create.getByRole('button', { name: 'Save' }).click();
        await create.waitFor({ state: 'detached' });

        // The new connection is selected in the module.
        const select = moduleDialog.getByLabel('Connection', { exact: true });
        const chosen = await select.evaluate((el) => el.options[el.selectedIndex].textContent);
        assert.match(chosen, /^Upstream key/);
        await moduleDialog.getByLabel('URL', { exact: true }).fill(`${upstream.url}/items`);
        await browser.screenshot('builder-module-form-filled');
        await moduleDialog.getByRole('button', { name: 'OK' }).click();
        await moduleDialog.waitFor({ state: 'detached' });

        await page.getByLabel('Scenario name').fill(scenarioName);
        await page.getByRole('button', { name: 'Save' }).click();
        await page.waitForURL(/\/scenarios\/\d+$/);
        scenarioId = Number(new URL(page.url()).pathname.split('/').pop());
        await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

        const conn = await connectionByName('Upstream key');
        assert.equal(conn.status, 'verified');
        assert.deepEqual(upstream.keysSeen('/me'), [key1], 'the verify request carried the key');
        const bp = (await sb.api('GET', `/api/v2/scenarios/${scenarioId}/blueprint`)).body.response.blueprint;
        assert.equal(bp.name, scenarioName);
        assert.equal(bp.flow.length, 1);
        assert.equal(bp.flow[0].module, 'http:makeApiKeyAuthRequest');
        assert.equal(bp.flow[0].parameters.__IMTCONN__, conn.id);
        assert.equal(bp.flow[0].mapper.url, `${upstream.url}/items`);
    });

    test('Run once shows each module output; mapping inserts an earlier output', async () => {
        let summary = await runOnce();
        await summary.getByText('Success').waitFor();
        assert.deepEqual(upstream.keysSeen('/items'), [key1]);
        await page.getByRole('button', { name: /Module 1: 1 operation\. Show the output/ }).click();
        const out = dialog('1. HTTP – Make an API Key Auth request');
        await out.getByText('Bundle 1').waitFor();
        await out.getByText('Linus').waitFor();
        await browser.screenshot('builder-module-output');
        await out.getByRole('button', { name: 'Close dialog' }).click();

        // A second module maps the first one's items with the {{…}} picker.
        await page.getByRole('button', { name: 'Add a module' }).click();
        await dialog('Add a module').getByLabel('Search apps').fill('tools');
        await dialog('Add a module').getByRole('button', { name: /^Tools/ }).click();
        await dialog('Tools').getByRole('button', { name: /Set variable/ }).click();
        const set = dialog('2. Tools – Set variable');
        await set.getByLabel('Variable name').fill('names');
        await set.getByRole('button', { name: /Map a value into module-2-value/ }).click();
        const picker = set.getByRole('group', { name: 'Outputs of earlier modules' });
        await picker.getByRole('button', { name: /\{\{1\.data\.items\}\}/ }).waitFor();
        await browser.screenshot('builder-mapping-picker');
        await picker.getByRole('button', { name: /\{\{1\.data\.items\}\}/ }).click();
        assert.equal(await set.getByLabel('Variable value').inputValue(), '{{1.data.items}}');
        await set.getByRole('button', { name: 'OK' }).click();
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

        summary = await runOnce();
        await summary.getByText('2 operations').waitFor();
        await page.getByRole('button', { name: /Module 2: 1 operation\. Show the output/ }).click();
        const out2 = dialog('2. Tools – Set variable');
        await out2.getByText('names').first().waitFor();
        await out2.getByText('Ada').first().waitFor();
        await out2.getByRole('button', { name: 'Close dialog' }).click();
        await browser.screenshot('builder-after-run');
    });

    test('an OAuth connection through the consent window, selected in the module', async () => {
        await page.getByRole('button', { name: 'Add a module' }).click();
        await dialog('Add a module').getByLabel('Search apps').fill('http');
        await dialog('Add a module').getByRole('button', { name: /^HTTP/ }).click();
        await dialog('HTTP').getByRole('button', { name: /Make an OAuth 2\.0 request/ }).click();
        const moduleDialog = dialog('3. HTTP – Make an OAuth 2.0 request');
        await moduleDialog.getByRole('button', { name: 'Create a connection' }).click();
        const create = dialog('Create a connection');
        await create.getByLabel('Connection name').fill('Provider');
        await create.getByLabel('Authorize URI').fill(idp.discovery.authorization_endpoint);
        await create.getByLabel('Token URI').fill(idp.discovery.token_endpoint);
        for (const [i, scope] of ['openid', 'email'].entries()) {
            await create.getByRole('button', { name: 'Add item to Scope' }).click();
            await create.getByLabel(`Scope ${i + 1}`, { exact: true }).fill(scope);
        }
        await create.getByLabel('Client ID').fill('switchboard-e2e');
        await create.getByLabel('Client secret').fill(clientSecret);
        await browser.screenshot('create-connection-oauth');
        const popupPromise = page.waitForEvent('popup');
        await create.getByRole('button', { name: 'Save' }).click();
        const popup = await popupPromise;
        await create.getByText('A new window is open').waitFor();
        await browser.screenshot('create-connection-oauth-waiting');
        await popup.waitForLoadState();
        await browser.screenshot('oauth-provider-login', popup);
        await completeConsent(popup);
        await create.waitFor({ state: 'detached' });

        const select = moduleDialog.getByLabel('Connection', { exact: true });
        assert.match(await select.evaluate((el) => el.options[el.selectedIndex].textContent), /^Provider/);
        await moduleDialog.getByLabel('URL', { exact: true }).fill(idp.discovery.userinfo_endpoint);
        await moduleDialog.getByRole('button', { name: 'OK' }).click();
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

        const conn = await connectionByName('Provider');
        assert.equal(conn.status, 'verified');
        assert.ok(conn.scopes.includes('email'), JSON.stringify(conn.scopes));

        // The module calls the provider's userinfo with the connection's token.
        const summary = await runOnce();
        await summary.getByText('3 operations').waitFor();
        await page.getByRole('button', { name: /Module 3: 1 operation\. Show the output/ }).click();
        await dialog('3. HTTP – Make an OAuth 2.0 request').getByText('alice@example.test').first().waitFor();
        await dialog('3. HTTP – Make an OAuth 2.0 request').getByRole('button', { name: 'Close dialog' }).click();
    });

    test('Verify shows "Verifying", then the green check', async () => {
        await openConnections();
        await card('Upstream key').waitFor();
        await card('Provider').waitFor();
        await card('Upstream key').getByText('Used in 1 scenario').waitFor();
        await browser.screenshot('connections');
        upstream.state.delayMs = 1500;
        await card('Upstream key').getByRole('button', { name: 'Verify' }).click();
        await card('Upstream key').getByRole('button', { name: 'Verifying' }).waitFor();
        await browser.screenshot('connections-verifying');
        await card('Upstream key').getByRole('img', { name: 'Verified' }).waitFor();
        assert.equal(await card('Upstream key').getByRole('button', { name: 'Verify' }).isEnabled(), true);
        await browser.screenshot('connections-verified');
        upstream.state.delayMs = 0;
    });

    test('a failing Verify shows the red mark and the reason', async () => {
        upstream.state.validKeys.delete(key1); // the provider revoked the key
        await card('Upstream key').getByRole('button', { name: 'Verify' }).click();
        await card('Upstream key').getByRole('img', { name: 'Verification failed' }).waitFor();
        await card('Upstream key').getByText('The verify URL answered 401: the API key was not accepted').first().waitFor();
        await card('Upstream key').locator('.badge', { hasText: 'Verification failed' }).waitFor(); // the status
        await browser.screenshot('connections-verify-failed');
        assert.equal((await connectionByName('Upstream key')).status, 'failed');
    });

    test('a run with the revoked key ends with AccountValidationError, linked from the history', async () => {
        await openScenario();
        const summary = await runOnce();
        await summary.getByText('AccountValidationError', { exact: true }).waitFor();
        await page.getByRole('link', { name: 'History' }).click();
        await page.getByRole('heading', { name: 'Execution history' }).waitFor();
        const row = page.getByRole('row').filter({ hasText: 'AccountValidationError' });
        await row.first().waitFor();
        await browser.screenshot('history');
        await row.first().getByRole('link', { name: /Details of execution/ }).click();
        await page.getByRole('heading', { name: /^Execution \d+$/ }).waitFor();
        await browser.screenshot('history-execution');
        await row.first().getByRole('link', { name: 'Open the connection' }).click();
        await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
        const conn = await connectionByName('Upstream key');
        assert.equal(new URL(page.url()).searchParams.get('connection'), String(conn.id));
        // The connection named by the error gets the focus.
        await page.waitForFunction((id) => document.activeElement?.id === id, `connection-${conn.id}`);
    });

    test('Edit, then Close, keeps the original connection', async () => {
        const before = await connectionByName('Upstream key');
        await card('Upstream key').getByRole('button', { name: 'Edit' }).click();
        const edit = dialog('Edit Upstream key');
        const key = edit.getByLabel('API key', { exact: true });
        await key.waitFor();
        // Secret fields are empty and required; the others are prefilled.
        assert.equal(await key.inputValue(), '');
        assert.equal(await key.getAttribute('required'), '');
        assert.equal(await edit.getByLabel('Header or parameter name').inputValue(), 'X-API-Key');
        assert.equal(await edit.getByLabel('Connection name').inputValue(), 'Upstream key');
        await edit.getByLabel('Show advanced settings').check();
        assert.equal(await edit.getByLabel('Verify URL').inputValue(), `${upstream.url}/me`);
        await browser.screenshot('edit-connection');
        await key.fill(key2);
        await edit.getByRole('button', { name: 'Close', exact: true }).click();
        await edit.waitFor({ state: 'detached' });
        const afterClose = await connectionByName('Upstream key');
        assert.equal(afterClose.version, before.version);
        assert.equal(afterClose.status, 'failed');
    });

    test('Edit, then Save, replaces the credentials; the old key is no longer used', async () => {
        // A key the app refuses: the dialog says why and nothing changes.
        await card('Upstream key').getByRole('button', { name: 'Edit' }).click();
        const edit = dialog('Edit Upstream key');
        await edit.getByLabel('API key', { exact: true }).fill(wrongKey);
        await edit.getByRole('button', { name: 'Save' }).click();
        await edit.getByRole('alert').filter({ hasText: 'the API key was not accepted' }).waitFor();
        await browser.screenshot('edit-connection-refused');
        const unchanged = await connectionByName('Upstream key');

        upstream.state.validKeys.add(key2); // the user created a new key at the app
        await edit.getByLabel('API key', { exact: true }).fill(key2);
        await edit.getByRole('button', { name: 'Save' }).click();
        await edit.waitFor({ state: 'detached' });
        await card('Upstream key').locator('.badge', { hasText: 'Verified' }).waitFor();
        const saved = await connectionByName('Upstream key');
        assert.equal(saved.version, unchanged.version + 1);
        assert.equal(saved.status, 'verified');

        // Even if the app accepted the old key again, runs send only the new one.
        upstream.state.validKeys.add(key1);
        const seen = upstream.state.log.length;
        await openScenario();
        const summary = await runOnce();
        await summary.getByText('Success').waitFor();
        const keys = upstream.state.log.slice(seen).map((e) => e.key);
        assert.ok(keys.length > 0);
        assert.ok(keys.every((k) => k === key2), JSON.stringify(keys));
        upstream.state.validKeys.delete(key1);
    });

    test('Reauthorize runs the consent window again; the connection keeps its id', async () => {
        const before = await connectionByName('Provider');
        await openConnections();
        // The provider remembers the user and the grant, so the window may finish by itself at once; hold the
        // window's first request (the provider's authorization endpoint) until the waiting dialog has been seen.
        let release;
        const held = new Promise((resolve) => {
            release = resolve;
        });
        const authorize = `${idp.discovery.authorization_endpoint}**`;
        await browser.context.route(authorize, async (route) => {
            await held;
            await route.continue();
        });
        const popupPromise = page.waitForEvent('popup');
        await card('Provider').getByRole('button', { name: 'Reauthorize' }).click();
        const re = dialog('Reauthorize Provider');
        await re.getByText('A new window is open').waitFor();
        await browser.screenshot('reauthorize-waiting');
        release();
        await completeConsent(await popupPromise);
        await re.waitFor({ state: 'detached' });
        await browser.context.unroute(authorize);
        const afterRe = await connectionByName('Provider');
        assert.equal(afterRe.id, before.id);
        assert.equal(afterRe.status, 'verified');
        assert.ok(afterRe.version > before.version, `version ${before.version} → ${afterRe.version}`);
    });

    test('Edit of an OAuth connection shows its settings and scopes, and continues to the consent window', async () => {
        const before = await connectionByName('Provider');
        await card('Provider').getByRole('button', { name: 'Edit' }).click();
        const edit = dialog('Edit Provider');
        await edit.getByText('Granted scopes').waitFor();
        await edit.locator('.scope-chips code', { hasText: 'email' }).waitFor();
        // The provider's settings are shown read-only, without the client secret.
        await edit.getByText('switchboard-e2e', { exact: true }).waitFor();
        assert.equal(await edit.getByText('Client secret').count(), 0);
        await edit.getByLabel('Connection name').fill('Provider account');
        await browser.screenshot('edit-connection-oauth');
        const popupPromise = page.waitForEvent('popup');
        await edit.getByRole('button', { name: 'Save' }).click();
        await completeConsent(await popupPromise);
        await edit.waitFor({ state: 'detached' });
        await card('Provider account').waitFor();
        const conn = await connectionByName('Provider account');
        assert.equal(conn.id, before.id);
        assert.ok(conn.version > before.version);
        // Back to the old name for the steps below.
        await sb.api('PATCH', `/api/v2/connections/${conn.id}`, { name: 'Provider' });
        await page.reload();
        await card('Provider').waitFor();
    });

    test('an OAuth type with a scope list shows each scope with its description', async () => {
        await page.getByRole('button', { name: 'Create a connection' }).click();
        await dialog('Create a connection').getByLabel('Search apps').fill('slack');
        await dialog('Create a connection').getByRole('button', { name: /Slack \(Add to Slack\)/ }).click();
        const create = dialog('Create a connection');
        const scopes = create.getByRole('group', { name: 'Scopes' });
        await scopes.waitFor();
        // Default scopes are always asked for; the others can be ticked, each with the app's description.
        assert.ok((await scopes.getByRole('checkbox').count()) > 1);
        assert.ok((await scopes.getByRole('checkbox', { disabled: true }).count()) >= 1);
        assert.ok((await scopes.locator('.scope-description').first().innerText()).length > 3);
        await browser.screenshot('create-connection-oauth-scopes');
        await create.getByRole('button', { name: 'Close', exact: true }).click();
    });

    test('Reauthorize lists the scenarios that would lose scopes before opening the window', async () => {
        // A Slack connection whose consent never finished, used by a scenario whose module needs scopes beyond the
        // type's default ones (set up through the API; Slack itself is never contacted: its pages are stubbed).
        const created = await sb.api('POST', `/api/v2/connections?teamId=${teamId}`, {
            name: 'Slack workspace',
            type: 'slack-oauth',
            scopes: [],
            data: { clientId: 'e2e-slack-client', clientSecret: slackSecret },
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const slackId = created.body.connection.id;
        await sb.api('PATCH', `/api/v2/connections/${slackId}`, { name: 'Slack workspace' });
        const scenario = await sb.api('POST', `/api/v2/scenarios?teamId=${teamId}`, {
            blueprint: {
                name: 'Find people in Slack',
                flow: [{ id: 1, module: 'slack-oauth:findUserByEmail', parameters: { __IMTCONN__: slackId }, mapper: { email: 'ada@example.test' } }],
            },
        });
        assert.equal(scenario.status, 201, JSON.stringify(scenario.body));
        await browser.context.route('https://slack.com/**', (route) =>
            route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Slack (stub)</title><h1>Slack sign-in (stub)</h1>' }),
        );

        await page.reload();
        await card('Slack workspace').getByText('Waiting for authorization').waitFor();
        await card('Slack workspace').getByRole('button', { name: 'Reauthorize' }).click();
        const re = dialog('Reauthorize Slack workspace');
        const warning = re.getByRole('alert').filter({ hasText: 'would lose scopes' });
        await warning.getByRole('link', { name: 'Find people in Slack' }).waitFor();
        await warning.getByText('users:read.email').waitFor();
        await browser.screenshot('reauthorize-would-break');

        // Asking for the missing scopes opens the window with them.
        const popupPromise = page.waitForEvent('popup');
        await re.getByRole('button', { name: 'Add the missing scopes' }).click();
        const popup = await popupPromise;
        const scope = new URL(popup.url()).searchParams.get('scope') ?? '';
        assert.ok(scope.split(',').includes('users:read.email'), scope);
        assert.ok(scope.split(',').includes('chat:write'), scope);
        // Closing the window before allowing access says so, and offers to open it again.
        await popup.close();
        await re.getByText('The window was closed before access was granted.').waitFor();
        await re.getByRole('button', { name: 'Open the window again' }).first().waitFor();
        await browser.screenshot('reauthorize-window-closed');
        await re.getByRole('button', { name: 'Close', exact: true }).click();

        // Edit shows the type's scopes with the app's descriptions.
        await card('Slack workspace').getByRole('button', { name: 'Edit' }).click();
        const edit = dialog('Edit Slack workspace');
        const scopes = edit.getByRole('group', { name: 'Scopes' });
        await scopes.getByRole('checkbox', { name: /users:read\.email/ }).waitFor();
        assert.equal(await scopes.getByRole('checkbox', { name: /chat:write\b/ }).first().isDisabled(), true);
        await browser.screenshot('edit-connection-oauth-scopes');
        await edit.getByRole('button', { name: 'Close', exact: true }).click();
        await browser.context.unroute('https://slack.com/**');
    });

    test('Delete turns red, lists the active scheduled scenario, and deletes on the second click', async () => {
        // Schedule the scenario and switch it on.
        await openScenario();
        await page.getByRole('button', { name: 'On demand' }).click();
        const schedule = dialog('Schedule settings');
        await schedule.getByLabel('Run scenario').selectOption({ label: 'At regular intervals' });
        await schedule.getByLabel('Minutes').fill('15');
        await browser.screenshot('builder-schedule');
        await schedule.getByRole('button', { name: 'OK' }).click();
        await page.getByRole('switch', { name: 'Scheduling' }).click();
        await page.getByRole('switch', { name: 'Scheduling', checked: true }).waitFor();
        const scenario = (await sb.api('GET', `/api/v2/scenarios/${scenarioId}`)).body.scenario;
        assert.equal(scenario.isActive, true);
        assert.equal(scenario.scheduling.type, 'indefinitely');
        await browser.screenshot('builder-scheduled');

        await openConnections();
        const del = card('Upstream key').getByRole('button', { name: 'Delete' });
        await del.click();
        const confirm = card('Upstream key').getByRole('alert');
        await confirm.getByText('Click Delete again').waitFor();
        await confirm.getByRole('link', { name: scenarioName }).waitFor();
        await confirm.getByText('(active, scheduled)').waitFor();
        assert.match(await del.getAttribute('class'), /button-danger\b/);
        // Red once its colour transition has ended.
        await page
            .waitForFunction(
                (el) => {
                    const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\d+/g).map(Number);
                    return r > 150 && g < 70 && b < 70;
                },
                await del.elementHandle(),
                { timeout: 3000 },
            )
            .catch(async () => {
                assert.fail(`the confirming Delete button is ${await del.evaluate((el) => getComputedStyle(el).backgroundColor)}, not red`);
            });
        await browser.screenshot('connections-delete-confirm');
        const id = (await connectionByName('Upstream key')).id;
        await del.click();
        await card('Upstream key').waitFor({ state: 'detached' });
        assert.equal((await sb.api('GET', `/api/v2/connections/${id}`)).status, 404);
    });

    test('dynamic connections, team and audit log pages', async () => {
        const nav = page.getByRole('navigation', { name: 'Main' });
        await nav.getByRole('link', { name: 'Dynamic connections' }).click();
        await page.getByRole('heading', { name: 'No dynamic connections yet' }).waitFor();
        await browser.screenshot('dynamic-connections-empty');
        await page.getByRole('button', { name: 'Create a dynamic connection' }).click();
        const d = dialog('Create a dynamic connection');
        await d.getByLabel('Name').fill('Provider per department');
        await d.getByLabel('Connection type').selectOption({ label: 'HTTP OAuth 2.0 (authorization code)' });
        await d.getByLabel('Provider', { exact: true }).check();
        await d.getByLabel('Label of Provider').fill('sales');
        await d.getByLabel('Default connection').selectOption({ label: 'Provider' });
        await browser.screenshot('dynamic-connection-dialog');
        await d.getByRole('button', { name: 'Save' }).click();
        await card('Provider per department').getByText('Default').waitFor();
        await browser.screenshot('dynamic-connections');

        await nav.getByRole('link', { name: 'Team' }).click();
        await page.getByRole('cell', { name: adminEmail, exact: true }).waitFor();
        await browser.screenshot('team');
        await nav.getByRole('link', { name: 'Audit log' }).click();
        await page.getByRole('cell', { name: 'connection.delete', exact: true }).first().waitFor();
        await browser.screenshot('audit-log');
        await nav.getByRole('link', { name: 'Scenarios' }).click();
        await page.getByRole('link', { name: scenarioName }).waitFor();
        await browser.screenshot('scenarios');
    });

    test('keyboard: Enter opens a module, Escape closes it and focus returns; Tab stays inside dialogs', async () => {
        await openScenario();
        const node = page.getByRole('button', { name: /^Module 1: HTTP – Make an API Key Auth request/ });
        await node.focus();
        await page.keyboard.press('Enter');
        const moduleDialog = dialog('1. HTTP – Make an API Key Auth request');
        await moduleDialog.waitFor();
        // Focus starts inside the dialog and Tab never leaves it.
        for (let i = 0; i < 25; i += 1) {
            await page.keyboard.press('Tab');
            assert.ok(await moduleDialog.evaluate((d) => d.contains(document.activeElement)), `Tab ${i + 1} left the dialog`);
        }
        // The focused control has a visible focus ring.
        const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
        assert.notEqual(outline, 'none');
        await page.keyboard.press('Escape');
        await moduleDialog.waitFor({ state: 'detached' });
        assert.match(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''), /^Module 1:/);
    });

    test('team switcher: another team has its own, empty, pages', async () => {
        const team = await sb.api('POST', '/api/v2/teams', { name: 'Second team' });
        assert.equal(team.status, 201);
        await page.goto(`${sb.url}/connections`);
        await card('Provider').waitFor();
        await page.getByLabel('Team', { exact: true }).selectOption({ label: 'Second team' });
        await page.getByRole('heading', { name: 'No connections yet' }).waitFor();
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Scenarios', exact: true }).click();
        await page.getByRole('heading', { name: 'No scenarios yet' }).waitFor();
        await page.getByLabel('Team', { exact: true }).selectOption({ label: 'My team' });
        await page.getByRole('link', { name: scenarioName }).waitFor();
    });

    test('narrow window: the sidebar becomes a menu, pages reflow', async () => {
        await page.setViewportSize({ width: 400, height: 800 });
        await openConnectionsNarrow(page);
        await browser.screenshot('narrow-connections', page, { fullPage: true });
        await page.getByRole('button', { name: 'Menu' }).click();
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Scenarios' }).waitFor();
        await browser.screenshot('narrow-menu');
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Scenarios' }).click();
        await page.getByRole('link', { name: scenarioName }).click();
        await page.getByRole('region', { name: 'Modules' }).waitFor();
        await browser.screenshot('narrow-builder', page, { fullPage: true });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
        await page.setViewportSize({ width: 1280, height: 800 });
    });

    test('no secret reached the browser', async () => {
        const tokens = await idp.issuedTokens();
        assert.ok(tokens.length >= 2, 'the provider issued tokens');
        const responses = await browser.allResponses();
        assert.ok(responses.some((r) => r.url.includes('/api/v2/connections')), 'responses were recorded');
        const leaks = findSecrets(responses, [key1, key2, wrongKey, clientSecret, slackSecret, sb.apiToken, password, ...tokens]);
        assert.deepEqual(leaks, []);
        // The page itself never shows them either.
        const html = await page.content();
        for (const s of [key1, key2, clientSecret]) assert.ok(!html.includes(s));
        const unexpected = browser.consoleErrors.filter((e) => !/status of (400|401|404|409)/.test(e));
        assert.deepEqual(unexpected, []);
    });

    async function openConnectionsNarrow(p) {
        await p.goto(`${sb.url}/connections`);
        await p.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    }
});
