/**
 * Where a running `npm start` tells the operations scripts (`npm run replay -- --local`) how to reach
 * it: `.local-data/runtime.json` with the emulators' endpoints and the archive's bucket, written at
 * start and removed at stop. Only `npm start` (local/start.ts) writes it, so the tests' in-process
 * pipelines never overwrite a developer's running one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCAL_DATA_DIR } from './dev-tenant';

export const RUNTIME_FILE = path.join(LOCAL_DATA_DIR, 'runtime.json');

export interface LocalRuntimeInfo {
  pid: number;
  rest: string;
  /** fauxqs: SNS, SQS and S3 (path-style). */
  snsSqs: string;
  dynamodb: string;
  topicArn: string;
  archiveBucket: string;
}

export function writeRuntimeFile(info: LocalRuntimeInfo, file = RUNTIME_FILE): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

export function removeRuntimeFile(file = RUNTIME_FILE): void {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as LocalRuntimeInfo;
    if (info.pid === process.pid) fs.unlinkSync(file);
  } catch {
    /* not there, or another run's */
  }
}

/** The running `npm start`'s endpoints, or a clear error when none runs. */
export function readRuntimeFile(file = RUNTIME_FILE): LocalRuntimeInfo {
  let info: LocalRuntimeInfo;
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8')) as LocalRuntimeInfo;
  } catch {
    throw new Error(`no local runtime found (${path.relative(process.cwd(), file)} is missing): start it with npm start`);
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    throw new Error(`the local runtime that wrote ${path.relative(process.cwd(), file)} (pid ${info.pid}) is not running: start it with npm start`);
  }
  return info;
}
