/**
 * Where a running local pipeline can be reached by tools in other processes (`npm run redrive`): the
 * emulators listen on ports picked at start, so the pipeline writes them to `<data dir>/endpoints.json`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface LocalEndpoints {
  readonly kinesisEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly streamName: string;
  readonly tableName: string;
  /** The views config the pipeline runs. */
  readonly configFile: string;
}

const FILE = 'endpoints.json';

export async function writeLocalEndpoints(dataDir: string, endpoints: LocalEndpoints): Promise<void> {
  await writeFile(path.join(dataDir, FILE), `${JSON.stringify(endpoints, null, 2)}\n`);
}

/** The endpoints of the pipeline that last started with `dataDir`; throws saying how to start one. */
export async function readLocalEndpoints(dataDir: string): Promise<LocalEndpoints> {
  const file = path.join(dataDir, FILE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LocalEndpoints;
  } catch (err) {
    throw new Error(
      `no local pipeline found: cannot read ${file} (${(err as Error).message}); start one with npm start, with the same --data-dir`,
    );
  }
}
