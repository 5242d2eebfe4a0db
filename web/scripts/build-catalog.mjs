// Writes src/generated/catalog.json: what the UI needs to know about the built-in apps of ../apps (labels,
// colours, connection types with their fields and scopes, modules with their fields and outputs).
//
// The server has no catalog endpoint yet (see the report in web/README.md); until it has, the UI ships this
// build-time copy. Only descriptive keys are kept: `common` (operator secrets such as OAuth client secrets),
// connection `api`, module `communication` and the app's `base` never reach the bundle.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const appsDir = path.resolve(here, '../../apps');
const outFile = path.resolve(here, '../src/generated/catalog.json');

// App files may hold // and /* */ comments (as Make's .imljson); strip them outside strings.
function stripComments(text) {
    let out = '';
    for (let i = 0; i < text.length; i += 1) {
        const ch = text[i];
        if (ch === '"') {
            let j = i + 1;
            while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
            out += text.slice(i, j + 1);
            i = j;
        } else if (ch === '/' && text[i + 1] === '/') {
            while (i < text.length && text[i] !== '\n') i += 1;
            out += '\n';
        } else if (ch === '/' && text[i + 1] === '*') {
            const end = text.indexOf('*/', i + 2);
            i = end < 0 ? text.length : end + 1;
        } else {
            out += ch;
        }
    }
    return out;
}

const pick = (obj, keys) => Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
const paramKeys = ['name', 'type', 'label', 'help', 'required', 'advanced', 'editable', 'sensitive', 'options', 'default', 'spec', 'validate'];
const params = (list) =>
    (list ?? []).map((p) => {
        const q = pick(p, paramKeys);
        if (q.spec) q.spec = params(q.spec);
        return q;
    });

const apps = [];
for (const file of fs.readdirSync(appsDir).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort()) {
    const app = JSON.parse(stripComments(fs.readFileSync(path.join(appsDir, file), 'utf8')));
    const connections = {};
    for (const [name, c] of Object.entries(app.connections ?? {})) {
        connections[name] = { ...pick(c, ['type', 'label', 'scope', 'scopes']), parameters: params(c.parameters) };
    }
    const modules = {};
    for (const [name, m] of Object.entries(app.modules ?? {})) {
        modules[name] = {
            ...pick(m, ['type', 'label', 'description', 'connection', 'scope', 'interface']),
            parameters: params(m.parameters),
            expect: params(m.expect),
        };
    }
    apps.push({
        ...pick(app, ['name', 'label', 'description', 'theme']),
        hasBaseUrl: Boolean(app.base?.baseUrl),
        connections,
        modules,
    });
}
apps.sort((a, b) => a.label.localeCompare(b.label));
fs.mkdirSync(path.dirname(outFile), { recursive: true });
const text = `${JSON.stringify({ apps }, null, 1)}\n`;
if (!fs.existsSync(outFile) || fs.readFileSync(outFile, 'utf8') !== text) fs.writeFileSync(outFile, text);
process.stdout.write(`catalog: ${apps.length} apps -> ${path.relative(process.cwd(), outFile)}\n`);
