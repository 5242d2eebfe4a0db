// A real OAuth 2 / OpenID Connect provider (the npm package oidc-provider) on 127.0.0.1 for Switchboard's
// integration tests, driven without a browser.
//
// Usage: node provider.mjs [--port N] [--config FILE] [--client JSON]... [--access-token-ttl S]
//                          [--refresh-token-ttl S] [--scope NAME]... [--require-pkce]
//
//   --port 0 (the default) binds a free port. When listening, exactly one line is printed on stdout:
//     OIDC_READY http://127.0.0.1:<port>
//   Everything else (request log, library notices) goes to stderr; secrets and tokens are never logged.
//
// Config file (JSON, every member optional; CLI flags override it, --client/--scope add to it):
//   {
//     "clients": [{ "client_id": "switchboard", "client_secret": "s3cret",
//                   "redirect_uris": ["http://127.0.0.1:8080/oauth/callback"],
//                   "token_endpoint_auth_method": "client_secret_post",   // or client_secret_basic, none
//                   "grant_types": ["authorization_code", "refresh_token", "client_credentials"] }],
//     "accessTokenTtl": 5, "refreshTokenTtl": 1209600, "authorizationCodeTtl": 60,
//     "scopes": ["read", "write"],                // API scopes besides openid email profile offline_access
//     "accounts": { "alice": { "email": "alice@example.test", "email_verified": true, "name": "Alice" } },
//     "requirePkce": false                        // true: PKCE S256 required for every client
//   }
//
// Behaviour the tests rely on:
//   - Scopes: the API scopes are registered as provider scopes (configuration `scopes`) and resource
//     indicators are off, so one opaque access token carries e.g. "openid email offline_access read write":
//     the token response has `scope`, introspection returns it, and the same token works at userinfo.
//   - Refresh tokens are issued for every authorization_code grant of a client allowed the refresh_token
//     grant, with or without offline_access; they are rotated on every use, and presenting a rotated
//     (already used) refresh token fails with invalid_grant and revokes the whole grant (reuse detection).
//   - Tokens do not expire with the provider's browser session.
//   - PKCE: only S256; required for public clients (token_endpoint_auth_method none) or all with
//     requirePkce; optional but verified when sent by confidential clients.
//   - Interactions (replacing devInteractions): GET /interaction/:uid renders one small HTML form;
//     POST /interaction/:uid/login (login=alice), POST /interaction/:uid/confirm (grants every requested
//     scope), POST /interaction/:uid/abort (access_denied). All answer 303 to the authorization resume URL.
//   - Test control: GET /__test/stats, POST /__test/reset-stats, POST /__test/revoke-grants?account=alice,
//     GET /__test/issued-tokens (every access and refresh token issued, for at-rest scans).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

// oidc-provider prints notices with console.info (stdout); stdout is reserved for the ready line.
console.info = console.error;
console.log = console.error;
const { default: Provider, errors } = await import('oidc-provider');

function fail(message) {
    process.stderr.write(`provider.mjs: ${message}\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const args = { port: 0, clients: [], scopes: [] };
    const value = (i) => {
        if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
        return argv[i + 1];
    };
    const seconds = (i) => {
        const n = Number(value(i));
        if (!Number.isInteger(n) || n <= 0) fail(`${argv[i]} must be a positive integer (seconds)`);
        return n;
    };
    for (let i = 0; i < argv.length; i += 1) {
        switch (argv[i]) {
            case '--port': {
                const n = Number(value(i));
                if (!Number.isInteger(n) || n < 0 || n > 65535) fail('--port must be 0..65535');
                args.port = n;
                i += 1;
                break;
            }
            case '--config':
                args.configFile = value(i);
                i += 1;
                break;
            case '--client':
                try {
                    args.clients.push(JSON.parse(value(i)));
                } catch (e) {
                    fail(`--client is not JSON: ${e.message}`);
                }
                i += 1;
                break;
            case '--access-token-ttl':
                args.accessTokenTtl = seconds(i);
                i += 1;
                break;
            case '--refresh-token-ttl':
                args.refreshTokenTtl = seconds(i);
                i += 1;
                break;
            case '--scope':
                args.scopes.push(value(i));
                i += 1;
                break;
            case '--require-pkce':
                args.requirePkce = true;
                break;
            default:
                fail(`unknown argument ${argv[i]}`);
        }
    }
    return args;
}

function loadSettings(args) {
    let file = {};
    if (args.configFile) {
        try {
            file = JSON.parse(fs.readFileSync(args.configFile, 'utf8'));
        } catch (e) {
            fail(`cannot read config ${args.configFile}: ${e.message}`);
        }
    }
    const settings = {
        clients: [...(file.clients ?? []), ...args.clients],
        accessTokenTtl: args.accessTokenTtl ?? file.accessTokenTtl ?? 3600,
        refreshTokenTtl: args.refreshTokenTtl ?? file.refreshTokenTtl ?? 14 * 24 * 3600,
        authorizationCodeTtl: file.authorizationCodeTtl ?? 60,
        scopes: [...new Set([...(file.scopes ?? ['read', 'write']), ...args.scopes])],
        accounts: file.accounts ?? {
            alice: { email: 'alice@example.test', email_verified: true, name: 'Alice Example' },
        },
        requirePkce: args.requirePkce ?? file.requirePkce ?? false,
    };
    if (settings.clients.length === 0) fail('no clients configured (use --config or --client)');
    for (const c of settings.clients) {
        if (typeof c.client_id !== 'string' || !c.client_id) fail('every client needs a client_id');
    }
    return settings;
}

// Client metadata as oidc-provider expects it: only what the tests configure, with the response types
// derived from the grant types (a client_credentials-only client has no redirect URIs).
function clientMetadata(c) {
    const grantTypes = c.grant_types ?? ['authorization_code', 'refresh_token'];
    const metadata = {
        client_id: c.client_id,
        grant_types: grantTypes,
        response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
        redirect_uris: c.redirect_uris ?? [],
        token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    };
    if (metadata.token_endpoint_auth_method !== 'none') metadata.client_secret = c.client_secret;
    if (c.scope !== undefined) metadata.scope = c.scope;
    return metadata;
}

function signingKeys() {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { keys: [{ ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' }] };
}

const escapeHtml = (s) =>
    String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

async function readForm(ctx) {
    const limit = 64 * 1024;
    const chunks = [];
    let size = 0;
    for await (const chunk of ctx.req) {
        size += chunk.length;
        if (size > limit) ctx.throw(413, 'form body too large');
        chunks.push(chunk);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function page(title, body) {
    return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

const args = parseArgs(process.argv.slice(2));
const settings = loadSettings(args);

const stats = { token_requests: {}, token_errors: {}, invalid_grant: 0, routes: {} };
const resetStats = () => {
    stats.token_requests = {};
    stats.token_errors = {};
    stats.invalid_grant = 0;
    stats.routes = {};
};
const issuedTokens = []; // every access/refresh token issued, for GET /__test/issued-tokens
const grantsByAccount = new Map(); // accountId -> Set of grant ids, for /__test/revoke-grants

const server = http.createServer();
await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(args.port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
    clients: settings.clients.map(clientMetadata),
    jwks: signingKeys(),
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', ...settings.scopes],
    claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['name'],
    },
    async findAccount(_ctx, sub) {
        if (!Object.hasOwn(settings.accounts, sub)) return undefined;
        const claims = settings.accounts[sub];
        return { accountId: sub, async claims() { return { sub, ...claims }; } };
    },
    features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        userinfo: { enabled: true },
        // Off: the API scopes are plain provider scopes, so one token serves userinfo and the API.
        resourceIndicators: { enabled: false },
    },
    pkce: {
        required: (_ctx, client) => settings.requirePkce || client.clientAuthMethod === 'none',
    },
    // Called for authorization_code exchanges (rotation handles refresh_token ones): no offline_access needed.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    ttl: {
        AccessToken: () => settings.accessTokenTtl,
        ClientCredentials: () => settings.accessTokenTtl,
        AuthorizationCode: () => settings.authorizationCodeTtl,
        RefreshToken: () => settings.refreshTokenTtl,
        IdToken: () => 3600,
        Interaction: () => 600,
        Session: () => 24 * 3600,
        Grant: () => 14 * 24 * 3600,
    },
    interactions: {
        url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async renderError(ctx, out) {
        ctx.type = 'html';
        ctx.body = page(
            'Error',
            Object.entries(out)
                .map(([k, v]) => `<p><b>${escapeHtml(k)}</b>: <span id="${escapeHtml(k)}">${escapeHtml(v)}</span></p>`)
                .join('\n'),
        );
    },
});

provider.on('grant.saved', (grant) => {
    if (!grantsByAccount.has(grant.accountId)) grantsByAccount.set(grant.accountId, new Set());
    grantsByAccount.get(grant.accountId).add(grant.jti);
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));

// Revokes a grant as a user would from the provider's account page: the grant and every token of it.
async function revokeGrant(grantId) {
    await Promise.all([
        provider.AccessToken.revokeByGrantId(grantId),
        provider.RefreshToken.revokeByGrantId(grantId),
        provider.AuthorizationCode.revokeByGrantId(grantId),
        provider.Grant.adapter.destroy(grantId),
    ]);
}

// Request log (stderr) and token endpoint statistics.
provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (route) stats.routes[route] = (stats.routes[route] ?? 0) + 1;
    let note = '';
    if (route === 'token') {
        const grantType = ctx.oidc.params?.grant_type ?? 'unknown';
        stats.token_requests[grantType] = (stats.token_requests[grantType] ?? 0) + 1;
        const error = ctx.status >= 400 ? ctx.body?.error : undefined;
        if (error) {
            stats.token_errors[error] = (stats.token_errors[error] ?? 0) + 1;
            if (error === 'invalid_grant') stats.invalid_grant += 1;
            note = ` ${grantType} -> ${error}`;
        } else {
            note = ` ${grantType}`;
            // Remembered (in memory only) so tests can check that the client never stores them in clear.
            for (const key of ['access_token', 'refresh_token']) {
                if (typeof ctx.body?.[key] === 'string') issuedTokens.push(ctx.body[key]);
            }
        }
    }
    process.stderr.write(`${ctx.method} ${ctx.path} ${ctx.status}${note}\n`);
});

// Test control endpoints.
provider.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/__test/')) return next();
    ctx.set('Cache-Control', 'no-store');
    if (ctx.method === 'GET' && ctx.path === '/__test/stats') {
        const total = Object.values(stats.token_requests).reduce((a, b) => a + b, 0);
        ctx.body = { ...stats, token_requests_total: total };
        return undefined;
    }
    if (ctx.method === 'GET' && ctx.path === '/__test/issued-tokens') {
        ctx.body = { tokens: issuedTokens };
        return undefined;
    }
    if (ctx.method === 'POST' && ctx.path === '/__test/reset-stats') {
        resetStats();
        ctx.body = { ok: true };
        return undefined;
    }
    if (ctx.method === 'POST' && ctx.path === '/__test/revoke-grants') {
        const account = ctx.query.account;
        if (typeof account !== 'string' || !account) {
            ctx.status = 400;
            ctx.body = { error: 'account query parameter required' };
            return undefined;
        }
        const ids = [...(grantsByAccount.get(account) ?? [])];
        await Promise.all(ids.map(revokeGrant));
        grantsByAccount.delete(account);
        ctx.body = { account, revoked_grants: ids.length };
        return undefined;
    }
    ctx.status = 404;
    ctx.body = { error: 'no such test endpoint' };
    return undefined;
});

// Interactions: login and consent as plain HTML forms.
provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    ctx.set('Cache-Control', 'no-store');
    try {
        const details = await provider.interactionDetails(ctx.req, ctx.res);
        if (details.uid !== uid) ctx.throw(400, 'interaction cookie does not match the URL');
        const { prompt, params, session } = details;

        if (ctx.method === 'GET' && !action) {
            ctx.type = 'html';
            if (prompt.name === 'login') {
                ctx.body = page(
                    'Sign in',
                    `<p>Client: <span id="client_id">${escapeHtml(params.client_id)}</span></p>
<form id="login" method="post" action="/interaction/${uid}/login">
<input type="text" name="login" autofocus>
<button type="submit">Sign in</button>
</form>
<form id="abort" method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`,
                );
            } else if (prompt.name === 'consent') {
                ctx.body = page(
                    'Authorize',
                    `<p>Client <span id="client_id">${escapeHtml(params.client_id)}</span> asks for
<span id="scope">${escapeHtml(params.scope ?? '')}</span></p>
<form id="confirm" method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
<form id="abort" method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`,
                );
            } else {
                ctx.throw(501, `prompt ${prompt.name} not supported`);
            }
            return undefined;
        }
        if (ctx.method !== 'POST' || !action) ctx.throw(405, 'method not allowed');

        const form = await readForm(ctx);
        let result;
        if (action === 'abort') {
            result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
        } else if (action === 'login') {
            if (prompt.name !== 'login') ctx.throw(400, `expected the ${prompt.name} prompt, not login`);
            const login = form.get('login') ?? '';
            if (!Object.hasOwn(settings.accounts, login)) {
                ctx.status = 401;
                ctx.type = 'html';
                ctx.body = page('Sign in failed', `<p id="error">unknown account</p>`);
                return undefined;
            }
            result = { login: { accountId: login } };
        } else {
            if (prompt.name !== 'consent') ctx.throw(400, `expected the ${prompt.name} prompt, not consent`);
            const grant = details.grantId
                ? await provider.Grant.find(details.grantId)
                : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
            if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
            if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
            for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
                grant.addResourceScope(indicator, scopes.join(' '));
            }
            result = { consent: { grantId: await grant.save() } };
        }
        await provider.interactionFinished(ctx.req, ctx.res, result, {
            mergeWithLastSubmission: action === 'confirm',
        });
        ctx.respond = false;
        return undefined;
    } catch (err) {
        if (err instanceof errors.OIDCProviderError || err.expose) {
            ctx.status = err.statusCode ?? err.status ?? 400;
            ctx.type = 'html';
            ctx.body = page('Error', `<p id="error">${escapeHtml(err.error ?? err.message)}</p>`);
            return undefined;
        }
        throw err;
    }
});

server.on('request', provider.callback());
process.on('SIGTERM', () => process.exit(0));
process.stdout.write(`OIDC_READY ${issuer}\n`);
