import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewSigningKey, Store } from '../../../src/store/index.js';
import { masterKeyPath } from '../../../src/secrets/index.js';
import { openSigningKey, signStatement, sbomStatement, verifyBundle } from '../../../src/supply-chain/provenance/index.js';
import { rejection } from '../../errors.js';
import { drivers, type TestDatabase } from '../../store/harness.js';
import { ARTIFACT_DIGEST } from './fixtures.js';

const BOM = { bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, components: [] };
const NO_ENV = {};

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`the server's signing key on ${driver.name}`, () => {
    let database: TestDatabase;
    let store: Store;
    let dataDir: string;
    beforeEach(async () => {
      database = await driver.create();
      store = await database.open();
      dataDir = await mkdtemp(join(tmpdir(), 'maestro-keys-'));
    });
    afterEach(async () => {
      await store.close();
      await database.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('is made at first start with a 0600 master key file, and the same key opens again after a restart', async () => {
      const first = await openSigningKey({ store, dataDir, env: NO_ENV });
      expect(first.id).toMatch(/^[0-9a-f]{64}$/);
      expect(first.publicKeyPem).toContain('BEGIN PUBLIC KEY');
      expect((await stat(masterKeyPath(dataDir))).mode & 0o777).toBe(0o600);
      expect((await readFile(masterKeyPath(dataDir))).length).toBe(32);

      await store.close();
      store = await database.open();
      const again = await openSigningKey({ store, dataDir, env: NO_ENV });
      expect(again.id).toBe(first.id);
      // What the reopened key signs verifies against the key made at first start.
      const bundle = await signStatement(again, sbomStatement({ name: 'a', digest: ARTIFACT_DIGEST }, BOM));
      expect(verifyBundle({ bundle, artifactDigest: ARTIFACT_DIGEST, publicKeyPem: first.publicKeyPem, expect: { predicateType: 'https://cyclonedx.org/bom' } }).ok).toBe(true);
    });

    it('keeps the private half out of the database in the clear and out of the key object', async () => {
      const key = await openSigningKey({ store, dataDir, env: NO_ENV });
      const row = await store.signingKeys.active();
      expect(row).toMatchObject({ id: key.id, algorithm: 'ecdsa-p256-sha256', publicKeyPem: key.publicKeyPem });
      expect(row!.privateKeySealed).toMatch(/^aes-256-gcm:/);
      expect(row!.privateKeySealed).not.toContain('PRIVATE KEY');
      expect(JSON.stringify(key)).not.toMatch(/PRIVATE|privateKey/);
      expect(await store.signingKeys.list()).toEqual([{ id: key.id, algorithm: 'ecdsa-p256-sha256', publicKeyPem: key.publicKeyPem, createdAt: row!.createdAt }]);
      expect(JSON.stringify(await store.signingKeys.list())).not.toContain('aes-256-gcm');
    });

    it('is made once when two openings race on one database', async () => {
      // Both openings find no key and make one; the race is real only if both get as far as recording theirs.
      const recorded: boolean[] = [];
      const counting = {
        signingKeys: {
          ...store.signingKeys,
          createActive: async (input: NewSigningKey) => {
            const created = await store.signingKeys.createActive(input);
            recorded.push(created);
            return created;
          },
        },
      };
      const keys = await Promise.all([openSigningKey({ store: counting, dataDir, env: NO_ENV }), openSigningKey({ store: counting, dataDir, env: NO_ENV })]);
      expect(recorded.sort()).toEqual([false, true]);
      expect(keys[0].id).toBe(keys[1].id);
      expect(await store.signingKeys.list()).toHaveLength(1);
    });

    it('is made once when two control planes with one MAESTRO_MASTER_KEY start together on a shared database', async () => {
      const env = { MAESTRO_MASTER_KEY: randomBytes(32).toString('base64') };
      const otherDataDir = await mkdtemp(join(tmpdir(), 'maestro-keys-'));
      // On a server the second plane has its own connections; PGlite allows one process per database, so it shares the store.
      const otherStore = driver.name === 'postgres' ? await database.open() : undefined;
      try {
        const second = otherStore ?? store;
        const keys = await Promise.all([openSigningKey({ store, dataDir, env }), openSigningKey({ store: second, dataDir: otherDataDir, env })]);
        expect(keys[0].id).toBe(keys[1].id);
        expect(await store.signingKeys.list()).toHaveLength(1);
        // The environment's key was used: no key file was written in either data directory.
        await expect(stat(masterKeyPath(dataDir))).rejects.toThrow();
        await expect(stat(masterKeyPath(otherDataDir))).rejects.toThrow();
      } finally {
        await otherStore?.close();
        await rm(otherDataDir, { recursive: true, force: true });
      }
    });

    it('refuses a master key that does not open the stored key, and changes nothing', async () => {
      const key = await openSigningKey({ store, dataDir, env: NO_ENV });
      const fileBefore = await readFile(masterKeyPath(dataDir));
      const rowBefore = await store.signingKeys.active();

      const wrong = await rejection(openSigningKey({ store, dataDir, env: { MAESTRO_MASTER_KEY: randomBytes(32).toString('base64') } }));
      expect(wrong.message).toContain(`the master key does not open the signing key ${key.id.slice(0, 16)}`);
      expect(wrong.message).toContain('set MAESTRO_MASTER_KEY to the key this data directory was created with');

      await writeFile(masterKeyPath(dataDir), randomBytes(32));
      expect((await rejection(openSigningKey({ store, dataDir, env: NO_ENV }))).message).toContain('the master key does not open the signing key');

      await rm(masterKeyPath(dataDir));
      const missing = await rejection(openSigningKey({ store, dataDir, env: NO_ENV }));
      expect(missing.message).toContain('was sealed with a master key that is not here');
      // No new master key file and no new signing key: the old one stays for when its master key is back.
      await expect(stat(masterKeyPath(dataDir))).rejects.toThrow();
      expect(await store.signingKeys.list()).toHaveLength(1);
      expect(await store.signingKeys.active()).toEqual(rowBefore);

      await writeFile(masterKeyPath(dataDir), fileBefore);
      expect((await openSigningKey({ store, dataDir, env: NO_ENV })).id).toBe(key.id);
    });

    it('takes MAESTRO_MASTER_KEY over the file and says what is wrong with a malformed one', async () => {
      const env = { MAESTRO_MASTER_KEY: randomBytes(32).toString('base64') };
      const key = await openSigningKey({ store, dataDir, env });
      await expect(stat(masterKeyPath(dataDir))).rejects.toThrow();
      expect((await openSigningKey({ store, dataDir, env })).id).toBe(key.id);

      expect((await rejection(openSigningKey({ store, dataDir, env: { MAESTRO_MASTER_KEY: 'not base64!' } }))).message).toBe(
        'MAESTRO_MASTER_KEY is not base64; make a key with `openssl rand -base64 32`',
      );
      expect((await rejection(openSigningKey({ store, dataDir, env: { MAESTRO_MASTER_KEY: randomBytes(16).toString('base64') } }))).message).toContain(
        'it decodes to 16 bytes',
      );
    });

    it('says so when the master key file is not 32 bytes', async () => {
      await openSigningKey({ store, dataDir, env: NO_ENV });
      await writeFile(masterKeyPath(dataDir), 'short');
      expect((await rejection(openSigningKey({ store, dataDir, env: NO_ENV }))).message).toContain('must hold exactly 32 bytes (it has 5)');
    });
  });
}
