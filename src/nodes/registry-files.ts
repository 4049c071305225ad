/**
 * What the nodes' registry needs on disk, under `<data>/registry/`: a CA of hiy's own (made once,
 * 10 years), a server certificate for the address the nodes dial (remade when that changes), an
 * htpasswd file, the password (CSPRNG, encrypted with the env var key like every secret) and the
 * registry's config. Certificates come from openssl and the bcrypt line from htpasswd
 * (apache2-utils), both through execFile with argument arrays; the password goes in on stdin.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError } from '../errors.js';

export const REGISTRY_USER = 'hiy';

export interface RegistryFiles {
  dir: string;
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
  htpasswd: string;
  config: string;
  storage: string;
  /** The encrypted password. */
  credential: string;
}

export function registryFiles(dataDir: string): RegistryFiles {
  const dir = join(dataDir, 'registry');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    htpasswd: join(dir, 'htpasswd'),
    config: join(dir, 'config.yml'),
    storage: join(dir, 'data'),
    credential: join(dir, 'password.age'),
  };
}

function exec(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(String(stdout));
      const missing = (err as { code?: unknown }).code === 'ENOENT';
      reject(new HiyError('unavailable', missing
        ? `${cmd} is not installed: the nodes' registry needs it (sudo apt-get install docker-registry apache2-utils openssl)`
        : `${cmd} failed: ${String(stderr).trim().slice(0, 500)}`, { cause: err }));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** hiy's registry CA: made once, kept (the nodes trust it by file). */
async function ensureCa(f: RegistryFiles): Promise<void> {
  if (existsSync(f.caCert) && existsSync(f.caKey)) return;
  await exec('openssl', ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', f.caKey, '-out', f.caCert, '-days', '3650', '-subj', '/CN=hiy nodes registry CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/** The server certificate, for exactly `host` (an IP address or a DNS name), signed by the CA. */
async function ensureServerCert(f: RegistryFiles, host: string): Promise<void> {
  const marker = join(f.dir, 'server.host');
  if (existsSync(f.cert) && (await readFile(marker, 'utf8').catch(() => '')) === host) return;
  const san = isIP(host) ? `IP:${host}` : `DNS:${host}`;
  const csr = join(f.dir, 'server.csr');
  const ext = join(f.dir, 'server.ext');
  await writeFile(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  await exec('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f.key, '-out', csr, '-subj', '/CN=hiy nodes registry']);
  await exec('openssl', ['x509', '-req', '-in', csr, '-CA', f.caCert, '-CAkey', f.caKey, '-CAcreateserial', '-out', f.cert, '-days', '825', '-extfile', ext]);
  await Promise.all([rm(csr, { force: true }), rm(ext, { force: true })]);
  await writeFile(marker, host);
}

/** The password: made once from the CSPRNG, kept encrypted; the htpasswd file holds only its bcrypt hash. */
async function ensurePassword(f: RegistryFiles, secrets: SecretBox): Promise<string> {
  if (existsSync(f.credential) && existsSync(f.htpasswd)) return secrets.decrypt(await readFile(f.credential));
  const password = randomBytes(32).toString('base64url');
  const line = await exec('htpasswd', ['-niB', REGISTRY_USER], `${password}\n`);
  await writeFile(f.htpasswd, line.trim() + '\n', { mode: 0o600 });
  await writeFile(f.credential, await secrets.encrypt(password), { mode: 0o600 });
  return password;
}

export interface PreparedRegistry {
  files: RegistryFiles;
  /** host:port the nodes dial (and image references start with). */
  address: string;
  password: string;
  caPem: string;
}

/**
 * Everything the registry needs to serve `host:port` with TLS and auth; `listen` is where it binds
 * (the same address, or all interfaces). Deletes are on: retention removes old tags, then GC.
 */
export async function prepareRegistry(dataDir: string, secrets: SecretBox, host: string, port: number, listen: string): Promise<PreparedRegistry> {
  const f = registryFiles(dataDir);
  await mkdir(f.storage, { recursive: true, mode: 0o700 });
  await ensureCa(f);
  await ensureServerCert(f, host);
  const password = await ensurePassword(f, secrets);
  // JSON is YAML: no YAML writer needed, and nothing in it comes from a user.
  await writeFile(f.config, JSON.stringify({
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: f.storage }, delete: { enabled: true } },
    http: { addr: listen, tls: { certificate: f.cert, key: f.key }, secret: randomBytes(24).toString('base64url') },
    auth: { htpasswd: { realm: 'hiy-nodes', path: f.htpasswd } },
  }, null, 2), { mode: 0o600 });
  const address = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  return { files: f, address, password, caPem: await readFile(f.caCert, 'utf8') };
}
