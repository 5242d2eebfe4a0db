// The OAuth 2 / OpenID provider of the integration tests (tests/support/oidc/provider.mjs, oidc-provider 9),
// started the way tests/support/oidc_provider.cpp starts it: port 0, clients on the command line, and the
// "OIDC_READY <issuer>" line on stdout. The browser completes its login and consent pages (login "alice",
// then Allow) as a user would.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { start } from './processes.mjs';
import { repoRoot } from './switchboard.mjs';

const dir = path.join(repoRoot, 'tests/support/oidc');

export async function startOidcProvider({ clients, scopes = ['read', 'write'] }) {
    if (!fs.existsSync(path.join(dir, 'node_modules/oidc-provider'))) {
        throw new Error(`oidc-provider is not installed: run \`npm ci\` in ${dir} (scripts/install-deps.sh test does)`);
    }
    const args = [path.join(dir, 'provider.mjs'), '--port', '0'];
    for (const c of clients) args.push('--client', JSON.stringify(c));
    for (const s of scopes) args.push('--scope', s);
    const p = start(process.execPath, args, { cwd: dir });
    const [, issuer] = await p.waitFor(/OIDC_READY (\S+)/, 30000);
    const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
    return {
        issuer,
        discovery,
        // Every access and refresh token the provider issued, for the "no secret reaches the browser" check.
        async issuedTokens() {
            return (await (await fetch(`${issuer}/__test/issued-tokens`)).json()).tokens;
        },
        async stats() {
            return (await fetch(`${issuer}/__test/stats`)).json();
        },
        output: p.output,
        stop: () => p.stop(),
    };
}

// Completes the provider's pages in the consent window: signs in as `account` when asked, allows when asked,
// and waits for the window to close itself (Switchboard's callback page closes it).
export async function completeConsent(popup, account = 'alice') {
    const deadline = Date.now() + 30000;
    while (!popup.isClosed()) {
        if (Date.now() > deadline) throw new Error(`the consent window did not close; it shows ${popup.url()}`);
        const login = popup.locator('form#login input[name="login"]');
        const allow = popup.locator('form#confirm button[type="submit"]');
        try {
            if (await login.isVisible()) {
                await login.fill(account);
                await popup.locator('form#login button[type="submit"]').click();
            } else if (await allow.isVisible()) {
                await allow.click();
            }
        } catch (e) {
            if (!popup.isClosed()) throw e;
        }
        await new Promise((r) => setTimeout(r, 150));
    }
}
