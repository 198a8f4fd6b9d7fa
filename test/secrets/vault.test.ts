import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SecretVault,
  masterKeyId,
  masterKeyPath,
  openMasterKey,
  previousMasterKeyPath,
  type MasterKey,
} from '../../src/secrets/index.js';
import { DEFAULT_ORGANISATION_ID, type Store } from '../../src/store/index.js';
import { openSigningKey } from '../../src/supply-chain/provenance/index.js';
import { rejection } from '../errors.js';
import { drivers, type TestDatabase } from '../store/harness.js';

const ORG = DEFAULT_ORGANISATION_ID;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`secrets on ${driver.name}`, () => {
    let database: TestDatabase;
    let store: Store;
    let master: MasterKey;
    let vault: SecretVault;
    let dataDir: string;

    beforeAll(async () => {
      database = await driver.create();
      dataDir = database.options.dataDir;
      store = await database.open();
      master = await openMasterKey({ store, dataDir, env: {} });
      vault = new SecretVault({ store, masterKey: master, dataDir, env: {} });
      await vault.start();
    });
    afterAll(async () => {
      vault?.stop();
      await store?.close();
      await database?.cleanup();
    });

    it('makes the master key file (0600) and the check on the first start, and opens them on the next', async () => {
      expect((await stat(masterKeyPath(dataDir))).mode & 0o777).toBe(0o600);
      expect(master.fromEnv).toBe(false);
      const check = await store.secrets.masterCheck();
      expect(check?.keyId).toBe(masterKeyId(master.bytes));
      const again = await openMasterKey({ store, dataDir, env: {} });
      expect(again.bytes.equals(master.bytes)).toBe(true);
    });

    it('refuses a master key that is not the installation\'s, saying what to set, and changes nothing', async () => {
      const checkBefore = await store.secrets.masterCheck();
      const fileBefore = await readFile(masterKeyPath(dataDir));
      const wrong = await rejection(openMasterKey({ store, dataDir, env: { MAESTRO_MASTER_KEY: randomBytes(32).toString('base64') } }));
      expect(wrong.code).toBe('unavailable');
      expect(wrong.message).toContain("the master key does not open this installation's secrets or the signing key (master key from MAESTRO_MASTER_KEY)");
      expect(wrong.message).toContain('set MAESTRO_MASTER_KEY to the key this data directory was created with');
      expect(wrong.message).toContain('Nothing was changed');
      expect(await store.secrets.masterCheck()).toEqual(checkBefore);
      expect((await readFile(masterKeyPath(dataDir))).equals(fileBefore)).toBe(true);

      const malformed = await rejection(openMasterKey({ store, dataDir, env: { MAESTRO_MASTER_KEY: 'not a key' } }));
      expect(malformed.message).toContain('MAESTRO_MASTER_KEY is not base64; make a key with `openssl rand -base64 32`');
    });

    it('stores only ciphertext, bound to the row: a value moved to another secret or version does not open', async () => {
      const value = `postgres://app:${randomBytes(9).toString('hex')}@db/app`;
      await vault.set({ organisationId: ORG, project: 'shop' }, [{ name: 'DATABASE_URL', value }], 'ada');
      const dumps = JSON.stringify([
        await store.secrets.allCurrent(),
        await store.secrets.allDataKeys(),
        await store.secrets.masterCheck(),
      ]);
      for (const form of [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex'), master.bytes.toString('base64')]) {
        expect(dumps).not.toContain(form);
      }
      await vault.set({ organisationId: ORG, project: 'shop' }, [{ name: 'OTHER_SECRET', value: 'other-value' }]);
      const [moved, target] = await Promise.all([
        store.secrets.get({ organisationId: ORG, projectId: (await store.projects.scope('shop'))!.id }, 'DATABASE_URL'),
        store.secrets.get({ organisationId: ORG, projectId: (await store.projects.scope('shop'))!.id }, 'OTHER_SECRET'),
      ]);
      // Someone with the database swaps one secret's ciphertext into another's row.
      await store.transaction((tx) =>
        tx.secrets.putVersion({ scope: { organisationId: ORG, projectId: target!.projectId! }, name: 'OTHER_SECRET', dataKeyId: moved!.dataKeyId, seal: () => moved!.valueSealed }),
      );
      const refused = await rejection(vault.reveal({ organisationId: ORG, project: 'shop' }, 'OTHER_SECRET'));
      expect(refused.message).toContain('the stored value of secret OTHER_SECRET (version 2) does not open with its data key');
      expect(refused.message).not.toContain(value);
      await vault.set({ organisationId: ORG, project: 'shop' }, [{ name: 'OTHER_SECRET', value: 'other-value-3' }]);
    });

    it('keeps versions, lists names without values, resolves the narrowest level, and removes', async () => {
      await vault.set({ organisationId: ORG }, [{ name: 'API_KEY', value: 'org-wide-key' }, { name: 'REGION', value: 'eu-west-1' }], 'owner');
      await vault.set({ organisationId: ORG, project: 'shop' }, [{ name: 'API_KEY', value: 'shop-key-1' }], 'ada');
      await vault.set({ organisationId: ORG, project: 'shop' }, [{ name: 'API_KEY', value: 'shop-key-2' }], 'grace');
      await vault.set({ organisationId: ORG, project: 'shop', environment: 'staging' }, [{ name: 'API_KEY', value: 'staging-key' }], 'ada');
      await store.environments.ensure((await store.projects.scope('shop'))!.id, 'production');

      expect(await vault.runtimeEnv('shop', 'staging')).toMatchObject({ API_KEY: 'staging-key', REGION: 'eu-west-1', DATABASE_URL: expect.any(String) });
      expect((await vault.runtimeEnv('shop', 'production')).API_KEY).toBe('shop-key-2');
      expect(await vault.runtimeEnv('nowhere', 'production')).toEqual({});

      const listed = await vault.list({ organisationId: ORG, project: 'shop' });
      expect(JSON.stringify(listed)).not.toMatch(/key-1|key-2|staging-key|org-wide-key|eu-west-1/);
      expect(listed.find((entry) => entry.name === 'API_KEY' && entry.level === 'project')).toMatchObject({ version: 2, updatedBy: 'grace', project: 'shop' });
      expect(listed.find((entry) => entry.level === 'environment')).toMatchObject({ name: 'API_KEY', environment: 'staging', version: 1 });
      expect(listed.filter((entry) => entry.level === 'organisation').map((entry) => entry.name)).toEqual(['API_KEY', 'REGION']);
      expect((await vault.list({ organisationId: ORG })).map((entry) => entry.name)).toEqual(['API_KEY', 'REGION']);

      expect(await vault.reveal({ organisationId: ORG, project: 'shop' }, 'API_KEY')).toMatchObject({ value: 'shop-key-2', version: 2, level: 'project' });
      const rows = await store.secrets.allCurrent();
      expect(rows.length).toBe(6);

      await vault.remove({ organisationId: ORG, project: 'shop', environment: 'staging' }, ['API_KEY']);
      expect((await vault.runtimeEnv('shop', 'staging')).API_KEY).toBe('shop-key-2');
      const missing = await rejection(vault.remove({ organisationId: ORG, project: 'shop' }, ['NOPE']));
      expect(missing.code).toBe('not_found');
      expect(missing.message).toBe('project shop has no secret NOPE');
    });

    it('refuses bad names and values with what to fix, never quoting the value', async () => {
      const target = { organisationId: ORG, project: 'shop' };
      const name = await rejection(vault.set(target, [{ name: 'api-key', value: 'long-enough' }]));
      expect(name.message).toBe('"api-key" is not a valid secret name: use capital letters, digits and _, not starting with a digit (like NPM_TOKEN), at most 128 characters');
      const short = await rejection(vault.set(target, [{ name: 'PIN', value: 'a1\n' }]));
      expect(short.message).toContain('the value of PIN is shorter than 4 characters: a value that short turns up in ordinary output, so it could not be hidden from logs');
      expect(short.message).not.toContain('a1');
      const big = await rejection(vault.set(target, [{ name: 'BLOB', value: 'x'.repeat(64 * 1024 + 1) }]));
      expect(big.code).toBe('payload_too_large');
      expect(big.message).toBe('the value of BLOB is 65537 bytes; a secret holds at most 65536 bytes (64 KiB)');
      expect((await rejection(vault.set({ organisationId: ORG, environment: 'staging' }, [{ name: 'A_B', value: 'abcdef' }]))).message).toContain(
        'an environment belongs to a project',
      );
      const missingBuild = await rejection(
        vault.buildSecrets(await scopeIds(store, 'shop', 'production'), ['NPM_TOKEN', 'API_KEY'], { project: 'shop', environment: 'production' }),
      );
      expect(missingBuild.message).toBe(
        'the build declares the secret NPM_TOKEN (build.secrets in maestro.yml), not set for project shop in production; set it with `maestro secrets set NPM_TOKEN=... --project shop` (add --env production for this environment only)',
      );
      expect(await vault.buildSecrets(await scopeIds(store, 'shop', 'production'), ['API_KEY'], { project: 'shop', environment: 'production' })).toEqual([
        { name: 'API_KEY', value: 'shop-key-2' },
      ]);
    });

    it('knows every current value for redaction, and a change at once', async () => {
      await vault.set({ organisationId: ORG, project: 'shop' }, [{ name: 'FRESH_TOKEN', value: 'fresh-token-value' }]);
      expect(vault.redactor().redact('fresh-token-value and shop-key-2 and org-wide-key')).toBe(
        '[redacted:FRESH_TOKEN] and [redacted:API_KEY] and [redacted:API_KEY]',
      );
    });

    it('rotates the master key: the new key opens everything, the old nothing, values unchanged, the old key file gone', async () => {
      const signing = await openSigningKey({ store, dataDir, masterKey: vault.masterKey });
      const before = await vault.runtimeEnv('shop', 'production');
      const oldKey = vault.masterKey.bytes;
      const result = await vault.rotateMasterKey();
      expect(result).toMatchObject({ fromEnv: false, origin: masterKeyPath(dataDir), signingKeys: 1 });
      expect(result.dataKeys).toBeGreaterThanOrEqual(2);
      const newKey = await readFile(masterKeyPath(dataDir));
      expect(newKey.equals(oldKey)).toBe(false);
      expect(await exists(previousMasterKeyPath(dataDir))).toBe(false);
      expect((await stat(masterKeyPath(dataDir))).mode & 0o777).toBe(0o600);
      expect((await readdir(`${dataDir}/keys`)).sort()).toEqual(['master.key']);

      // The running vault goes on (its data keys did not change), and a fresh start opens everything with the new key.
      expect(await vault.runtimeEnv('shop', 'production')).toEqual(before);
      const reopened = await openMasterKey({ store, dataDir, env: {} });
      const fresh = new SecretVault({ store, masterKey: reopened, dataDir, env: {} });
      expect(await fresh.runtimeEnv('shop', 'production')).toEqual(before);
      expect((await openSigningKey({ store, dataDir, masterKey: reopened })).id).toBe(signing.id);
      const old = await rejection(openMasterKey({ store, dataDir, env: { MAESTRO_MASTER_KEY: oldKey.toString('base64') } }));
      expect(old.message).toContain('the master key was last rotated at');
    });

    it('finishes a rotation cut off after the new key file was written, at the next start', async () => {
      const current = await readFile(masterKeyPath(dataDir));
      const next = randomBytes(32);
      // As rotateMasterKey leaves things if the process dies before the re-wrap commits.
      await writeFile(previousMasterKeyPath(dataDir), current, { mode: 0o600 });
      await writeFile(masterKeyPath(dataDir), next, { mode: 0o600 });
      const messages: string[] = [];
      const opened = await openMasterKey({ store, dataDir, env: {}, onRecovered: (message) => messages.push(message) });
      expect(opened.bytes.equals(next)).toBe(true);
      expect(messages[0]).toMatch(/^finished an interrupted master key rotation: \d+ data keys and 1 signing keys are now wrapped under /);
      expect(await exists(previousMasterKeyPath(dataDir))).toBe(false);
      const fresh = new SecretVault({ store, masterKey: opened, dataDir, env: {} });
      expect((await fresh.runtimeEnv('shop', 'production')).API_KEY).toBe('shop-key-2');
    });

    it('with MAESTRO_MASTER_KEY, rotates only to a key it is given, and says how to set it', async () => {
      const fileKey = await readFile(masterKeyPath(dataDir));
      const env = { MAESTRO_MASTER_KEY: fileKey.toString('base64') };
      const fromEnv = await openMasterKey({ store, dataDir, env });
      expect(fromEnv.fromEnv).toBe(true);
      const envVault = new SecretVault({ store, masterKey: fromEnv, dataDir, env });
      const refused = await rejection(envVault.rotateMasterKey());
      expect(refused.message).toContain('the master key comes from MAESTRO_MASTER_KEY, which Maestro cannot change');
      expect(refused.message).toContain('`maestro secrets rotate-master-key --new-key-file new.key`');
      const next = randomBytes(32);
      const result = await envVault.rotateMasterKey({ newKey: next });
      expect(result).toMatchObject({ fromEnv: true, origin: 'MAESTRO_MASTER_KEY' });
      // The file is left alone (it is not where the key comes from), and now holds the old key.
      expect((await readFile(masterKeyPath(dataDir))).equals(fileKey)).toBe(true);
      expect((await rejection(openMasterKey({ store, dataDir, env }))).code).toBe('unavailable');
      const reopened = await openMasterKey({ store, dataDir, env: { MAESTRO_MASTER_KEY: next.toString('base64') } });
      expect((await new SecretVault({ store, masterKey: reopened, dataDir, env: {} }).runtimeEnv('shop', 'production')).API_KEY).toBe('shop-key-2');
      // Back to the file for the rest of the suite.
      await writeFile(masterKeyPath(dataDir), next, { mode: 0o600 });
    });
  });
}

async function scopeIds(store: Store, project: string, environment: string) {
  const found = (await store.projects.scope(project))!;
  const env = (await store.environments.ensure(found.id, environment))!;
  return { organisationId: found.organisationId, projectId: found.id, environmentId: env.id };
}
