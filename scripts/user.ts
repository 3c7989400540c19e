// `npm run user:add -- --role admin --username wang --name "王某"` creates an account. The password is read from
// the terminal (not echoed) or, for scripts, from standard input or SHUDI_NEW_PASSWORD — never from a flag, so it
// does not land in shell history. Outside demo mode this is how the first admin is made: there are no defaults.
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { ROLES, addUser, audit, passwordProblems, type Role } from '../src/lib/server/people/auth.js';
import { fail, openCliDb } from './cli-db.js';

const [cmd, ...rest] = process.argv.slice(2);
const { values: a } = parseArgs({
	args: rest,
	options: { role: { type: 'string', multiple: true }, username: { type: 'string' }, name: { type: 'string' }, cadre: { type: 'string' } }
});
if (cmd !== 'add') fail('usage: user.ts add --role ROLE [--role ROLE] --username NAME --name "显示名" [--cadre CADRE_ID]');
const roles = (a.role ?? []) as Role[];
if (!roles.length || roles.some((r) => !(ROLES as readonly string[]).includes(r))) fail(`--role must be one or more of ${ROLES.join(', ')}`);
if (!a.username || !/^[A-Za-z0-9_.-]{2,64}$/.test(a.username)) fail('--username: 2–64 of A-Z a-z 0-9 _ . -');
const cadreId = a.cadre === undefined ? null : Number(a.cadre);
if (cadreId !== null && !Number.isInteger(cadreId)) fail('--cadre must be a cadre id');

async function readPassword(): Promise<string> {
	if (process.env.SHUDI_NEW_PASSWORD) return process.env.SHUDI_NEW_PASSWORD;
	const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
	if (process.stdin.isTTY) {
		process.stdout.write('password (not shown): ');
		// Suppress echo of the typed characters.
		(rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
	}
	const line = await new Promise<string>((r) => rl.once('line', r));
	rl.close();
	if (process.stdin.isTTY) process.stdout.write('\n');
	return line;
}

const password = await readPassword();
const problems = passwordProblems(password, a.username);
if (problems.length) fail(problems.join('; '));
const db = await openCliDb();
try {
	const exists = await db.query('SELECT 1 FROM users WHERE username = $1', [a.username]);
	if (exists.rows.length) fail(`user ${a.username} exists already`);
	const id = await addUser(db, { username: a.username, display_name: a.name ?? a.username, roles, password, cadre_id: cadreId });
	await audit(db, { id: null, name: 'cli' }, 'user_added', { type: 'user', id }, { username: a.username, roles });
	console.log(`created user ${a.username} (${roles.join(', ')})`);
} finally {
	await db.close();
}
