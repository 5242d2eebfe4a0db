// A small HTTP API on loopback that requires an API key in X-API-Key, standing in for a third-party app:
//   GET /me     the verify URL: 200 {"email"} for a valid key, 401 otherwise (after `delayMs`)
//   GET /items  200 {"items": [...]} for a valid key, 401 otherwise
// `validKeys` decides which keys work (the "provider" revoking or issuing keys); `log` records every request
// with the key it carried.
import * as http from 'node:http';

export async function startUpstream() {
    const state = { validKeys: new Set(), delayMs: 0, log: [] };
    const server = http.createServer((req, res) => {
        const key = req.headers['x-api-key'] ?? null;
        const url = new URL(req.url, 'http://upstream');
        state.log.push({ method: req.method, path: url.pathname, key });
        const send = (status, body) => {
            res.writeHead(status, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(body));
        };
        const ok = key !== null && state.validKeys.has(key);
        const answer = () => {
            if (!ok) return send(401, { error: 'invalid API key' });
            if (url.pathname === '/me') return send(200, { email: 'owner@upstream.test', plan: 'team' });
            if (url.pathname === '/items') {
                return send(200, { items: [{ id: 1, name: 'Ada' }, { id: 2, name: 'Linus' }], total: 2 });
            }
            return send(404, { error: 'no such path' });
        };
        if (url.pathname === '/me' && state.delayMs > 0) setTimeout(answer, state.delayMs);
        else answer();
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${server.address().port}`;
    return {
        url,
        state,
        keysSeen: (pathname) => state.log.filter((e) => !pathname || e.path === pathname).map((e) => e.key),
        stop: () => new Promise((resolve) => server.close(resolve)),
    };
}
