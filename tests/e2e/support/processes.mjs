// Child processes for the tests: started with their output captured, waited for by a line they print, and
// killed when the test process exits (also on a crash), so no server outlives the run.
import { spawn } from 'node:child_process';
import * as net from 'node:net';

const children = new Set();
const killAll = () => {
    for (const child of children) {
        try {
            child.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
};
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
        killAll();
        process.exit(130);
    });
}

export function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

// Starts a process; `output()` is everything it printed so far (stdout and stderr interleaved).
export function start(command, args, options = {}) {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    children.add(child);
    let output = '';
    const waiters = [];
    const onData = (chunk) => {
        output += chunk.toString('utf8');
        for (const w of [...waiters]) {
            const m = w.pattern.exec(output);
            if (m) {
                waiters.splice(waiters.indexOf(w), 1);
                clearTimeout(w.timer);
                w.resolve(m);
            }
        }
        if (process.env.E2E_VERBOSE) process.stderr.write(`[${command.split('/').pop()}] ${chunk}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise((resolve) => {
        child.on('exit', (code, signal) => {
            children.delete(child);
            for (const w of waiters.splice(0)) {
                clearTimeout(w.timer);
                w.reject(new Error(`${command} exited (${code ?? signal}) before printing ${w.pattern}:\n${output.slice(-4000)}`));
            }
            resolve({ code, signal });
        });
    });
    return {
        child,
        exited,
        output: () => output,
        waitFor(pattern, timeoutMs = 30000) {
            const m = pattern.exec(output);
            if (m) return Promise.resolve(m);
            return new Promise((resolve, reject) => {
                const w = { pattern, resolve, reject };
                w.timer = setTimeout(() => {
                    waiters.splice(waiters.indexOf(w), 1);
                    reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} from ${command}:\n${output.slice(-4000)}`));
                }, timeoutMs);
                waiters.push(w);
            });
        },
        async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(timer);
        },
    };
}

// Runs a command to completion; resolves with its exit code and output.
export async function run(command, args, { input, env, timeoutMs = 60000 } = {}) {
    const p = start(command, args, { env });
    if (input !== undefined) p.child.stdin.end(input);
    else p.child.stdin.end();
    const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
    const { code } = await p.exited;
    clearTimeout(timer);
    return { code, output: p.output() };
}
