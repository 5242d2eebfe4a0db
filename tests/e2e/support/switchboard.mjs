// `switchboard serve` on a temporary data folder and a free loopback port, serving the built web/dist.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, run, start } from './processes.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const binary = process.env.SWITCHBOARD_BIN ?? path.join(repoRoot, 'build/switchboard');
export const webDir = process.env.SWITCHBOARD_WEB_DIR ?? path.join(repoRoot, 'web/dist');

export function checkPrerequisites() {
    if (!fs.existsSync(binary)) {
        throw new Error(`${binary} is missing: build it with \`cmake --preset release && cmake --build build\` (or set SWITCHBOARD_BIN)`);
    }
    if (!fs.existsSync(path.join(webDir, 'index.html'))) {
        throw new Error(`${webDir}/index.html is missing: build the UI with \`npm ci && npm run build\` in web/ (or run tests/e2e/run.sh)`);
    }
}

const baseEnv = () => {
    const env = { ...process.env, SWITCHBOARD_MASTER_KEY: '', SWITCHBOARD_WEB_DIR: webDir };
    for (const k of ['SWITCHBOARD_DATABASE', 'SWITCHBOARD_CONFIG', 'SWITCHBOARD_DATA_DIR', 'SWITCHBOARD_LISTEN', 'SWITCHBOARD_PUBLIC_URL']) delete env[k];
    return env;
};

export async function startSwitchboard({ port, apps } = {}) {
    checkPrerequisites();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-e2e-'));
    const dataDir = path.join(dir, 'data');
    port ??= await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args = ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--public-url', url, '--allow-private-network'];
    if (apps) {
        const appsDir = path.join(dir, 'apps');
        fs.mkdirSync(appsDir);
        for (const [name, app] of Object.entries(apps)) fs.writeFileSync(path.join(appsDir, `${name}.json`), JSON.stringify(app));
        args.push('--apps-dir', appsDir);
    }
    const server = start(binary, args, { env: baseEnv(), cwd: dir });
    await server.waitFor(/Switchboard listening on/, 60000);
    const out = server.output();
    const setupLink = /(http\S+\/setup\?token=\S+)/.exec(out)?.[1] ?? null;
    const apiToken = /(sbt_[A-Za-z0-9_-]+)/.exec(out)?.[1] ?? null;
    return {
        url,
        dataDir,
        setupLink,
        apiToken,
        output: server.output,
        async setPassword(email, password) {
            const r = await run(binary, ['user', 'password', '--data-dir', dataDir, '--email', email], { input: `${password}\n`, env: baseEnv() });
            if (r.code !== 0) throw new Error(`switchboard user password failed (${r.code}): ${r.output}`);
        },
        // The API with the first-start token, for checks the UI does not show.
        async api(method, pathname, body) {
            const res = await fetch(url + pathname, {
                method,
                headers: { Authorization: `Token ${apiToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
                body: body ? JSON.stringify(body) : undefined,
            });
            const text = await res.text();
            return { status: res.status, body: text ? JSON.parse(text) : null };
        },
        async stop() {
            await server.stop();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
